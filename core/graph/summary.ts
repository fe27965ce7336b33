import { getKind } from '../registry/index.js';
import { analyze, type Analysis } from './analyze.js';
import type { Diagnostic, Graph, Shape } from './types.js';

export interface SummaryRow {
  name: string;
  kind: string;
  outputShape: Shape | Record<string, Shape> | null;
  params: number;
  trainable: boolean;
  trainableParams: number;
  frozen: boolean;
  statsFrozen: boolean;
}

export interface Summary {
  totalParams: number;
  trainableParams: number;
  featureDim: number | null;
  featureMap: Shape | null;
  inputShape: Shape | null;
  macs: number;
  counts: Record<string, number>;
  nodes: SummaryRow[];
  diagnostics: Diagnostic[];
}

/** Count of primitive layers per kind (e.g. how many `ibn_a`). */
export function layerKindCounts(a: Analysis): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const l of a.layers) counts[l.kind] = (counts[l.kind] ?? 0) + 1;
  return counts;
}

/** The model summary: per node (or, with `expand`, per primitive layer) and totals. */
export function summarize(graph: Graph, opts: { expand?: boolean } = {}, a: Analysis = analyze(graph)): Summary {
  const rows: SummaryRow[] = opts.expand
    ? a.layers.map((l) => ({
        name: l.name,
        kind: l.kind,
        outputShape: l.shape,
        params: l.paramCount,
        trainable: l.trainableCount > 0,
        trainableParams: l.trainableCount,
        frozen: l.frozen,
        statsFrozen: l.statsFrozen,
      }))
    : graph.nodes.map((n) => {
        const info = a.nodes[n.id];
        const outs = info?.outputs ?? {};
        const ports = Object.keys(outs);
        const kind = getKind(n.kind);
        return {
          name: n.name,
          kind: n.kind,
          outputShape: ports.length === 0 ? null : ports.length === 1 && kind?.outputs.length === 1 ? outs[ports[0]!]! : outs,
          params: info?.params ?? 0,
          trainable: (info?.trainable ?? 0) > 0,
          trainableParams: info?.trainable ?? 0,
          frozen: !!n.frozen,
          statsFrozen: n.statsFrozen ?? !!n.frozen,
        };
      });
  return {
    totalParams: a.totals.params,
    trainableParams: a.totals.trainable,
    featureDim: a.featureDim ?? null,
    featureMap: a.featureMap ?? null,
    inputShape: a.inputShape ?? null,
    macs: a.totals.macs,
    counts: layerKindCounts(a),
    nodes: rows,
    diagnostics: a.diagnostics,
  };
}

/**
 * The blocks of the model that the analysis could not evaluate: nodes upstream of an output node (reached
 * backwards along the connections) that have no analysis (a graph error at or before them). The model's
 * totals leave them out, so a summary over such a graph is not the model's. A block that feeds no output (a
 * pasted block not yet connected) is not part of the model and is not counted. Output nodes themselves carry
 * no weights and are never counted.
 */
export function unanalysedModelNodes(graph: Graph, a: Analysis): string[] {
  const feeds = new Map<string, string[]>();
  for (const e of graph.edges) feeds.set(e.target, [...(feeds.get(e.target) ?? []), e.source]);
  const seen = new Set<string>();
  const stack = graph.nodes.filter((n) => getKind(n.kind)?.primitive === 'output').map((n) => n.id);
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(feeds.get(id) ?? []));
  }
  return graph.nodes.filter((n) => seen.has(n.id) && getKind(n.kind)?.primitive !== 'output' && !a.nodes[n.id]).map((n) => n.id);
}
