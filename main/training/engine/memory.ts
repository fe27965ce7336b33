/**
 * Micro-batch sizing from the compiled graph. The wasm backend's heap is wasm32 (4 GB) and one training
 * pass keeps every activation for the backward pass: resnet50 at 256×128 fails at batch 8 and fits 4
 * (platform-notes.md). We estimate bytes per image from the layer output shapes, calibrated on that
 * measurement, and split the P×K batch into the largest micro-batch that fits.
 */
import type { Analysis } from '../../../core/index.js';

/** Activation floats one image keeps through a training step (every layer output, plus the input). */
export function activationFloatsPerImage(a: Analysis): number {
  let n = a.inputShape ? a.inputShape.reduce((x, y) => x * y, 1) : 0;
  for (const l of a.layers) n += l.shape.reduce((x, y) => x * y, 1);
  return n;
}

/**
 * Bytes per image of a training step: activations are held for the backward pass, their gradients are
 * created alongside, and norm layers keep normalised copies. The factor 6 reproduces the measured
 * wasm limits: resnet50 256×128 fits micro-batch 4 and not 8 in a 4 GB heap with its weights + Adam state.
 */
export const BYTES_PER_ACTIVATION_FLOAT = 4 * 6;

export interface MicroBatchPlan {
  microBatch: number;
  bytesPerImage: number;
  budgetBytes: number;
  reason: string;
}

export function planMicroBatch(a: Analysis, batch: number, backend: string, override?: number): MicroBatchPlan {
  const bytesPerImage = activationFloatsPerImage(a) * BYTES_PER_ACTIVATION_FLOAT;
  // Weights, gradients and two Adam moments (4 copies), plus BN statistics.
  const fixed = a.totals.params * 4 * 4;
  const heap = backend === 'wasm' ? 4 * 1024 ** 3 : backend === 'cpu' ? 8 * 1024 ** 3 : 16 * 1024 ** 3;
  const budgetBytes = Math.max(0, heap * 0.8 - fixed);
  if (override !== undefined) {
    const m = Math.max(1, Math.min(batch, Math.floor(override)));
    return { microBatch: m, bytesPerImage, budgetBytes, reason: `set by the user (${m})` };
  }
  const fits = Math.max(1, Math.floor(budgetBytes / bytesPerImage));
  if (fits >= batch) return { microBatch: batch, bytesPerImage, budgetBytes, reason: `the whole batch of ${batch} fits (${(bytesPerImage / 2 ** 20).toFixed(0)} MB per image)` };
  return {
    microBatch: fits,
    bytesPerImage,
    budgetBytes,
    reason: `batch ${batch} split into micro-batches of ${fits} (${(bytesPerImage / 2 ** 20).toFixed(0)} MB per image, ${(budgetBytes / 2 ** 30).toFixed(1)} GB available on ${backend}); BatchNorm statistics are per micro-batch`,
  };
}
