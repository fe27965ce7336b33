import { withClassifierSize, type GraphDoc } from '../../../core/index.js';

/**
 * The classifier gets one output per training identity of the dataset, as reid-strong-baseline and
 * fast-reid do when they build the model from the loaded data (num_classes = #train pids). The editor
 * shows the same size once a dataset is inspected (core/graph/classifier.ts).
 */
export function sizeClassifier(doc: GraphDoc, numClasses: number): GraphDoc {
  return structuredClone({ ...doc, graph: withClassifierSize(doc.graph, numClasses) }) as GraphDoc;
}
