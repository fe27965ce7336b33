/**
 * The IBN-a trick (Settings ▸ IBN-a, Model ▸ Apply paper IBN-a placement) on reid-strong-baseline's plain
 * ResNet-50 against RSB's own code: test/fixtures/frameworks/rsb-state-dicts.json (keys and shapes of RSB's
 * Baseline, make_rsb_state_dicts.py) and rsb-ibn-features.json (eval features of RSB's Baseline with
 * MODEL.NAME resnet50_ibn_a / resnet50, run by make_rsb_ibn_features.py with weights given by a closed
 * formula of the state_dict key, rebuilt here). After the trick the graph is RSB's resnet50_ibn_a (its stem
 * has the ReLU, as resnet_ibn_a.py's has); undone, it is RSB's resnet50 (no stem ReLU, resnet.py).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, applyCommand, applyIbnPlacement, buildPreset, setParams, swapNorm, weightSpecs, type GraphDoc } from '../../core/index.js';
import { buildModel, disposeModel, forwardEval, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { planLoad, type Checkpoint } from '../../main/weights/index.js';
import { maxDiff } from './fixtures.js';

const fixture = (f: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/frameworks/${f}`, import.meta.url)), 'utf8'));
const RSB_KEYS = fixture('rsb-state-dicts.json').models as Record<string, Record<string, number[]>>;
const FEATURES = fixture('rsb-ibn-features.json') as { input: number[]; features: Record<string, string> };
const refFeatures = (name: string) => {
  const b = Buffer.from(FEATURES.features[name]!, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** make_rsb_ibn_features.py's `value(key, shape)`, in the same float64 order, then float32. */
function value(key: string, shape: number[]): Float32Array {
  let h = 0;
  for (let j = 0; j < key.length; j++) h += (j + 1) * key.charCodeAt(j);
  const seed = ((h % 1000) / 1000) * 2 * Math.PI;
  const n = shape.reduce((a, b) => a * b, 1);
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = Math.sin(0.37 * i + seed);
    out[i] =
      leaf === 'weight' && shape.length >= 2 ? (s * 1.2) / Math.sqrt(fanIn)
      : leaf === 'weight' ? 1 + 0.2 * s
      : leaf === 'bias' ? (key.includes('classifier') ? 0.01 : 0.1) * s
      : leaf === 'running_mean' ? 0.1 * s
      : 1 + 0.5 * s;
  }
  return out;
}

/** RSB's state dict of `model` (every key of its Baseline, unused base.fc included) with the formula's values. */
const rsbCheckpoint = (model: string): Checkpoint => ({
  format: 'test',
  tensors: new Map(Object.entries(RSB_KEYS[model]!).map(([k, shape]) => [k, { dtype: 'float32', shape, data: value(k, shape) }])),
});

const INPUT: [number, number] = [64, 32];
const plainRsb = () => buildPreset('resnet50', { input: INPUT, numClasses: 751, lastStride: 1, neckFeat: 'before' });
const graphKeys = (doc: GraphDoc) => Object.fromEntries(analyze(doc.graph).layers.flatMap((l) => weightSpecs(l)).filter((s) => !s.torchKey.endsWith('num_batches_tracked')).map((s) => [s.torchKey, s.torchShape]));

async function features(doc: GraphDoc, model: string): Promise<Float32Array> {
  const analysis = analyze(doc.graph);
  const { reid } = await buildModel(analysis);
  try {
    const plan = planLoad(analysis.layers, rsbCheckpoint(model), { keepClassifier: true });
    expect(plan.report.missing.map((m) => m.key)).toEqual([]);
    expect(plan.report.mismatched.map((m) => m.key)).toEqual([]);
    setWeightsFromValues(reid, analysis.layers, plan.values);
    const [n, c, h, w] = FEATURES.input as [number, number, number, number];
    const x = new Float32Array(n * h * w * c); // NHWC, from the NCHW formula
    for (let b = 0; b < n; b++)
      for (let ch = 0; ch < c; ch++)
        for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) x[((b * h + y) * w + z) * c + ch] = Math.sin(0.05 * (((b * c + ch) * h + y) * w + z) + 1.3);
    const t = tf.tensor4d(x, [n, h, w, c]);
    const f = forwardEval(reid, t);
    const out = (await f.data()) as Float32Array;
    tf.dispose([t, f]);
    return out;
  } finally {
    disposeModel(reid);
  }
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe("the IBN-a trick on RSB's plain ResNet-50 equals RSB's resnet50_ibn_a (its own code)", () => {
  it('keys and shapes: the trick gives resnet_ibn_a.py\'s state dict (its unused base.fc aside), undoing it resnet.py\'s', () => {
    const rsbIbn = Object.fromEntries(Object.entries(RSB_KEYS.resnet50_ibn_a!).filter(([k]) => !k.startsWith('base.fc.')));
    const trick = applyCommand(plainRsb(), applyIbnPlacement());
    expect(graphKeys(trick)).toEqual(rsbIbn);
    expect(graphKeys(applyCommand(trick, swapNorm('backbone', 'bn')))).toEqual(RSB_KEYS.resnet50);
    // The settings toggle and the paper placement leave a graph the analyzer finds nothing wrong with.
    expect(analyze(trick.graph).diagnostics).toEqual([]);
  });

  it('features within 1e-4 · max|ref| of RSB\'s Baseline, with and without the trick; the old no-ReLU stem is visibly off', async () => {
    const trick = applyCommand(plainRsb(), applyIbnPlacement());
    const want = refFeatures('resnet50_ibn_a');
    const got = await features(trick, 'resnet50_ibn_a');
    const { diff, ref } = maxDiff(got, want);
    console.log(`IBN-a trick vs RSB resnet50_ibn_a: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
    expect(ref).toBeGreaterThan(1);
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);

    const undone = await features(applyCommand(trick, swapNorm('backbone', 'bn')), 'resnet50');
    const plain = maxDiff(undone, refFeatures('resnet50'));
    expect(plain.diff).toBeLessThanOrEqual(1e-4 * plain.ref);

    // What the trick gave before (RSB's plain stem kept under IBN-a stages): RSB's model with the stem ReLU
    // removed, 1e-2 of max|ref| away from RSB's resnet50_ibn_a — the stem is visible in these features.
    const old = applyCommand(trick, setParams(['stem'], { relu: false }));
    expect(analyze(old.graph).diagnostics.map((d) => d.code)).toEqual(['W_STEM_MISMATCH']);
    const oldFeat = await features(old, 'resnet50_ibn_a');
    expect(maxDiff(oldFeat, want).diff).toBeGreaterThan(3e-3 * ref);
    const noRelu = maxDiff(oldFeat, refFeatures('resnet50_ibn_a_no_stem_relu'));
    expect(noRelu.diff).toBeLessThanOrEqual(1e-4 * noRelu.ref);
  }, 120_000);
});
