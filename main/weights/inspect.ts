import type { Layer } from '../../core/index.js';
import { numelOf, readCheckpoint } from './checkpoint.js';
import { planLoad, type LoadReport } from './mapping.js';

/** What `weights FILE --json` prints and `weights.inspect` answers (JSON fields are a contract: add, never rename). */
export interface CheckpointInspection {
  file: string;
  format: string;
  wrapper: string;
  /** Tensors in the state dict. */
  count: number;
  /** Elements of all tensors (views of one storage each count their own elements). */
  elements: number;
  tensors: { key: string; dtype: string; shape: number[] }[];
  /** The load report against the graph's layers; null without a graph. */
  report: LoadReport | null;
}

/**
 * Lists a checkpoint and, given the graph's layers (`analyze(graph).layers`), plans its load. Reads only the
 * tensors the plan needs (listing reads no storage). Throws CheckpointError (one line, with a code).
 */
export async function inspectCheckpoint(path: string, layers: Layer[] | null, keepClassifier = false): Promise<CheckpointInspection> {
  const ckpt = await readCheckpoint(path);
  const tensors = [...ckpt.tensors].map(([key, t]) => ({ key, dtype: t.dtype, shape: t.shape }));
  const elements = tensors.reduce((a, t) => a + numelOf(t.shape), 0);
  const report = layers ? planLoad(layers, ckpt, { keepClassifier }).report : null;
  return { file: path, format: ckpt.format, wrapper: ckpt.wrapper ?? '', count: tensors.length, elements, tensors, report };
}
