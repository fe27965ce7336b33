/**
 * The training side of bench/gpu.ts: images/s of the webgpu training engine's step — forward, loss,
 * backward and optimizer update as ONE ONNX program (core/compile/step-program.ts) whose state stays in GPU
 * buffers between steps (main/onnx/step-session.ts, as main/training/engine/engines.ts runs it) — on a batch
 * of P×K images (labels i // K), SGD (momentum 0.9, weight decay 5e-4, lr 0.01), CE with label smoothing
 * (ε = 0.1) + batch-hard triplet (margin 0.3): the step bench/_torch.py `train-rsb` runs on PyTorch. The
 * images are seeded, pre-normalised NHWC floats (no decoding: the device bundle carries no image codecs), so
 * this measures the engine's step; the upload of the batch is part of it. Also returns the bytes the engine
 * measured crossing host ↔ GPU in the last step.
 */
import type { CompiledModel } from '../core/index.js';
import { OnnxStepSession } from '../main/onnx/step-session.js';

export interface TrainBenchInput {
  compiled: CompiledModel;
  /** Weight values in tfjs layout (`${layer}/${slot}`). */
  values: Map<string, Float32Array>;
  numClasses: number;
  /** P×K: batch = p·k images, k per identity. */
  batch: number;
  k: number;
  iters: number;
  /** onnxruntime intra-op threads (nodes left on the CPU, if any). */
  threads: number;
}

export interface TrainBenchResult {
  ok: boolean;
  imagesPerSecond?: number;
  secondsPerIter?: number;
  /** Measured in the last step (ProgramStepResult.bytesIn / bytesOut). */
  bytesPerStep?: { in: number; out: number };
  note?: string;
}

export async function webgpuTrainBench(o: TrainBenchInput): Promise<TrainBenchResult> {
  let session: OnnxStepSession | undefined;
  try {
    session = await OnnxStepSession.create(o.compiled, o.values, {
      batch: o.batch,
      threads: o.threads,
      ep: 'webgpu',
      loss: { numClasses: o.numClasses, ceEpsilon: 0.1, ceWeight: 1, triplet: { margin: 0.3, soft: false, hardMining: true, normFeat: false, weight: 1 }, centerWeight: null },
      optimizer: { name: 'sgd', weightDecay: 5e-4, momentum: 0.9 },
    });
    const [h, w, c] = o.compiled.metadata.inputShape as [number, number, number];
    const x = Float32Array.from({ length: o.batch * h * w * c }, (_, i) => Math.sin(i * 0.37));
    const labels = Int32Array.from({ length: o.batch }, (_, i) => Math.floor(i / o.k));
    // One warm-up step (shader compilation, buffer allocation), then the median of `iters` steps. Each step
    // awaits its loss terms, so the GPU work of the step is finished when it returns.
    let last = await session.run(x, labels, 0.01);
    const ts: number[] = [];
    for (let i = 0; i < o.iters; i++) {
      const t0 = performance.now();
      last = await session.run(x, labels, 0.01);
      ts.push((performance.now() - t0) / 1000);
    }
    if (!Number.isFinite(last.total)) return { ok: false, note: `the loss became ${last.total}` };
    const s = ts.sort((a, b) => a - b)[ts.length >> 1]!;
    return { ok: true, imagesPerSecond: o.batch / s, secondsPerIter: s, bytesPerStep: { in: last.bytesIn, out: last.bytesOut } };
  } catch (e) {
    const code = (e as { code?: string }).code;
    return { ok: false, note: `${code ? `${code}: ` : ''}${String((e as Error)?.message ?? e).split('\n')[0]}` };
  } finally {
    await session?.release();
  }
}
