/**
 * The training side of bench/gpu.ts: images/s of the webgpu training engine's step (forward, loss,
 * backward and optimizer update as one ONNX program resident on the device; main/onnx/training.ts and
 * main/training/engine/engines.ts, owned by the training-step work) at `batch` on `preset`, `height`×`width`.
 * This is the one place the benchmark calls it: until the webgpu training engine is in the build it reports
 * that, and the eval figures stand alone.
 */
export interface TrainBenchInput {
  preset: string;
  height: number;
  width: number;
  batch: number;
  iters: number;
}

export interface TrainBenchResult {
  ok: boolean;
  imagesPerSecond?: number;
  secondsPerIter?: number;
  note?: string;
}

export async function webgpuTrainBench(_o: TrainBenchInput): Promise<TrainBenchResult> {
  return { ok: false, note: 'the webgpu training engine is not in this build (it lands with the one-program training step)' };
}
