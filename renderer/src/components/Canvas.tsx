import { useCallback, useEffect, useLayoutEffect, useRef, useState, type DragEvent } from 'react';
import {
  Background,
  BackgroundVariant,
  ConnectionLineType,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type Edge,
  type FinalConnectionState,
  type IsValidConnection,
  type OnNodeDrag,
} from '@xyflow/react';
import { addNode, connect, connectionProblem, moveNodes } from '../../../core/index.js';
import { notify, onEdgesChange, onNodesChange, run, select, useEditor } from '../store/editor.js';
import type { BlockNode as BlockNodeType } from '../store/projection.js';
import { BlockNode } from './BlockNode.js';
import { SkipEdge } from './SkipEdge.js';
import { DEFAULT_SIZE } from '../lib/layout.js';
import { boundsOf, FIT_PADDING, MIN_ZOOM, readableViewport, structuralChange } from '../lib/viewport.js';

// Props handed to <ReactFlow> must keep their identity across renders: a new object or callback on each
// render is pushed into React Flow's store and re-renders every node wrapper (500+ in a big graph).
const nodeTypes = { block: BlockNode };
const edgeTypes = { skip: SkipEdge };
const MULTI_SELECT_KEYS = ['Meta', 'Control', 'Shift'];
const DEFAULT_EDGE_OPTIONS = { type: 'smoothstep' };
const PRO_OPTIONS = { hideAttribution: true };
const closeMenu = () => useEditor.setState({ contextMenu: null });
const NONE: never[] = [];
export const DRAG_MIME = 'application/x-reid-kind';

const toEdge = (c: Connection | Edge) => ({ source: c.source, sourcePort: c.sourceHandle ?? 'out', target: c.target, targetPort: c.targetHandle ?? 'in' });

function minimapColor(n: BlockNodeType): string {
  const d = n.data.diag;
  if (d?.severity === 'error') return '#e5484d';
  return n.data.node.frozen ? '#7c8db5' : '#4c8bf5';
}

/** The React Flow canvas: a controlled projection of the document; every edit becomes a core command. */
export function Canvas() {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const focus = useEditor((s) => s.focus);
  const epoch = useEditor((s) => s.epoch);
  const rf = useReactFlow();
  const refusal = useRef<string | null>(null);
  const big = nodes.length > 150;

  useEffect(() => {
    if (!focus) return;
    void rf.fitView({ nodes: [{ id: focus.id }], duration: 250, maxZoom: 1.25 });
  }, [focus, rf]);
  // A newly loaded document is shown at its fit viewport from its very first render: fitting after the
  // first render would build every card twice (at the old zoom, then at the fitted one). Positions and
  // the typical card size give the bounds before anything is measured. A graph larger than the window at
  // the readable zoom opens at its start (top left) and the rest is a pan away.
  const box = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState(-1);
  const graph = useEditor((s) => s.history.doc.graph);
  const seen = useRef({ graph, epoch });
  useLayoutEffect(() => {
    if (shown === epoch) return;
    const doc = useEditor.getState().history.doc;
    const rect = box.current?.getBoundingClientRect();
    const all = boundsOf(doc.graph, () => DEFAULT_SIZE);
    if (all && rect?.width) void rf.setViewport(readableViewport(all, all, rect.width, rect.height));
    seen.current = { graph: doc.graph, epoch };
    setShown(epoch);
  }, [epoch, shown, rf]);
  // Expand, collapse, auto-layout and their undo / redo: the view follows to what the edit brought in, at
  // the fit zoom when the whole graph is readable there, else at the readable zoom (issue 22: an expanded
  // stage was left at 0.2 zoom, or off screen).
  useEffect(() => {
    const prev = seen.current;
    seen.current = { graph, epoch };
    if (prev.epoch !== epoch || prev.graph === graph) return;
    const focus = structuralChange(prev.graph, graph);
    const rect = box.current?.getBoundingClientRect();
    if (!focus || !rect?.width) return;
    const size = (id: string) => {
      const m = rf.getNode(id)?.measured;
      return m?.width && m.height ? { width: m.width, height: m.height } : DEFAULT_SIZE;
    };
    const all = boundsOf(graph, size);
    const brought = boundsOf(graph, size, focus);
    if (all && brought) void rf.setViewport(readableViewport(all, brought, rect.width, rect.height), { duration: 200 });
  }, [graph, epoch, rf]);
  useEffect(() => {
    const fit = () => void rf.fitView({ padding: FIT_PADDING, duration: 200, maxZoom: 1 });
    const fitSel = () => void rf.fitView({ nodes: [...useEditor.getState().selectedNodes].map((id) => ({ id })), padding: 0.15, duration: 200, maxZoom: 1.25 });
    window.addEventListener('reid:fit', fit);
    window.addEventListener('reid:fit-selection', fitSel);
    return () => {
      window.removeEventListener('reid:fit', fit);
      window.removeEventListener('reid:fit-selection', fitSel);
    };
  }, [rf]);

  const isValidConnection: IsValidConnection = useCallback((c) => {
    const problem = connectionProblem(useEditor.getState().history.doc, toEdge(c));
    refusal.current = problem;
    return problem === null;
  }, []);
  const onConnect = useCallback((c: Connection) => void run(connect(toEdge(c))), []);
  const onConnectEnd = useCallback((_: unknown, st: FinalConnectionState) => {
    if (st.isValid === false && st.toHandle && refusal.current) notify(`Connection refused: ${refusal.current}`, 'error');
    refusal.current = null;
  }, []);
  const onNodeDragStop: OnNodeDrag<BlockNodeType> = useCallback((_, __, dragged) => {
    const doc = useEditor.getState().history.doc;
    const moved = dragged.filter((n) => {
      const d = doc.graph.nodes.find((x) => x.id === n.id);
      return d && (d.position.x !== n.position.x || d.position.y !== n.position.y);
    });
    // A drag is one history entry, recorded at drag end (design.md).
    if (moved.length) run(moveNodes(moved.map((n) => ({ id: n.id, position: { x: Math.round(n.position.x), y: Math.round(n.position.y) } }))));
  }, []);
  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(DRAG_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }, []);
  const onDrop = useCallback(
    (e: DragEvent) => {
      const kind = e.dataTransfer.getData(DRAG_MIME);
      if (!kind) return;
      e.preventDefault();
      addAt(kind, rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
    },
    [rf],
  );
  const openMenu = useCallback((e: React.MouseEvent | MouseEvent, id?: string) => {
    e.preventDefault();
    const s = useEditor.getState();
    if (id && !s.selectedNodes.has(id)) select([id]);
    useEditor.setState({ contextMenu: { x: e.clientX, y: e.clientY } });
  }, []);
  const onNodeMenu = useCallback((e: React.MouseEvent, n: BlockNodeType) => openMenu(e, n.id), [openMenu]);
  const onOtherMenu = useCallback((e: React.MouseEvent | MouseEvent) => openMenu(e), [openMenu]);

  return (
    <div className="canvas" data-testid="canvas" ref={box} onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow<BlockNodeType>
        nodes={shown === epoch ? nodes : NONE}
        edges={shown === epoch ? edges : NONE}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onNodeDragStop={onNodeDragStop}
        onNodeContextMenu={onNodeMenu}
        onSelectionContextMenu={onOtherMenu}
        onPaneContextMenu={onOtherMenu}
        onPaneClick={closeMenu}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={MULTI_SELECT_KEYS}
        connectionLineType={ConnectionLineType.SmoothStep}
        defaultEdgeOptions={DEFAULT_EDGE_OPTIONS}
        colorMode="system"
        minZoom={MIN_ZOOM}
        maxZoom={2}
        onlyRenderVisibleElements={big}
        proOptions={PRO_OPTIONS}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1} />
        <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={0} ariaLabel="Minimap" />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

/** Adds a block of `kind` at a flow position and selects it. */
export function addAt(kind: string, position: { x: number; y: number }): void {
  let made: string | undefined;
  const before = new Set(useEditor.getState().history.doc.graph.nodes.map((n) => n.id));
  if (run(addNode({ kind, position: { x: Math.round(position.x), y: Math.round(position.y) } }))) {
    made = useEditor.getState().history.doc.graph.nodes.find((n) => !before.has(n.id))?.id;
    if (made) select([made]);
  }
}
