/**
 * fast-reid's MGN losses (fastreid/modeling/meta_arch/mgn.py `losses()`: CE × 0.125 on each of the eight
 * heads' logits, triplet × 0.2 on b1, b2, b3 and the concatenated [b21, b22] and [b31, b32, b33] features,
 * scaled by CE.SCALE / TRI.SCALE) in the one-program step (core/compile/step-program.ts, step-loss.ts
 * emitLoss with `heads`) against the tfjs engine's multi-head step (main/training/engine/multi-head.ts), an
 * independent implementation of the same per-head sums: on a miniature MGN (tiny.ts tinyMgn: the preset's
 * structure at a fraction of its width) with MGN's recipe terms (CircleSoftmax, label-smoothed CE,
 * soft-margin triplet, SGD with momentum, the trunk and branches frozen for the first iteration), the CPU
 * engine's per-step loss terms and accuracy equal the wasm engine's over the first steps, and `auto` now
 * trains MGN on the one-program step; the webgpu engine (SwiftShader: tiny shapes) gives the CPU engine's
 * losses.
 */
import '../../webgpu-env.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingSettingsSchema } from '../../../core/index.js';
import { loadDataset, type LoadedDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { train, type TrainEvent } from '../../../main/training/engine/trainer.js';
import { tinyMgn, stepRecords as steps, type StepRecord as Step } from './tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'reid-mgn-program-'));
const settings = trainingSettingsSchema.parse({
  epochs: 1, batch: { p: 4, k: 4 }, evalPeriod: 5, sampler: 'softmax_triplet',
  loss: { metric: 'triplet', labelSmooth: true, softMargin: true, ceWeight: 1, tripletWeight: 1 },
  classifier: { layer: 'CircleSoftmax', scale: 16, margin: 0.25 },
  schedule: { warmup: false, steps: [100] }, optimizer: { name: 'sgd', baseLr: 1e-3, weightDecay: 5e-4, momentum: 0.9 }, freezeBackboneIters: 1, seed: 7,
});
let ds: LoadedDataset;


/**
 * The steps' loss terms agree within 1e-5 relative over the first two steps (the frozen one and the first
 * full update, measured ≤ 1e-6) and 1e-4 on the third, where the two engines' float32 rounding of the first
 * full update has moved through the stripes' BatchNorms (measured 1.1e-5 on the triplet sum). A wrong head
 * factor or a head left out moves the sums by ≥ 1e-2 relative (one head's CE × 0.125 is ~12% of the CE sum).
 */
function expectSameLosses(a: Step[], b: Step[], what: string) {
  expect(b.map((s) => s.step), what).toEqual(a.map((s) => s.step));
  a.forEach((s, i) => {
    const rel = s.step <= 2 ? 1e-5 : 1e-4;
    for (const k of ['loss', 'ce', 'triplet'] as const) expect(Math.abs(b[i]![k] - s[k]), `${what}: step ${s.step} ${k}: ${b[i]![k]} vs ${s[k]}`).toBeLessThanOrEqual(rel * Math.abs(s[k]) + 1e-6);
    expect(b[i]!.acc, `${what}: step ${s.step} acc`).toBe(s.acc);
    // total = CE.SCALE · Σ 0.125·CE_h + TRI.SCALE · Σ 0.2·tri_h (both scales 1 here).
    expect(b[i]!.loss).toBeCloseTo(b[i]!.ce + b[i]!.triplet, 5);
  });
}

describe('MGN multi-head losses in the one-program step', () => {
  beforeAll(async () => {
    await writeDemoDataset(join(tmp, 'demo'), 'tiny', 0);
    ds = await loadDataset('market1501', join(tmp, 'demo'), { k: 4 });
  }, 120_000);

  it('auto trains MGN on the one-program step; its per-step CE and triplet sums equal the tfjs multi-head step and the webgpu engine\'s', async () => {
    const doc = tinyMgn(ds.numClasses);
    const starts: Extract<TrainEvent, { type: 'start' }>[] = [];
    const onEvent = (e: TrainEvent) => e.type === 'start' && starts.push(e);
    const [cpu, wasm] = [join(tmp, 'cpu'), join(tmp, 'wasm')];
    await train({ doc, settings, dataset: ds, runDir: cpu, backend: 'auto', maxSteps: 3, onEvent });
    await train({ doc, settings, dataset: ds, runDir: wasm, backend: 'wasm', maxSteps: 3, onEvent });
    expect(starts[0]!.backend).toBe('onnxruntime');
    expect(starts[0]!.microBatchReason).toMatch(/one ONNX program/);
    expect(starts[1]!.backend).toBe('wasm');
    const [a, b] = [steps(wasm), steps(cpu)];
    expect(b.map((s) => s.step)).toEqual([1, 2, 3]);
    expect(a.map((s) => s.step)).toEqual([1, 2, 3]);
    expectSameLosses(a, b, 'onnxruntime vs tfjs');

    // The webgpu engine (SwiftShader here) runs the same program: the CPU engine's losses over two steps.
    const gpu = join(tmp, 'webgpu');
    await train({ doc, settings, dataset: ds, runDir: gpu, backend: 'webgpu', maxSteps: 2, onEvent });
    expect(starts[2]!.backend).toBe('webgpu');
    expectSameLosses(b.slice(0, 2), steps(gpu), 'webgpu vs onnxruntime');
  }, 600_000);
});
