import type { Edge, Node } from '@xyflow/react';
import type { Analysis, Diagnostic, GraphDoc, GraphNode, NodeInfo } from '../../../core/index.js';

/** What a block card renders. `node` is the document node itself: immer keeps its identity when unchanged. */
export interface BlockData extends Record<string, unknown> {
  node: GraphNode;
  info: NodeInfo | undefined;
  diag: Diagnostic | undefined;
  key: string;
  /** An identity classifier sized by the inspected dataset: its number of classes (the document may say otherwise). */
  classes?: number;
}
export type BlockNode = Node<BlockData, 'block'>;

const infoKey = (i: NodeInfo | undefined, d: Diagnostic | undefined) =>
  `${i ? `${JSON.stringify(i.outputs)}|${i.params}|${i.trainable}` : '-'}|${d ? `${d.severity}:${d.message}` : ''}`;

/** The worst diagnostic per node (errors before warnings). */
export function diagnosticsByNode(a: Analysis): Map<string, Diagnostic> {
  const m = new Map<string, Diagnostic>();
  for (const d of a.diagnostics) {
    if (!d.nodeId) continue;
    const prev = m.get(d.nodeId);
    if (!prev || (prev.severity === 'warning' && d.severity === 'error')) m.set(d.nodeId, d);
  }
  return m;
}

/**
 * React Flow renders a projection of the document (design.md: "the document is the truth"). Objects of
 * unchanged nodes are reused so React Flow and the memoised cards skip them: this is what keeps a fully
 * expanded ResNet-152 (500+ nodes) responsive.
 */
export function projectNodes(doc: GraphDoc, a: Analysis, selected: ReadonlySet<string>, prev: readonly BlockNode[], sized: { ids: ReadonlySet<string>; n: number } | null = null): BlockNode[] {
  const before = new Map(prev.map((n) => [n.id, n]));
  const diags = diagnosticsByNode(a);
  return doc.graph.nodes.map((n) => {
    const info = a.nodes[n.id];
    const diag = diags.get(n.id);
    const classes = sized?.ids.has(n.id) ? sized.n : undefined;
    const key = `${infoKey(info, diag)}|${classes ?? ''}`;
    const old = before.get(n.id);
    const sel = selected.has(n.id);
    if (old && old.data.node === n && old.data.key === key && !!old.selected === sel) return old;
    const next: BlockNode = { id: n.id, type: 'block', position: n.position, data: { node: n, info, diag, key, ...(classes !== undefined ? { classes } : {}) }, selected: sel };
    if (old?.measured) next.measured = old.measured;
    return next;
  });
}

/**
 * Edges into a residual `add` are drawn by the shortcut edge (components/SkipEdge.tsx), which routes
 * around the cards of the main path instead of straight under them.
 */
export function projectEdges(doc: GraphDoc, a: Analysis, selected: ReadonlySet<string>, prev: readonly Edge[]): Edge[] {
  const before = new Map(prev.map((e) => [e.id, e]));
  const diags = diagnosticsByNode(a);
  const joins = new Set(doc.graph.nodes.filter((n) => n.kind === 'add').map((n) => n.id));
  return doc.graph.edges.map((e) => {
    const bad = diags.get(e.target)?.severity === 'error';
    const sel = selected.has(e.id);
    const old = before.get(e.id);
    if (old && old.source === e.source && old.target === e.target && old.sourceHandle === e.sourcePort && old.targetHandle === e.targetPort && !!old.selected === sel && (old.className === 'bad') === bad) return old;
    return { id: e.id, source: e.source, target: e.target, sourceHandle: e.sourcePort, targetHandle: e.targetPort, selected: sel, ...(joins.has(e.target) ? { type: 'skip' } : {}), ...(bad ? { className: 'bad' } : {}) };
  });
}
