import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, defaultTrainingSettings, seedInitializers } from '../../../core/index.js';
import { buildFromCompiled, forwardTrain, initBackend, trainableVariables, type ReidModel } from '../../../main/tfjs/index.js';
import { ReidLoss } from '../../../main/training/losses/index.js';
import { computeGradients } from '../../../main/training/engine/step.js';
import { TRAIN_BACKENDS } from '../../backends.js';
import { tinyGraph } from './tiny.js';

const P = 4;
const K = 4;
const N = P * K;

async function setup(statsFrozen: boolean, classifier?: ReturnType<typeof defaultTrainingSettings>['classifier']) {
  const a = analyze(tinyGraph(P, { statsFrozen }).graph);
  expect(a.ok).toBe(true);
  const reid = await buildFromCompiled(seedInitializers(compileToKeras(a), 7));
  const s = defaultTrainingSettings();
  s.batch = { p: P, k: K };
  if (classifier) s.classifier = classifier;
  const loss = new ReidLoss(s, P, 16);
  const images = Float32Array.from({ length: N * 32 * 16 * 3 }, (_, i) => Math.sin(i * 0.37) * 1.5);
  const labels = Int32Array.from({ length: N }, (_, i) => Math.floor(i / K));
  return { reid, loss, images, labels, vars: trainableVariables(reid) };
}

async function snapshot(vars: tf.Variable[] | tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
}

const stats = (reid: ReidModel) => reid.model.nonTrainableWeights.map((w) => w.read());

// Every tfjs backend present (test/backends.ts): wasm here, tfjs-node / tfjs-node-gpu where installed.
describe.each(TRAIN_BACKENDS)('micro-batched training step (%s)', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each([
    ['Linear', undefined],
    // fast-reid's margin classifiers form the logits from the neck feature and the classifier weight directly.
    ['CircleSoftmax', { layer: 'CircleSoftmax' as const, scale: 64, margin: 0.35 }],
    ['ArcSoftmax', { layer: 'ArcSoftmax' as const, scale: 16, margin: 0.3 }],
  ])('splitting a batch gives the whole-batch loss and gradients when BN statistics are frozen (exact chain rule), %s classifier', async (_, classifier) => {
    const { reid, loss, images, labels, vars } = await setup(true, classifier);
    const full = await computeGradients(reid, loss, vars, images, labels, N);
    for (const mb of [4, 6]) {
      const split = await computeGradients(reid, loss, vars, images, labels, mb);
      expect(split.result.loss).toBeCloseTo(full.result.loss, 5);
      expect(split.result.triplet).toBeCloseTo(full.result.triplet!, 5);
      for (const [name, g] of Object.entries(full.grads)) {
        const a = (await g.data()) as Float32Array;
        const b = (await split.grads[name]!.data()) as Float32Array;
        const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
        const err = Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));
        expect(err / scale).toBeLessThan(2e-4);
      }
      Object.values(split.grads).forEach((g) => g.dispose());
    }
    // The gradient is not trivially zero: the check above would pass for a broken no-op.
    const conv = await full.grads[vars[0]!.name]!.data();
    expect(Math.max(...Array.from(conv, Math.abs))).toBeGreaterThan(1e-6);
  });

  it('running statistics are updated once per micro-batch, not twice', async () => {
    const { reid, loss, images, labels, vars } = await setup(false);
    const before = await snapshot(stats(reid));
    // Expected: one training-mode forward per micro-batch of 8.
    for (const s of [0, 8]) {
      const x = tf.tensor4d(images.subarray(s * 32 * 16 * 3, (s + 8) * 32 * 16 * 3), [8, 32, 16, 3]);
      const o = forwardTrain(reid, x);
      o.logits.dispose();
      o.feature.dispose();
      x.dispose();
    }
    const expected = await snapshot(stats(reid));
    stats(reid).forEach((v, i) => (v as tf.Variable).assign(tf.tensor(before[i]!, v.shape)));
    const r = await computeGradients(reid, loss, vars, images, labels, 8);
    Object.values(r.grads).forEach((g) => g.dispose());
    const after = await snapshot(stats(reid));
    after.forEach((a, i) => a.forEach((x, j) => expect(x).toBeCloseTo(expected[i]![j]!, 5)));
    expect(after.some((a, i) => a.some((x, j) => Math.abs(x - before[i]![j]!) > 1e-6))).toBe(true);
  });
});
