import type { Graph } from './types.js';

/**
 * The identity classifiers of a graph: `linear` nodes that feed the outputs' `logits` port. Training
 * sizes them to the dataset (reid-strong-baseline `make_model(cfg, num_classes)` and fast-reid
 * `cfg.MODEL.HEADS.NUM_CLASSES`, both set from the loaded data's number of training identities).
 */
export function classifierIds(graph: Graph): Set<string> {
  const logitsSources = new Set(graph.edges.filter((e) => e.targetPort === 'logits').map((e) => e.source));
  return new Set(graph.nodes.filter((n) => n.kind === 'linear' && logitsSources.has(n.id)).map((n) => n.id));
}

/**
 * The graph with its identity classifiers set to `numClasses` outputs (#train pids). A new graph object:
 * unchanged nodes and every edge are shared with `graph`, which is not modified.
 */
export function withClassifierSize(graph: Graph, numClasses: number): Graph {
  const ids = classifierIds(graph);
  if (![...ids].some((id) => graph.nodes.find((n) => n.id === id)!.params.units !== numClasses)) return graph;
  return { ...graph, nodes: graph.nodes.map((n) => (ids.has(n.id) ? { ...n, params: { ...n.params, units: numClasses } } : n)) };
}
