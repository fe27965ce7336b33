/**
 * Out-of-memory errors of every engine, recognised by their messages so a run that runs out of memory
 * ends with one coded line and the advice to lower the micro-batch instead of an internal error:
 * - TensorFlow (tfjs-node / tfjs-node-gpu): the binding throws `Invalid TF_Status: 8` (RESOURCE_EXHAUSTED)
 *   with `Message: OOM when allocating tensor with shape[…] and type float on …/device:GPU:0 by allocator
 *   GPU_0_bfc` (tfjs #2760); Python TensorFlow names it `ResourceExhaustedError`; the CUDA driver logs
 *   `failed to allocate … from device: CUDA_ERROR_OUT_OF_MEMORY: out of memory` (tensorflow #30912).
 * - WebAssembly: the 4 GB heap full shows as `RuntimeError: memory access out of bounds` (measured here:
 *   tfjs-backend-wasm 4.22 allocating past 4 GB; tfjs #6439), Emscripten's "Cannot enlarge memory arrays"
 *   abort, or `Aborted(OOM)`.
 * - JavaScript / V8: `RangeError: Array buffer allocation failed`, `Invalid typed array length`, and the
 *   heap-limit crash ("JavaScript heap out of memory") of a process.
 * - onnxruntime CPU: its arena's `Failed to allocate memory for requested buffer of size N` (bfc_arena.cc;
 *   measured here with a 32 GiB activation on a 23 GiB machine).
 * - onnxruntime WebGPU: Dawn's `VK_ERROR_OUT_OF_DEVICE_MEMORY` / "Out of memory" (webgpu-errors.ts). Dawn
 *   reports a failed buffer allocation asynchronously, so the run's exception often names a later, derived
 *   failure ("… is invalid due to a previous error"): the one-program engine then runs a trial step at a
 *   smaller batch and reports StepOutOfMemoryError when that fits (main/training/engine/engines.ts).
 */
import { counted } from '../../../core/index.js';
import type { ApiErrorCode } from '../../../core/api/contract.js';

/** The code a run's failure carries when it ran out of memory (train.exit `code`, CLI message prefix). */
export const OUT_OF_MEMORY_CODE = 'E_OUT_OF_MEMORY' satisfies ApiErrorCode;

const PATTERNS: RegExp[] = [
  /ResourceExhausted|Resource exhausted|Invalid TF_Status: 8\b/i,
  /OOM when allocating tensor/i,
  /CUDA_ERROR_OUT_OF_MEMORY|CUBLAS_STATUS_ALLOC_FAILED|CUDNN_STATUS_ALLOC_FAILED/,
  /memory access out of bounds/i,
  /Cannot enlarge memory arrays|\(OOM\)/,
  /out of memory/i,
  /allocation failed|Invalid typed array length|Cannot allocate/i,
  /Failed to allocate memory|VK_ERROR_OUT_OF_DEVICE_MEMORY/,
];

/** True when `message` is an out-of-memory error of TensorFlow, CUDA, WebAssembly or V8. */
export function isOutOfMemory(message: string): boolean {
  return PATTERNS.some((re) => re.test(message));
}

/** The first meaningful line of an engine's message (TensorFlow's start "Invalid TF_Status: 8\nMessage: …"). */
export function oomDetail(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  const best = lines.find((l) => /OOM when allocating|CUDA_ERROR_OUT_OF_MEMORY|memory access out of bounds|Cannot enlarge|allocation failed|out of memory|Failed to allocate memory/i.test(l)) ?? lines[0] ?? message;
  // onnxruntime's lines carry the kernel, file and function first: keep its words from the allocation failure on.
  const ort = best.match(/Failed to allocate memory.*/);
  return (ort ? ort[0] : best.replace(/^Message:\s*/, '')).slice(0, 300);
}

/** The user-facing line of an out-of-memory failure: where, with which micro-batch, what to lower, and the engine's words. */
export function outOfMemoryMessage(where: string, microBatch: number, detail: string): string {
  const smaller = Math.max(1, Math.floor(microBatch / 2));
  return `out of memory ${where} with micro-batch ${microBatch}: lower the micro-batch (training settings "Micro-batch", or --micro-batch ${smaller}) or the input size (${detail})`;
}

/** A P×K batch: P identities × K images each. */
export interface PKBatch {
  p: number;
  k: number;
}

/**
 * A training step of the one-program engine that does not fit its device (GPU memory or buffer limits, host
 * memory on the CPU engine), with the largest P×K batch that does (K kept: the triplet loss needs each
 * identity's K images), or null when not even P = 1 fits. `how` says how the fitting batch was found: a trial
 * step that ran, or the plan from the adapter's buffer limit.
 */
export class StepOutOfMemoryError extends Error {
  readonly code = OUT_OF_MEMORY_CODE;
  constructor(
    readonly batch: PKBatch,
    readonly fits: PKBatch | null,
    readonly how: string,
    readonly detail: string,
  ) {
    super(
      `out of memory training a batch of ${batch.p * batch.k} (P×K ${batch.p}×${batch.k}): ${
        fits ? `P×K ${fits.p}×${fits.k} = ${counted(fits.p * fits.k, 'image')} fits (${how}); run with --batch ${fits.p},${fits.k}` : `not even P×K 1×${batch.k} fits (${how}); lower the input size or K`
      } (${detail})`,
    );
  }
}
