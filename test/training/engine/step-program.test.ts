/**
 * The one-program training step (core/compile/step-program.ts on main/onnx/step-session.ts) on both
 * onnxruntime engines, through `train`: CE(ε = 0.1) + batch-hard triplet + center loss with Adam on the tiny
 * IBN-a graph. The CPU engine's per-step loss terms equal the tfjs (wasm) engine's — an independent
 * implementation of the same losses and optimizer (main/training/losses, optimizer.ts) — and a run started
 * on the webgpu engine (SwiftShader here: tiny shapes) gives the CPU engine's losses step by step and resumes
 * on the CPU engine from its checkpoint to the same final weights (checkpoints are engine-neutral); a run
 * started on the CPU engine resumes on webgpu to the same losses and weights; both resumes say in the run
 * log that the engine changed. The run log states the bytes that crossed host ↔ GPU in a step, measured on
 * the tensors moved.
 */
import '../../webgpu-env.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingSettingsSchema } from '../../../core/index.js';
import { loadDataset, type LoadedDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { readCheckpoint } from '../../../main/runs/store/checkpoint.js';
import { train, type TrainEvent } from '../../../main/training/engine/trainer.js';
import { tinyGraph, stepRecords as steps, type StepRecord as Step } from './tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'reid-step-program-'));
const settings = trainingSettingsSchema.parse({
  epochs: 1, batch: { p: 4, k: 4 }, evalPeriod: 5, sampler: 'softmax_triplet', loss: { metric: 'triplet_center', labelSmooth: true },
  schedule: { warmup: false, steps: [100] }, optimizer: { name: 'adam', baseLr: 1e-3, weightDecay: 5e-4 }, seed: 5,
});
let ds: LoadedDataset;


function expectSameLosses(a: Step[], b: Step[], what: string) {
  expect(b.map((s) => s.step), what).toEqual(a.map((s) => s.step));
  a.forEach((s, i) => {
    for (const k of ['loss', 'ce', 'triplet', 'center'] as const) expect(Math.abs(b[i]![k] - s[k]), `${what}: step ${s.step} ${k}`).toBeLessThanOrEqual(1e-5 * Math.abs(s[k]) + 1e-6);
    expect(b[i]!.acc, `${what}: step ${s.step} acc`).toBe(s.acc);
  });
}

const log = (dir: string) => readFileSync(join(dir, 'train.log'), 'utf8');

/**
 * The final checkpoints' tensors agree within 3e-4 of each tensor's magnitude (float32 rounding of two engines).
 * Adam divides each gradient element by its own RMS, so an element's update carries its gradient's relative
 * rounding, not the largest gradient's: over these three steps (lr 1e-3) the classifier, max|w| 4.3e-3, differs
 * by up to 5.5e-7 (1.3e-4 of its magnitude; 9.9e-5 before the conv weight-gradient forms changed the
 * summation order). A wrong gradient moves an element by up to lr per step (≈ 0.2 of this scale), three orders
 * above the bound.
 */
async function expectSameWeights(ref: string, dir: string, what: string) {
  const [a, b] = [await readCheckpoint(ref), await readCheckpoint(dir)];
  let worst = 0;
  let worstKey = '';
  for (const [k, t] of a!.tensors) {
    const u = b!.tensors.get(k)!.data;
    const scale = Math.max(1e-3, ...t.data.map(Math.abs));
    t.data.forEach((x, i) => {
      const d = Math.abs(x - u[i]!) / scale;
      if (d > worst) [worst, worstKey] = [d, k];
    });
  }
  expect(worst, `${what}: ${worstKey}`).toBeLessThan(3e-4);
}

describe('training step as one ONNX program', () => {
  beforeAll(async () => {
    await writeDemoDataset(join(tmp, 'demo'), 'tiny', 0);
    ds = await loadDataset('market1501', join(tmp, 'demo'), { k: 4 });
  }, 120_000);

  it('CPU engine = tfjs engine; a run started on webgpu has the CPU losses and resumes on the CPU engine to the same weights', async () => {
    const doc = tinyGraph(ds.numClasses);
    const starts: TrainEvent[] = [];
    const onEvent = (e: TrainEvent) => e.type === 'start' && starts.push(e);
    const cpu = join(tmp, 'cpu');
    await train({ doc, settings, dataset: ds, runDir: cpu, backend: 'onnxruntime', onEvent });
    const wasm = join(tmp, 'wasm');
    await train({ doc, settings, dataset: ds, runDir: wasm, backend: 'wasm', onEvent });
    expectSameLosses(steps(wasm), steps(cpu), 'onnxruntime vs tfjs');

    const gpu = join(tmp, 'webgpu-cpu');
    await train({ doc, settings, dataset: ds, runDir: gpu, backend: 'webgpu', maxSteps: 2, onEvent });
    await train({ doc, settings, dataset: ds, runDir: gpu, backend: 'onnxruntime', resume: true, onEvent });
    expectSameLosses(steps(cpu), steps(gpu), 'webgpu (steps 1–2) → onnxruntime (step 3) vs onnxruntime');
    await expectSameWeights(cpu, gpu, 'webgpu → onnxruntime');
    expect(log(gpu)).toMatch(/resumed on another engine: the run trained on webgpu \(GPU: .+\) up to step 2 and continues on onnxruntime \(CPU\)/);
    expect(log(cpu)).not.toMatch(/another engine/);

    // CPU → webgpu: one step on the CPU engine, the rest on webgpu.
    const cpuGpu = join(tmp, 'onnxruntime-webgpu');
    await train({ doc, settings, dataset: ds, runDir: cpuGpu, backend: 'onnxruntime', maxSteps: 1, onEvent });
    await train({ doc, settings, dataset: ds, runDir: cpuGpu, backend: 'webgpu', resume: true, onEvent });
    expectSameLosses(steps(cpu), steps(cpuGpu), 'onnxruntime (step 1) → webgpu (steps 2–3) vs onnxruntime');
    await expectSameWeights(cpu, cpuGpu, 'onnxruntime → webgpu');
    expect(log(cpuGpu)).toMatch(/resumed on another engine: the run trained on onnxruntime \(CPU\) up to step 1 and continues on webgpu \(GPU: .+\); the checkpoint/);
    expect(starts.map((e) => e.type === 'start' && [e.backend, e.device])).toEqual([['onnxruntime', 'cpu'], ['wasm', 'cpu'], ['webgpu', 'gpu'], ['onnxruntime', 'cpu'], ['onnxruntime', 'cpu'], ['webgpu', 'gpu']]);
    const webgpuStart = starts[2] as Extract<TrainEvent, { type: 'start' }>;
    expect(webgpuStart.adapter).toMatch(/\S/);
    expect(webgpuStart.microBatchReason).toMatch(/one ONNX program .* on WebGPU; .* stay on the GPU/);
    // The tiny graph's largest tensor is a few KiB per image: said in KiB, not rounded to "0 MiB".
    expect(webgpuStart.microBatchReason).toMatch(/the largest tensor is [1-9]\d* KiB per image, a buffer at most [1-9]\d* MiB/);
    // The bytes that crossed, as the run log states them (measured on the tensors moved). Step 2 (steady state):
    // in, the NCHW float32 images (16 × 3 × 32 × 16), the labels (16 floats) and the Adam scalars (lr, and c1,
    // c2 for the backbone and head groups), and the one weight that is an input but no state: the BNNeck's
    // bias, frozen in RSB (`bottleneck.bias.requires_grad_(False)`), 16 channels, fed from host memory each step;
    // out, the five scalar outputs (total, acc, ce, triplet, center). Step 1 also uploads the initial state
    // (weights, running statistics, moments) once.
    const measured = [...readFileSync(join(gpu, 'train.log'), 'utf8').matchAll(/bytes per step \(measured, step (\d+)\): (\d+) in, (\d+) out/g)].map((m) => m.slice(1).map(Number));
    const steady = 16 * 3 * 32 * 16 * 4 + 16 * 4 + 5 * 4 + 16 * 4;
    expect(measured.slice(0, 2).map(([step, , out]) => [step, out])).toEqual([[1, 20], [2, 20]]);
    expect(measured[1]![1]).toBe(steady);
    expect(measured[0]![1]).toBeGreaterThan(steady);
  }, 900_000);

  it.each([
    ['CosSoftmax', 16, 0.25],
    ['ArcSoftmax', 16, 0.3],
    ['CircleSoftmax', 16, 0.25],
  ] as const)('%s (fast-reid margin classification layer): the CPU engine\'s program gives the tfjs engine\'s losses', async (layer, scale, margin) => {
    const doc = tinyGraph(ds.numClasses);
    const s = trainingSettingsSchema.parse({ ...settings, classifier: { layer, scale, margin } });
    const starts: Extract<TrainEvent, { type: 'start' }>[] = [];
    const onEvent = (e: TrainEvent) => e.type === 'start' && starts.push(e);
    const [cpu, wasm] = [join(tmp, `${layer}-cpu`), join(tmp, `${layer}-wasm`)];
    await train({ doc, settings: s, dataset: ds, runDir: cpu, backend: 'onnxruntime', maxSteps: 2, onEvent });
    await train({ doc, settings: s, dataset: ds, runDir: wasm, backend: 'wasm', maxSteps: 2, onEvent });
    expect(starts[0]!.loss).toContain(`${layer}(s=${scale}, m=${margin})`);
    expect(starts[0]!.microBatchReason).toMatch(/one ONNX program/);
    expectSameLosses(steps(wasm), steps(cpu), `${layer}: onnxruntime vs tfjs`);
  }, 600_000);
});

