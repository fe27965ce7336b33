/**
 * Failures of the webgpu engine as one user-facing line with a stable code, never an internal error:
 * - `E_GPU_DEVICE_LOST`: the GPU device went away (driver reset, GPU removed or hung: Dawn "[Device] is
 *   lost.", onnxruntime "WebGPU device lost", Vulkan `VK_ERROR_DEVICE_LOST`, D3D `DXGI_ERROR_DEVICE_REMOVED`).
 * - `E_OUT_OF_MEMORY`: the device ran out of memory (Dawn "Out of memory" / `OutOfMemory`, Vulkan
 *   `VK_ERROR_OUT_OF_DEVICE_MEMORY`).
 * - `E_WEBGPU_FAILED`: any other failure of a WebGPU session (no adapter or device, a kernel onnxruntime's
 *   WebGPU EP refuses, a shader Dawn cannot compile).
 * The message says what was being done and that the work can be redone on another engine; a training
 * run's checkpoint is engine-neutral, so `train --resume RUN --backend onnxruntime` continues it.
 */
import type { ApiErrorCode } from '../../core/api/contract.js';

export type WebGpuErrorCode = Extract<ApiErrorCode, 'E_GPU_DEVICE_LOST' | 'E_OUT_OF_MEMORY' | 'E_WEBGPU_FAILED'>;

export class WebGpuError extends Error {
  constructor(
    message: string,
    readonly code: WebGpuErrorCode,
  ) {
    super(message);
  }
}

/** Dawn: "%s is lost." (e.g. "[Device] is lost."), onnxruntime: "WebGPU device lost (…)", Vulkan / D3D's codes. */
const DEVICE_LOST = /\bis lost\b|device (was )?lost|DeviceLost|VK_ERROR_DEVICE_LOST|DXGI_ERROR_DEVICE_(REMOVED|HUNG|RESET)/i;
const OUT_OF_MEMORY = /out of memory|OutOfMemory|VK_ERROR_OUT_OF_DEVICE_MEMORY|E_OUTOFMEMORY/i;

/** The code of a WebGPU session's failure message. */
export function webgpuErrorCode(message: string): WebGpuErrorCode {
  if (DEVICE_LOST.test(message)) return 'E_GPU_DEVICE_LOST';
  if (OUT_OF_MEMORY.test(message)) return 'E_OUT_OF_MEMORY';
  return 'E_WEBGPU_FAILED';
}

/** `e` (onnxruntime's error while `doing`) as a WebGpuError with one line: what failed, the runtime's words, what to do. */
export function webgpuError(e: unknown, doing: string): WebGpuError {
  if (e instanceof WebGpuError) return e;
  const detail = firstLine(e);
  const code = webgpuErrorCode(String((e as Error)?.message ?? e));
  const what = code === 'E_GPU_DEVICE_LOST' ? 'the GPU device was lost' : code === 'E_OUT_OF_MEMORY' ? 'the GPU ran out of memory' : 'the WebGPU engine failed';
  return new WebGpuError(`${what} while ${doing} (${detail}); run again with --backend onnxruntime (CPU), or resume a training run on it`, code);
}

/** One line of a runtime's message (onnxruntime's can carry a whole stack). */
export function firstLine(e: unknown): string {
  const msg = String((e as Error)?.message ?? e);
  return msg.split('\n').find((l) => l.trim())?.trim().slice(0, 500) ?? msg;
}
