import type { GraphDoc } from '../../../core/index.js';

/**
 * The classifier gets one output per training identity of the dataset, as reid-strong-baseline and
 * fast-reid do when they build the model from the loaded data (num_classes = #train pids).
 */
export function sizeClassifier(doc: GraphDoc, numClasses: number): GraphDoc {
  const out = structuredClone(doc) as GraphDoc;
  const logitsSources = new Set(out.graph.edges.filter((e) => e.targetPort === 'logits').map((e) => e.source));
  for (const n of out.graph.nodes) if (n.kind === 'linear' && logitsSources.has(n.id)) n.params = { ...n.params, units: numClasses };
  return out;
}
