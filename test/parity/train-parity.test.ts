/**
 * Training-mode parity with PyTorch: the same weights (.pth), the same fixed batch, one plain SGD step
 * (lr 0.1, no momentum / weight decay) on CE(logits) + w·mean(global_feat²) in both frameworks. Checks
 * the training outputs (logits, pre-neck feature), the loss, every updated parameter, and the running
 * statistics (PyTorch momentum 0.1, unbiased variance) — or, with a frozen backbone, that frozen weights
 * and frozen statistics did not move at all. The bounds (PyTorch float64 as the yardstick) are train-check.ts's,
 * shared with the one-program step's test (train-parity-program.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, weightSpecs, type Analysis } from '../../core/index.js';
import { OnnxTrainingSession } from '../../main/onnx/training.js';
import { buildModel, disposeModel, forwardTrain, getWeightValues, initBackend, setWeightsFromValues, trainableVariables } from '../../main/tfjs/index.js';
import { planLoad, readCheckpoint, torchToTfjsValues } from '../../main/weights/index.js';
import { EVAL_ENGINES, TRAIN_BACKENDS } from '../backends.js';
import { caseDoc, generateFixtures, readF32, type ParityCase } from './fixtures.js';
import { compareStep, stepFixture, type StepOutcome as Outcome } from './train-check.js';

const train = { lr: 0.1, labels: [0, 1, 2, 1], featureWeight: 0.1 };
const base = { numClasses: 5, batch: 4, input: [64, 32] as [number, number], train };
const CASES: ParityCase[] = [
  { id: 't_r18_bnneck', preset: 'resnet18', neck: 'bnneck', neckFeat: 'after', lastStride: 2, seed: 21, ...base },
  { id: 't_r18_no', preset: 'resnet18', neck: 'no', neckFeat: 'after', lastStride: 1, seed: 22, ...base },
  { id: 't_r50ibn_bnneck', preset: 'resnet50_ibn_a', neck: 'bnneck', neckFeat: 'after', lastStride: 1, seed: 23, ...base, input: [128, 64] },
  { id: 't_r50_frozen', preset: 'resnet50', neck: 'bnneck', neckFeat: 'after', lastStride: 2, seed: 24, freezeBackbone: true, ...base },
  // fast-reid's ResNeSt-50 (LAST_STRIDE 1: dilated layer4); its reference is resnest_modules.py's ResNeSt.
  { id: 't_resnest50', preset: 'resnest50', neck: 'bnneck', neckFeat: 'after', lastStride: 1, seed: 25, ...base },
];
let fx: ReturnType<typeof generateFixtures>;
beforeAll(async () => {
  expect((await initBackend('wasm')).backend).toBe('wasm');
  fx = generateFixtures(CASES);
});
afterAll(() => fx?.cleanup());

type StepOutcome = Required<Outcome> & { trainableKeys: string[] };

/** CE(logits) + w·mean(feature²) — the fixtures' loss — and its value (tfjs, inside a tape). */
function fixtureLoss(c: ParityCase, logits: tf.Tensor2D, feature: tf.Tensor2D): tf.Scalar {
  const onehot = tf.oneHot(c.train!.labels, c.numClasses);
  const ce = tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
  return tf.add(ce, tf.mul(tf.mean(tf.square(feature)), c.train!.featureWeight)) as tf.Scalar;
}

/** One plain SGD step on the tfjs model (the backend initialised by the caller). */
async function tfjsStep(c: ParityCase, analysis: Analysis, before: Map<string, Float32Array>, torchKeyOf: Map<string, string>): Promise<StepOutcome> {
  const { reid } = await buildModel(analysis);
  try {
    setWeightsFromValues(reid, analysis.layers, before);
    const vars = trainableVariables(reid);
    const [h, w] = c.input;
    const x = tf.tensor4d(readF32(`${fx.dir}/${c.id}.input.f32`), [c.batch, h, w, 3]);
    let logits: Float32Array | undefined;
    let feature: Float32Array | undefined;
    const opt = tf.train.sgd(c.train!.lr);
    const numBefore = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const out = forwardTrain(reid, x);
      logits = out.logits.dataSync() as Float32Array;
      feature = out.feature.dataSync() as Float32Array;
      return fixtureLoss(c, out.logits, out.feature);
    }, vars);
    opt.applyGradients(grads);
    const loss = (await value.data())[0]!;
    tf.dispose([value, grads, x]);
    opt.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(numBefore);
    const trainableKeys = reid.model.trainableWeights.map((w) => torchKeyOf.get(w.originalName)!);
    return { logits: logits!, feature: feature!, loss, trainableKeys, weights: await getWeightValues(reid, analysis.layers) };
  } finally {
    disposeModel(reid);
  }
}

/** One plain SGD step on onnxruntime's training graph: forward session, loss gradient in tfjs, backward session. */
async function onnxStep(c: ParityCase, analysis: Analysis, before: Map<string, Float32Array>, torchKeyOf: Map<string, string>): Promise<StepOutcome> {
  const session = await OnnxTrainingSession.create(compileToKeras(analysis), before, { batch: c.batch, threads: 2 });
  try {
    const fwd = await session.forward(readF32(`${fx.dir}/${c.id}.input.f32`));
    const k = c.numClasses;
    const logitsVar = tf.variable(tf.tensor2d(fwd.logits, [c.batch, k]));
    const featVar = tf.variable(tf.tensor2d(fwd.feature, [c.batch, fwd.feature.length / c.batch]));
    const { value, grads } = tf.variableGrads(() => fixtureLoss(c, logitsVar, featVar), [logitsVar, featVar]);
    const loss = (await value.data())[0]!;
    const g = await session.backward(fwd, (await grads[logitsVar.name]!.data()) as Float32Array, (await grads[featVar.name]!.data()) as Float32Array);
    tf.dispose([value, grads, logitsVar, featVar]);
    for (const w of session.weights) {
      const d = g.get(w.key);
      if (!d) continue;
      for (let i = 0; i < d.length; i++) w.data[i] = w.data[i]! - c.train!.lr * d[i]!;
    }
    // The session's weights are keyed by state_dict key.
    const trainableKeys = session.weights.filter((w) => w.trainable).map((w) => w.key);
    // Weights outside the training graph (none in these models) keep their values.
    return { logits: fwd.logits, feature: fwd.feature, loss, trainableKeys, weights: new Map([...before, ...torchToTfjsValues(analysis.layers, session.weightValues())]) };
  } finally {
    await session.release();
  }
}

// Every tfjs backend present (test/backends.ts: wasm here, tfjs-node / tfjs-node-gpu where installed) and
// onnxruntime's training graph where onnxruntime-node is installed.
const ENGINES: [string, typeof tfjsStep][] = [
  ...TRAIN_BACKENDS.map((b): [string, typeof tfjsStep] => [`${b} backend`, tfjsStep]),
  ...(EVAL_ENGINES.includes('onnxruntime') ? [['onnxruntime', onnxStep] as [string, typeof tfjsStep]] : []),
];

for (const [engine, step] of ENGINES)
  describe(`one SGD step matches PyTorch (${engine})`, () => {
    beforeAll(async () => {
      const backend = engine.endsWith(' backend') ? engine.slice(0, -' backend'.length) : 'wasm';
      expect((await initBackend(backend as (typeof TRAIN_BACKENDS)[number])).backend).toBe(backend);
    });
    for (const c of CASES)
      it(c.id, async () => {
        const analysis = analyze(caseDoc(c).graph);
        const fixture = await stepFixture(fx.dir, c, analysis);
        const { before, ref } = fixture;
        expect(before.report.counts.missing).toBe(0);
        const torchKeyOf = new Map<string, string>();
        for (const l of analysis.layers) for (const s of weightSpecs(l)) torchKeyOf.set(`${l.name}/${s.slot}`, s.torchKey);

        const out = await step(c, analysis, before.values, torchKeyOf);
        // The trainable parameters are PyTorch's requires_grad parameters (minus RSB IBN's unused base.fc).
        expect(out.trainableKeys.sort()).toEqual(ref.trainable.filter((k) => !k.startsWith('base.fc.')));

        const { failures, worstRatio, typical } = compareStep(fx.dir, c, analysis, fixture, out);
        console.log(`train parity ${engine} ${c.id}: PyTorch float32 update distance, upper quartile ${typical.toExponential(2)} relative`);
        expect(failures).toEqual([]);
        console.log(
          `train parity ${engine} ${c.id}: loss ${out.loss.toFixed(7)}, PyTorch float32 ${ref.loss.toFixed(7)}, float64 ${ref.loss64.toFixed(7)}; worst (ours − float64)/(PyTorch float32 − float64) ratio ${worstRatio.toFixed(2)}`,
        );
      });
  });
