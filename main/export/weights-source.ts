/**
 * Weights for an export given as a path (the CLI's `--weights`): a run folder (its checkpoint, lossless:
 * every slot including BN statistics) or a PyTorch / safetensors file (through the load plan; the
 * classifier is kept when its class count matches). Problems of the load become warnings.
 */
import { stat } from 'node:fs/promises';
import type { Layer } from '../../core/index.js';
import { readCheckpoint as readRunCheckpoint } from '../training/engine/checkpoint.js';
import { CheckpointError, planLoad, readCheckpoint } from '../weights/index.js';
import { ExportError } from './errors.js';

export async function readExportWeights(path: string, layers: Layer[]): Promise<{ values: Map<string, Float32Array>; warnings: string[] }> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw new ExportError(`cannot read weights ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}`);
  }
  if (isDir) {
    let saved;
    try {
      saved = await readRunCheckpoint<{ weightKeys?: string[] }>(path);
    } catch (e) {
      throw new ExportError(`cannot read the run checkpoint in ${path}: ${(e as Error).message}`);
    }
    if (!saved) throw new ExportError(`${path} is a folder without a run checkpoint (pass a training run folder or a .pth / .safetensors file)`);
    const values = new Map<string, Float32Array>();
    for (const k of saved.meta.weightKeys ?? []) {
      const t = saved.tensors.get(`w:${k}`);
      if (t) values.set(k, t.data);
    }
    if (!values.size) throw new ExportError(`the run checkpoint in ${path} holds no model weights`);
    return { values, warnings: [] };
  }
  let ckpt;
  try {
    ckpt = await readCheckpoint(path);
  } catch (e) {
    if (e instanceof CheckpointError) throw new ExportError(`cannot read weights ${path}: ${e.message}`);
    throw e;
  }
  const { values, report } = planLoad(layers, ckpt, { keepClassifier: true });
  const warnings: string[] = [];
  if (report.counts.mismatched) warnings.push(`${report.counts.mismatched} tensor(s) of ${path} have the wrong shape for the graph (e.g. ${report.mismatched[0]!.key}): not used`);
  const classifier = report.skipped.find((s) => s.key.includes('classifier'));
  if (classifier) warnings.push(`${classifier.key}: ${classifier.reason}`);
  return { values, warnings };
}
