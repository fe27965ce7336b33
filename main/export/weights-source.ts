/**
 * Weights for an export given as a path (the CLI's `--weights`, the service's weights choice): a run folder
 * or a PyTorch / safetensors file, read by the one resolver (main/runs/store/run-weights.ts) with the
 * classifier kept when its class count matches. Problems of the load become warnings.
 */
import type { Layer } from '../../core/index.js';
import { resolveWeights } from '../runs/store/run-weights.js';
import { CheckpointError } from '../weights/index.js';
import { ExportError } from './errors.js';

export async function readExportWeights(path: string, layers: Layer[]): Promise<{ values: Map<string, Float32Array>; warnings: string[] }> {
  let r;
  try {
    r = await resolveWeights(path, layers, { keepClassifier: true });
  } catch (e) {
    if (e instanceof CheckpointError) throw new ExportError(`cannot read weights ${path}: ${e.message}`);
    throw new ExportError((e as Error).message);
  }
  const warnings: string[] = [];
  const report = r.report;
  if (report) {
    if (report.counts.mismatched) warnings.push(`${report.counts.mismatched} tensor(s) of ${path} have the wrong shape for the graph (e.g. ${report.mismatched[0]!.key}): not used`);
    const classifier = report.skipped.find((s) => s.key.includes('classifier'));
    if (classifier) warnings.push(`${classifier.key}: ${classifier.reason}`);
  }
  return { values: r.values, warnings };
}
