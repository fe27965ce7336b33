/**
 * Weights for a model built from a graph: from a run folder's checkpoint (lossless, every slot incl. BN
 * statistics) or from a PyTorch / safetensors file through the load plan (with its report).
 */
import type { Layer } from '../../../core/index.js';
import { setWeightsFromValues, type ReidModel } from '../../tfjs/index.js';
import { assertFiniteWeights, planLoad, readCheckpoint as readTorchCheckpoint, type LoadPlan, type LoadReport } from '../../weights/index.js';
import { readCheckpoint } from './checkpoint.js';

export async function loadRunWeights(reid: ReidModel, layers: Layer[], runDir: string): Promise<number> {
  const saved = await readCheckpoint<{ weightKeys: string[]; step: number }>(runDir);
  if (!saved) throw new Error(`${runDir} has no checkpoint yet`);
  const values = new Map<string, Float32Array>();
  for (const k of saved.meta.weightKeys) {
    const t = saved.tensors.get(`w:${k}`);
    if (t) values.set(k, t.data);
  }
  setWeightsFromValues(reid, layers, values);
  return saved.meta.step;
}

/**
 * Reads a PyTorch / safetensors file and plans loading it into `layers`. Throws CheckpointError (unreadable
 * file) or NonFiniteWeightsError (a tensor the graph would load holds NaN / ±Inf).
 */
export async function planFileWeights(layers: Layer[], path: string, keepClassifier = false): Promise<LoadPlan> {
  const plan = planLoad(layers, await readTorchCheckpoint(path), { keepClassifier });
  assertFiniteWeights(plan.report, path);
  return plan;
}

export async function loadFileWeights(reid: ReidModel, layers: Layer[], path: string, keepClassifier = false): Promise<LoadReport> {
  const plan = await planFileWeights(layers, path, keepClassifier);
  setWeightsFromValues(reid, layers, plan.values);
  return plan.report;
}
