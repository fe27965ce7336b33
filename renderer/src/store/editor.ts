import { create } from 'zustand';
import { applyEdgeChanges, applyNodeChanges, type Edge, type EdgeChange, type NodeChange } from '@xyflow/react';
import {
  analyze,
  classifierIds,
  CommandError,
  withClassifierSize,
  createHistory,
  execute,
  redo as redoH,
  undo as undoH,
  type Analysis,
  type Command,
  type GraphDoc,
  type History,
} from '../../../core/index.js';
import type { Clipboard } from '../lib/commands.js';
import { projectEdges, projectNodes, type BlockNode } from './projection.js';
import { dataSourceKey } from '../lib/data-source.js';

export interface Toast {
  id: number;
  level: 'info' | 'warning' | 'error';
  message: string;
}

export type Dialog =
  | { kind: 'presets' }
  | { kind: 'open' }
  | { kind: 'save' }
  | { kind: 'help' }
  | { kind: 'confirm'; title: string; message: string; choices: { label: string; primary?: boolean; run: () => void }[] }
  | null;

export interface EditorState {
  history: History;
  analysis: Analysis;
  /** File the document came from / was saved to; null for a new document. */
  path: string | null;
  /** The name of a document not saved yet (the preset it was made from): title and suggested file name. */
  untitledName: string | null;
  /** The document as last opened / saved; `doc !== savedDoc` means unsaved changes. */
  savedDoc: GraphDoc | null;
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  nodes: BlockNode[];
  edges: Edge[];
  toasts: Toast[];
  clipboard: Clipboard | null;
  dialog: Dialog;
  contextMenu: { x: number; y: number } | null;
  /** Bumped to ask the canvas to centre on a node (problems panel, search). */
  focus: { id: string; n: number } | null;
  ready: boolean;
  /** Bumped whenever a different document is loaded (the canvas fits it to the view). */
  epoch: number;
  /**
   * The training identities of the last inspected dataset and which data source (JSON) it was. While
   * the document's training settings name that source, the classifier is shown at that size: training
   * sizes it so (session state, not saved; the document keeps its own value).
   */
  datasetClasses: { key: string; n: number } | null;
  /** The classifier size in effect (datasetClasses when it applies to the document), else null. */
  classes: number | null;
}

const empty: GraphDoc = { format: 'reid-studio-graph', version: 1, graph: { nodes: [], edges: [] } };

export const useEditor = create<EditorState>(() => ({
  history: createHistory(empty),
  analysis: analyze(empty.graph),
  path: null,
  untitledName: null,
  savedDoc: empty,
  selectedNodes: new Set(),
  selectedEdges: new Set(),
  nodes: [],
  edges: [],
  toasts: [],
  clipboard: null,
  dialog: null,
  contextMenu: null,
  focus: null,
  ready: false,
  epoch: 0,
  datasetClasses: null,
  classes: null,
}));

const get = useEditor.getState;
const set = useEditor.setState;

/** Recomputes analysis and the React Flow projection after the document or selection changed. */
function commit(history: History, extra: Partial<EditorState> = {}): void {
  const s = get();
  const ds = extra.datasetClasses !== undefined ? extra.datasetClasses : s.datasetClasses;
  const classes = ds && dataSourceKey(history.doc.training) === ds.key ? ds.n : null;
  const docChanged = history.doc !== s.history.doc || classes !== s.classes;
  const analysis = docChanged ? analyze(classes === null ? history.doc.graph : withClassifierSize(history.doc.graph, classes)) : s.analysis;
  const sized = classes === null ? null : { ids: classifierIds(history.doc.graph), n: classes };
  const ids = new Set(history.doc.graph.nodes.map((n) => n.id));
  const edgeIds = new Set(history.doc.graph.edges.map((e) => e.id));
  // Selection survives edits but never points at something that no longer exists.
  const selectedNodes = new Set([...(extra.selectedNodes ?? s.selectedNodes)].filter((id) => ids.has(id)));
  const selectedEdges = new Set([...(extra.selectedEdges ?? s.selectedEdges)].filter((id) => edgeIds.has(id)));
  set({
    ...extra,
    history,
    analysis,
    classes,
    selectedNodes,
    selectedEdges,
    nodes: projectNodes(history.doc, analysis, selectedNodes, s.nodes, sized),
    edges: projectEdges(history.doc, analysis, selectedEdges, s.edges),
  });
}

let toastId = 0;
export function notify(message: string, level: Toast['level'] = 'info'): void {
  const id = ++toastId;
  set({ toasts: [...get().toasts.slice(-3), { id, level, message }] });
  setTimeout(() => set({ toasts: get().toasts.filter((t) => t.id !== id) }), level === 'error' ? 7000 : 3500);
}

/** Runs a named command as one undo step; a refused command becomes a toast with its reason. */
export function run(cmd: Command, extra: Partial<EditorState> = {}): boolean {
  try {
    const h = execute(get().history, cmd);
    commit(h, extra);
    return true;
  } catch (e) {
    if (e instanceof CommandError) {
      notify(`${cmd.label}: ${e.message}`, 'error');
      return false;
    }
    throw e;
  }
}

export function undo(): void {
  const h = get().history;
  if (h.past.length) commit(undoH(h));
}
export function redo(): void {
  const h = get().history;
  if (h.future.length) commit(redoH(h));
}

/** Replaces the document (new / open / recover): clears history and selection (design.md). */
export function loadDoc(doc: GraphDoc, path: string | null, clean: boolean, untitledName: string | null = null): void {
  set({ nodes: [], edges: [] });
  commit(createHistory(doc), { path, untitledName, savedDoc: clean ? doc : null, selectedNodes: new Set(), selectedEdges: new Set(), ready: true, epoch: get().epoch + 1 });
}

/** The identities of the inspected dataset (null: none / refused): the classifier shown follows it. */
export function setDatasetClasses(d: { key: string; n: number } | null): void {
  commit(get().history, { datasetClasses: d });
}

export function markSaved(path: string): void {
  set({ path, savedDoc: get().history.doc });
}

/** Documents are immutable (immer), so their canonical text can be memoised per object. */
const docText = new WeakMap<GraphDoc, string>();
function textOf(d: GraphDoc): string {
  let t = docText.get(d);
  if (t === undefined) docText.set(d, (t = JSON.stringify(d)));
  return t;
}

/** Unsaved changes: the document differs from the saved one (undoing back to it counts as clean). */
export const isDirty = (s: EditorState) => s.history.doc !== s.savedDoc && (s.savedDoc === null || textOf(s.history.doc) !== textOf(s.savedDoc));

export function select(nodes: Iterable<string>, edges: Iterable<string> = []): void {
  commit(get().history, { selectedNodes: new Set(nodes), selectedEdges: new Set(edges) });
}

/** React Flow change events: drags move the projection only (one moveNodes command at drag end). */
export function onNodesChange(changes: NodeChange<BlockNode>[]): void {
  const s = get();
  let sel: Set<string> | null = null;
  const rest: NodeChange<BlockNode>[] = [];
  for (const c of changes) {
    if (c.type === 'select') {
      sel ??= new Set(s.selectedNodes);
      if (c.selected) sel.add(c.id);
      else sel.delete(c.id);
    } else if (c.type === 'position' || c.type === 'dimensions') rest.push(c);
  }
  const nodes = rest.length ? applyNodeChanges(rest, s.nodes) : s.nodes;
  if (sel) {
    set({ nodes });
    commit(s.history, { selectedNodes: sel });
  } else if (nodes !== s.nodes) set({ nodes });
}

export function onEdgesChange(changes: EdgeChange[]): void {
  const s = get();
  const sel = new Set(s.selectedEdges);
  let touched = false;
  for (const c of changes)
    if (c.type === 'select') {
      touched = true;
      if (c.selected) sel.add(c.id);
      else sel.delete(c.id);
    }
  if (touched) commit(s.history, { selectedEdges: sel });
  else {
    const edges = applyEdgeChanges(changes.filter((c) => c.type !== 'remove'), s.edges);
    if (edges !== s.edges) set({ edges });
  }
}

/** The document's display name: its file name, else the preset it was made from, else "Untitled model". */
export function docDisplayName(s: Pick<EditorState, 'path' | 'untitledName'>): string {
  return s.path ? s.path.slice(Math.max(s.path.lastIndexOf('/'), s.path.lastIndexOf('\\')) + 1) : (s.untitledName ?? 'Untitled model');
}
