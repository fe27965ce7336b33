import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLS_LAYERS, defaultTrainingSettings, type ClsLayer } from '../../core/training/settings.js';
import { clsOutputs, crossEntropyLabelSmooth, planLoss, ReidLoss, tripletLoss, type TripletConfig } from '../../main/training/losses/index.js';
import { runPython, testRandom } from './python.js';

/**
 * fast-reid's margin classification layers (CircleSoftmax, ArcSoftmax, CosSoftmax, Linear) and its triplet
 * variants (soft margin, weighted mining, NORM_FEAT) against a PyTorch port of fastreid/layers/any_softmax.py,
 * heads/embedding_head.py and losses/triplet_loss.py (test/training/ref_fastreid_heads.py): logits, loss and
 * gradients on a fixed P×K batch.
 */

const P = 3, K = 4, N = P * K, C = 5, D = 6;
const r = testRandom(7);
const labels = Array.from({ length: N }, (_, i) => [4, 0, 2][Math.floor(i / K)]!);
const mean = Array.from({ length: C }, () => Array.from({ length: D }, () => (r() - 0.5) * 2));
const feat = labels.map((l) => mean[l]!.map((m) => m + (r() - 0.5) * 0.8));
const triFeat = labels.map((l) => mean[l]!.map((m) => (m + (r() - 0.5) * 1.2) * 0.5));
// fast-reid layout: heads.weight is num_classes × dim; the app's Keras kernel is its transpose.
const weight = Array.from({ length: C }, (_, c) => mean[c]!.map((m) => m * 0.7 + (r() - 0.5) * 0.5));

const CLS = [
  { layer: 'Linear' as ClsLayer, scale: 1, margin: 0 },
  { layer: 'CircleSoftmax' as ClsLayer, scale: 64, margin: 0.35 },
  { layer: 'CircleSoftmax' as ClsLayer, scale: 16, margin: 0.25 },
  { layer: 'ArcSoftmax' as ClsLayer, scale: 30, margin: 0.5 },
  { layer: 'CosSoftmax' as ClsLayer, scale: 30, margin: 0.35 },
];
const TRI = [
  { margin: 0.3, hard_mining: true, norm_feat: false },
  { margin: 0, hard_mining: true, norm_feat: false }, // SBS: soft margin
  { margin: 0, hard_mining: false, norm_feat: false }, // AGW: weighted regularised triplet
  { margin: 0.3, hard_mining: false, norm_feat: true },
  { margin: 0.5, hard_mining: true, norm_feat: true },
];

interface Ref {
  cls: { logits: number[][]; ce: number; grad_feat: number[][]; grad_weight: number[][] }[];
  tri: { loss: number; grad: number[][] }[];
}
const ref = runPython<Ref>('ref_fastreid_heads.py', { feat, weight, labels, tri_feat: triFeat, cls: CLS, tri: TRI });
const transpose = (m: number[][]) => m[0]!.map((_, j) => m.map((row) => row[j]!));

function close(actual: ArrayLike<number>, expected: number[][] | number, tol: number): void {
  const e = typeof expected === 'number' ? [expected] : expected.flat();
  expect(actual.length).toBe(e.length);
  const scale = Math.max(1, ...e.map(Math.abs));
  for (let i = 0; i < e.length; i++) expect(Math.abs(actual[i]! - e[i]!), `entry ${i}: ${actual[i]} vs ${e[i]}`).toBeLessThanOrEqual(tol * scale);
}

describe.each(['cpu', 'wasm'])('fast-reid heads and triplet loss vs PyTorch (%s backend)', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });

  it('every CLS_LAYER is covered', () => {
    expect(new Set(CLS.map((c) => c.layer))).toEqual(new Set(CLS_LAYERS));
  });

  CLS.forEach((cfg, i) => {
    it(`${cfg.layer} (s=${cfg.scale}, m=${cfg.margin}): logits, CE and gradients`, () => {
      const f = tf.tensor2d(feat);
      const w = tf.tensor2d(transpose(weight));
      const y = tf.tensor1d(labels, 'int32');
      const logits = clsOutputs(cfg, f, w, y);
      close(logits.dataSync(), ref.cls[i]!.logits, 2e-5);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => crossEntropyLabelSmooth(clsOutputs(cfg, a as tf.Tensor2D, b as tf.Tensor2D, y), y, 0));
      const [gf, gw] = g([f, w]);
      close(crossEntropyLabelSmooth(logits, y, 0).dataSync(), ref.cls[i]!.ce, 2e-5);
      close(gf!.dataSync(), ref.cls[i]!.grad_feat, 2e-5);
      close(gw!.dataSync(), transpose(ref.cls[i]!.grad_weight), 2e-5);
      tf.dispose([f, w, y, logits, gf!, gw!]);
    });
  });

  TRI.forEach((t, i) => {
    const cfg: TripletConfig = { margin: t.margin, soft: t.margin === 0, hardMining: t.hard_mining, normFeat: t.norm_feat };
    it(`triplet ${JSON.stringify(t)}: loss and gradient`, () => {
      const f = tf.tensor2d(triFeat);
      const grad = tf.grad((x: tf.Tensor) => tripletLoss(x as tf.Tensor2D, labels, cfg))(f);
      close(tripletLoss(f, labels, cfg).dataSync(), ref.tri[i]!.loss, 1e-5);
      close(grad.dataSync(), ref.tri[i]!.grad, 1e-5);
      tf.dispose([f, grad]);
    });
  });

  it("the loss plan wires SBS's CircleSoftmax + soft-margin triplet (ReidLoss.compute)", () => {
    const s = defaultTrainingSettings();
    const settings = {
      ...s,
      sampler: 'softmax_triplet' as const,
      batch: { p: P, k: K },
      loss: { ...s.loss, metric: 'triplet' as const, labelSmooth: false, margin: 0, softMargin: true },
      classifier: { layer: 'CircleSoftmax' as const, scale: 64, margin: 0.35 },
    };
    expect(planLoss(settings).describe).toBe('CircleSoftmax(s=64, m=0.35) CE + triplet(soft margin)');
    const loss = new ReidLoss(settings, C, D);
    const t = loss.compute({ feat: tf.tensor2d(triFeat), clsFeat: tf.tensor2d(feat), clsKernel: tf.tensor2d(transpose(weight)), labels: Int32Array.from(labels) });
    close(t.ce!.dataSync(), ref.cls[1]!.ce, 2e-5);
    close(t.triplet!.dataSync(), ref.tri[1]!.loss, 1e-5);
    close(t.total.dataSync(), ref.cls[1]!.ce + ref.tri[1]!.loss, 2e-5);
    close(t.clsLogits!.dataSync(), ref.cls[1]!.logits, 2e-5);
    // Term weights (fast-reid CE.SCALE / TRI.SCALE) from the loss-term table scale each term in the total.
    const weighted = { ...settings, loss: { ...settings.loss, ceWeight: 2, tripletWeight: 0.5 } };
    expect(planLoss(weighted).describe).toBe('CircleSoftmax(s=64, m=0.35) 2·CE + 0.5·triplet(soft margin)');
    const w = new ReidLoss(weighted, C, D).compute({ feat: tf.tensor2d(triFeat), clsFeat: tf.tensor2d(feat), clsKernel: tf.tensor2d(transpose(weight)), labels: Int32Array.from(labels) });
    close(w.total.dataSync(), 2 * ref.cls[1]!.ce + 0.5 * ref.tri[1]!.loss, 2e-5);
    close(w.ce!.dataSync(), ref.cls[1]!.ce, 2e-5);
  });
});
