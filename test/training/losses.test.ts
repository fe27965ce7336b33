import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultTrainingSettings, type TrainingSettings } from '../../core/training/settings.js';
import { LossConfigError, planLoss, ReidLoss, tripletBatchHard } from '../../main/training/losses/index.js';
import { runPython, testRandom } from './python.js';
import { initBackend } from '../../main/tfjs/index.js';
import { TRAIN_BACKENDS } from '../backends.js';

interface RefCase {
  ce?: number;
  triplet?: number;
  center?: number;
  total: number;
  grad_logits: number[][] | null;
  grad_feat: number[][] | null;
  grad_centers?: number[][];
  centers_after?: number[][];
}

const P = 4, K = 4, N = P * K, C = 7, D = 8;

function fixedBatch() {
  const r = testRandom(42);
  const ids = [5, 1, 3, 6];
  const labels = Array.from({ length: N }, (_, i) => ids[Math.floor(i / K)]!);
  const logits = Array.from({ length: N }, () => Array.from({ length: C }, () => (r() - 0.5) * 6));
  // Identity-dependent means so that some triplets are inside the margin and some outside.
  const mean = Array.from({ length: C }, () => Array.from({ length: D }, () => (r() - 0.5) * 0.8));
  const feat = labels.map((l) => mean[l]!.map((m) => m + (r() - 0.5) * 0.9));
  const centers = Array.from({ length: C }, () => Array.from({ length: D }, () => (r() - 0.5) * 2));
  return { labels, logits, feat, centers };
}

function settings(sampler: TrainingSettings['sampler'], metric: TrainingSettings['loss']['metric'], labelSmooth: boolean): TrainingSettings {
  const s = defaultTrainingSettings();
  return { ...s, sampler, batch: { p: P, k: K }, loss: { ...s.loss, metric, labelSmooth } };
}

function maxAbsDiff(a: ArrayLike<number>, b: number[][]): number {
  const flat = b.flat();
  expect(a.length).toBe(flat.length);
  let m = 0;
  for (let i = 0; i < flat.length; i++) m = Math.max(m, Math.abs(a[i]! - flat[i]!));
  return m;
}

// The reference 'cpu' backend and every tfjs backend the trainer can use here (test/backends.ts).
describe.each(['cpu', ...TRAIN_BACKENDS] as const)('RSB losses vs PyTorch (%s backend)', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  const batch = fixedBatch();
  const cases: [TrainingSettings['sampler'], TrainingSettings['loss']['metric'], boolean][] = [
    ['softmax', 'triplet', true], // RSB: plain CE even with label smoothing on
    ['triplet', 'triplet', true],
    ['softmax_triplet', 'triplet', true],
    ['softmax_triplet', 'triplet', false],
    ['softmax', 'center', true],
    ['softmax_triplet', 'center', false],
    ['softmax_triplet', 'triplet_center', true],
    ['triplet', 'triplet_center', false],
  ];
  let ref: RefCase[];
  beforeAll(() => {
    const s0 = defaultTrainingSettings();
    ref = runPython<RefCase[]>('ref_losses.py', {
      ...batch,
      num_classes: C,
      cases: cases.map(([sampler, metric, ls]) => ({ sampler, metric, label_smooth: ls, margin: s0.loss.margin, center_weight: s0.loss.centerWeight, center_lr: s0.loss.centerLr })),
    });
  });

  cases.forEach(([sampler, metric, ls], ci) =>
    it(`sampler ${sampler}, metric ${metric}, label smoothing ${ls}: values, gradients, center step`, () => {
      const want = ref[ci]!;
      // The fixed batch has triplets inside the margin, so the hard-mining path is exercised.
      if (want.triplet !== undefined) expect(want.triplet).toBeGreaterThan(0.05);
      const s = settings(sampler, metric, ls);
      const loss = new ReidLoss(s, C, D, Float32Array.from(batch.centers.flat()));
      const logits = tf.variable(tf.tensor2d(batch.logits));
      const feat = tf.variable(tf.tensor2d(batch.feat));
      const labels = Int32Array.from(batch.labels);
      const got: Record<string, number> = {};
      const tensorsBefore = tf.memory().numTensors;
      const vars = [logits, feat, ...loss.extraVariables()];
      const { value, grads } = tf.variableGrads(() => {
        const t = loss.compute({ logits: logits as unknown as tf.Tensor2D, feat: feat as unknown as tf.Tensor2D, labels });
        for (const k of ['ce', 'triplet', 'center'] as const) if (t[k]) got[k] = t[k]!.dataSync()[0]!;
        return t.total;
      }, vars);
      const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
      expect(rel(value.dataSync()[0]!, want.total)).toBeLessThan(2e-6);
      for (const k of ['ce', 'triplet', 'center'] as const) {
        expect(got[k] === undefined).toBe(want[k] === undefined);
        if (want[k] !== undefined) expect(rel(got[k]!, want[k]!)).toBeLessThan(2e-6);
      }
      const gl = grads[logits.name];
      if (want.grad_logits) expect(maxAbsDiff(gl!.dataSync(), want.grad_logits)).toBeLessThan(1e-6);
      else expect(gl === undefined || Math.max(...Array.from(gl.dataSync(), Math.abs)) === 0).toBe(true);
      const gf = grads[feat.name];
      if (want.grad_feat) expect(maxAbsDiff(gf!.dataSync(), want.grad_feat)).toBeLessThan(1e-6);
      if (loss.center) {
        const gc = grads[loss.center.centers.name]!;
        expect(maxAbsDiff(gc.dataSync(), want.grad_centers!)).toBeLessThan(1e-7);
        loss.center.stepFromTotalGradient(gc);
        expect(maxAbsDiff(loss.center.centers.dataSync(), want.centers_after!)).toBeLessThan(2e-6);
      } else expect(want.centers_after).toBeUndefined();
      tf.dispose([value, ...Object.values(grads)]);
      // The loss keeps no intermediate tensors alive.
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      tf.dispose([logits, feat]);
      loss.dispose();
    }),
  );

  it('RSB loss table: label smoothing is dropped with the softmax sampler; triplet needs P×K', () => {
    expect(planLoss(settings('softmax', 'triplet', true)).describe).toBe('CE');
    expect(planLoss(settings('softmax_triplet', 'triplet_center', true)).describe).toBe('CE(ε=0.1) + triplet(m=0.3) + 0.0005·center');
    expect(planLoss(settings('triplet', 'triplet', true)).needsPK).toBe(true);
    expect(() => planLoss(settings('softmax', 'triplet_center', true))).toThrow(LossConfigError);
    expect(() => planLoss(settings('softmax', 'triplet_center', true))).toThrow(/needs P×K batches/);
  });

  it('refuses a batch that is not P×K', () => {
    const f = tf.zeros([5, 3]) as tf.Tensor2D;
    expect(() => tripletBatchHard(f, [0, 0, 1, 1, 1])).toThrow(/P×K batch/);
    f.dispose();
  });
});
