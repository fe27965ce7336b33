/**
 * Micro-batch sizing from the compiled graph and the memory of the device that trains. One training pass
 * keeps every activation for the backward pass, so the P×K batch is split into the largest micro-batch
 * whose activations fit next to the weights and their optimizer state. We estimate bytes per image from
 * the layer output shapes, calibrated on a measurement: in the wasm backend's 4 GB heap (wasm32),
 * resnet50 at 256×128 fails at batch 8 and fits 4 (platform-notes.md).
 *
 * The device budget: wasm — its 4 GB heap; tfjs-node and the plain JS backend — the host's available
 * memory (os.freemem, capped by os.totalmem); tfjs-node-gpu — the GPU's free memory from
 * `nvidia-smi --query-gpu=memory.total,memory.free` (TensorFlow's own `tf.memory()` on the native
 * backend reports no device figures), or a conservative 4 GiB stated in the plan when nothing reports it.
 */
import { execFileSync } from 'node:child_process';
import { freemem, totalmem } from 'node:os';
import type { Analysis } from '../../../core/index.js';

/** Activation floats one image keeps through a training step (every layer output, plus the input). */
export function activationFloatsPerImage(a: Pick<Analysis, 'inputShape' | 'layers'>): number {
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

const GiB = 1024 ** 3;
/** The wasm32 heap limit of @tensorflow/tfjs-backend-wasm (tfjs PR #7647 "Support 4GB of memory"). */
export const WASM_HEAP_BYTES = 4 * GiB;
/** Share of the wasm heap a plan may fill (the allocator fragments; kernels need scratch space). */
export const WASM_SAFETY = 0.8;
/** Share of the host's available memory a plan may fill: the OS, the app and the data loaders need the rest. */
export const HOST_SAFETY = 0.7;
/** Share of the GPU's free memory a plan may fill (TensorFlow's BFC allocator rounds and fragments). */
export const GPU_SAFETY = 0.8;
/** Assumed GPU memory when neither TensorFlow nor nvidia-smi reports it: the smallest common CUDA card. */
export const GPU_DEFAULT_BYTES = 4 * GiB;

/** The memory a training step may use on its device, and where the figure comes from. */
export interface DeviceMemory {
  /** What holds the tensors: the wasm heap, the host's RAM or a GPU. */
  device: 'wasm heap' | 'host memory' | 'GPU memory';
  /** Bytes the plan may fill: the reported figure × its safety factor. */
  usableBytes: number;
  /** One line for the plan's reason, e.g. "host memory: 17.9 GiB available of 23.4 GiB × 0.7". */
  source: string;
}

/** Raw facts about the machine (tests inject them). */
export interface MemoryProbe {
  totalmem(): number;
  freemem(): number;
  /** `nvidia-smi --query-gpu=memory.total,memory.free --format=csv,noheader,nounits` output, or null when absent. */
  nvidiaSmiMemory(): string | null;
}

export const systemProbe: MemoryProbe = {
  totalmem,
  freemem,
  nvidiaSmiMemory() {
    try {
      return execFileSync('nvidia-smi', ['--query-gpu=memory.total,memory.free', '--format=csv,noheader,nounits'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    } catch {
      return null;
    }
  },
};

/** `memory.total, memory.free` lines in MiB (nounits) → bytes per GPU; lines that are not two numbers are dropped. */
export function parseNvidiaSmiMemory(out: string): { totalBytes: number; freeBytes: number }[] {
  return out
    .split('\n')
    .map((l) => l.split(',').map((s) => s.trim()))
    .filter((p) => p.length === 2 && p.every((s) => /^\d+(\.\d+)?$/.test(s)))
    .map(([t, f]) => ({ totalBytes: Number(t) * 2 ** 20, freeBytes: Number(f) * 2 ** 20 }));
}

const gb = (b: number) => `${(b / GiB).toFixed(1)} GiB`;

function hostMemory(p: MemoryProbe): DeviceMemory {
  const total = p.totalmem();
  const free = Math.min(p.freemem(), total);
  return { device: 'host memory', usableBytes: free * HOST_SAFETY, source: `host memory: ${gb(free)} available of ${gb(total)} × ${HOST_SAFETY}` };
}

/**
 * The memory budget of `backend` (a tfjs backend name as in core/training/backends.ts). `onGpu` is false
 * when tfjs-node-gpu runs on the CPU (no GPU device visible to TensorFlow): the host's memory then applies.
 * TensorFlow places everything on GPU:0, so the first GPU nvidia-smi lists is the one planned for.
 */
export function deviceMemory(backend: string, opts: { onGpu?: boolean; probe?: MemoryProbe } = {}): DeviceMemory {
  const p = opts.probe ?? systemProbe;
  if (backend === 'wasm') return { device: 'wasm heap', usableBytes: WASM_HEAP_BYTES * WASM_SAFETY, source: `wasm heap: ${gb(WASM_HEAP_BYTES)} (wasm32 limit) × ${WASM_SAFETY}` };
  if (backend !== 'tensorflow-gpu' || opts.onGpu === false) return hostMemory(p);
  const smi = p.nvidiaSmiMemory();
  const gpu = smi ? parseNvidiaSmiMemory(smi)[0] : undefined;
  if (gpu) return { device: 'GPU memory', usableBytes: gpu.freeBytes * GPU_SAFETY, source: `GPU memory (nvidia-smi): ${gb(gpu.freeBytes)} free of ${gb(gpu.totalBytes)} × ${GPU_SAFETY}` };
  return { device: 'GPU memory', usableBytes: GPU_DEFAULT_BYTES * GPU_SAFETY, source: `GPU memory not reported (no nvidia-smi): assuming ${gb(GPU_DEFAULT_BYTES)} × ${GPU_SAFETY}` };
}

export interface MicroBatchPlan {
  microBatch: number;
  bytesPerImage: number;
  budgetBytes: number;
  reason: string;
}

/**
 * The micro-batch for a P×K `batch` of images on `memory`: the whole batch when it fits, else the
 * largest number of images whose activations (bytesPerImage each) fit the budget left after the weights,
 * their gradients and two Adam moments (4 float32 copies of every parameter). `override` (the user's
 * micro-batch, from the settings or --micro-batch) wins, clamped to 2…batch (training-mode BatchNorm needs
 * two values per channel; BNNeck has one per image).
 */
export function planMicroBatch(a: Pick<Analysis, 'inputShape' | 'layers' | 'totals'>, batch: number, memory: DeviceMemory, override?: number): MicroBatchPlan {
  const bytesPerImage = activationFloatsPerImage(a) * BYTES_PER_ACTIVATION_FLOAT;
  const fixed = a.totals.params * 4 * 4;
  const budgetBytes = Math.max(0, memory.usableBytes - fixed);
  const perImage = `${(bytesPerImage / 2 ** 20).toFixed(0)} MiB per image`;
  // Training-mode BatchNorm needs more than one value per channel (BNNeck sees one per image).
  const least = Math.min(2, batch);
  if (override !== undefined) {
    const m = Math.max(least, Math.min(batch, Math.floor(override)));
    return { microBatch: m, bytesPerImage, budgetBytes, reason: m === Math.floor(override) ? `set by the user (${m})` : `set by the user (${override} → ${m}: ${m === batch ? 'the whole batch' : 'BatchNorm needs at least 2 images'})` };
  }
  const fits = Math.max(least, Math.floor(budgetBytes / bytesPerImage));
  if (fits >= batch) return { microBatch: batch, bytesPerImage, budgetBytes, reason: `the whole batch of ${batch} fits (${perImage}; ${memory.source})` };
  return {
    microBatch: fits,
    bytesPerImage,
    budgetBytes,
    reason: `batch ${batch} split into micro-batches of ${fits} (${perImage}, ${gb(budgetBytes)} usable: ${memory.source}); BatchNorm statistics are per micro-batch`,
  };
}

/** Bytes of the largest single float32 tensor one image makes in a step: the input or a layer's output. */
export function largestTensorBytesPerImage(a: Pick<Analysis, 'inputShape' | 'layers'>): number {
  let n = a.inputShape ? a.inputShape.reduce((x, y) => x * y, 1) : 0;
  for (const l of a.layers) n = Math.max(n, l.shape.reduce((x, y) => x * y, 1));
  return n * 4;
}

/** The WebGPU limits that bound one tensor: each is one storage buffer (webgpu.ts WebGpuLimits). */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/**
 * Images per step that the adapter's buffer limits allow: onnxruntime's WebGPU EP keeps every tensor in one
 * storage buffer, so the largest tensor (largestTensorBytesPerImage × images) must not exceed
 * min(maxBufferSize, maxStorageBufferBindingSize) (WebGPU spec, GPUSupportedLimits). A bound, not a
 * guarantee: the device's memory may run out first, which a trial step finds.
 */
export function imagesWithinBufferLimit(a: Pick<Analysis, 'inputShape' | 'layers'>, limits: BufferLimits): { images: number; perImageBytes: number; limitBytes: number } {
  const perImageBytes = largestTensorBytesPerImage(a);
  const limitBytes = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  return { images: Math.floor(limitBytes / Math.max(perImageBytes, 1)), perImageBytes, limitBytes };
}

/**
 * Images per step the host's memory allows the CPU engine: the usable budget (deviceMemory) over the
 * activation bytes per image (BYTES_PER_ACTIVATION_FLOAT), after the weights and their optimizer state.
 */
export function imagesWithinHostMemory(a: Pick<Analysis, 'inputShape' | 'layers' | 'totals'>, memory: DeviceMemory): number {
  return Math.floor(Math.max(0, memory.usableBytes - a.totals.params * 4 * 4) / (activationFloatsPerImage(a) * BYTES_PER_ACTIVATION_FLOAT));
}

/** The largest P′ ≤ P with P′·K ≤ `images` (K kept), or null when not even one identity's K images fit. */
export function largestPK(batch: { p: number; k: number }, images: number): { p: number; k: number } | null {
  const p = Math.min(batch.p, Math.floor(images / batch.k));
  return p >= 1 ? { p, k: batch.k } : null;
}
