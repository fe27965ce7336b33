/**
 * The re-ID losses as ONNX operators, for the one-program training step (step-program.ts): the same
 * terms, in the same float32 formulas, as the tfjs losses the other engines use (main/training/losses/,
 * ported from reid-strong-baseline `layers/` and fast-reid `fastreid/modeling/losses/`):
 *  - CE with label smoothing (RSB CrossEntropyLabelSmooth): mean_i −Σ_k ((1−ε)·onehot + ε/K)·log_softmax;
 *    log_softmax = x − max − log Σ exp(x − max), the max detached (it cancels);
 *  - triplet (fast-reid TripletLoss): optional L2 normalisation, RSB euclidean_dist
 *    sqrt(max(‖a‖² + ‖b‖² − 2a·b, 1e-12)), batch-hard mining (farthest positive, nearest negative: Where
 *    with ∓1e12 fillers, ReduceMax / ReduceMin) or softmax-weighted mining, hinge [d_ap − d_an + m]₊ or
 *    soft margin softplus(d_ap − d_an) (written relu(x) + log(1 + exp(−|x|)), the stable form);
 *  - center loss (RSB CenterLoss): Σ_i ‖f_i − c_{y_i}‖² / N with the centers selected by a one-hot MatMul;
 *  - the margin classification layers (fast-reid any_softmax.py as EmbeddingHead applies them; the tfjs
 *    port is main/training/losses/fastreid.ts clsOutputs): cos = normalize(f)·normalize(W) of the
 *    classifier's input and weight, then CosSoftmax s·(cos − m·onehot), ArcSoftmax s·cos(acos(cos) + m·onehot),
 *    CircleSoftmax s·(α_p(cos − (1 − m))·onehot + α_n(cos − m)·(1 − onehot)) with α_p = [1 + m − cos]₊,
 *    α_n = [cos + m]₊ on a detached cos; CE and the accuracy read these logits;
 *  - the ID accuracy: mean(argmax(logits) == label), argmax taking the first of tied maxima (torch.argmax,
 *    tf.argMax), written without ArgMax's int64 output (the WebGPU EP cannot cast int64: a CPU fallback).
 * Labels enter as float32 class indices [N] (exact up to 2²⁴ classes); the one-hot and the positive mask are
 * built in the graph (Equal), so only N numbers cross per step.
 */
import type { OnnxInitializer, OnnxValueInfo } from './onnx.js';
import { Emitter, int, ints } from './grad/emitter.js';

/** fast-reid MODEL.HEADS.CLS_LAYER / SCALE / MARGIN (fastreid/layers/any_softmax.py). */
export interface StepClassifierSpec {
  layer: 'Linear' | 'CircleSoftmax' | 'ArcSoftmax' | 'CosSoftmax';
  scale: number;
  margin: number;
}

export interface StepLossSpec {
  numClasses: number;
  /** How the CE term's logits are formed (absent or 'Linear': the model's logits). */
  classifier?: StepClassifierSpec;
  /** CE's label-smoothing ε (0 = plain CE), or null when there is no CE term; `ceWeight` its factor in the total. */
  ceEpsilon: number | null;
  ceWeight: number;
  triplet: { margin: number; soft: boolean; hardMining: boolean; normFeat: boolean; weight: number } | null;
  /** Center-loss weight β in the total, or null when there is no center term. */
  centerWeight: number | null;
}

export interface LossGraph {
  /** Scalar outputs by term id (`ce`, `triplet`, `center`) plus `total` and `acc`. */
  outputs: Record<string, string>;
  /** Tensors that pass no gradient (the log-softmax max). */
  detached: Set<string>;
  inputs: OnnxValueInfo[];
}

export const LABELS_INPUT = 'labels';
export const CENTERS_INPUT = 'center_loss.centers';

/**
 * One loss head: the forward tensors its terms read and their factors (core/compile/keras.ts `roles.heads`;
 * fast-reid MGN `losses()`: 0.125 on each CE, 0.2 on each triplet). A one-head model is one head with
 * factors 1.
 */
export interface LossHeadTensors {
  /** Logits [N, K] (absent: no CE term for this head). */
  logits?: string;
  /** Metric-loss feature [N, D] (absent: no triplet term for this head). */
  feat?: string;
  featDim?: number;
  /** A margin classification layer's input [N, D'] and weight [D', K] (the Gemm that computes `logits`). */
  cls?: { feat: string; kernel: string };
  ceFactor: number;
  tripletFactor: number;
}

/**
 * Emits the loss of `spec` on the heads' forward tensors into `e`, as the tfjs engines sum them
 * (main/training/engine/multi-head.ts; fast-reid MGN `losses()`):
 *   total = ceWeight · Σ_h ceFactor_h · CE(logits_h) + tripletWeight · Σ_h tripletFactor_h · triplet(feat_h) [+ β · center(feat_0)]
 * The `ce` / `triplet` outputs are the factor-weighted sums; `acc` reads the first head with logits (after
 * its margin layer), as the tfjs multi-head step does. A margin classification layer (`spec.classifier`)
 * needs each CE head's `cls`. The center loss takes one head (RSB has one feature; fast-reid none). Throws
 * when a head lacks what its term needs.
 */
export function emitLoss(e: Emitter, spec: StepLossSpec, n: number, heads: LossHeadTensors[]): LossGraph {
  const K = spec.numClasses;
  const inputs: OnnxValueInfo[] = [{ name: LABELS_INPUT, shape: [n] }];
  const detached = new Set<string>();
  const outputs: Record<string, string> = {};
  const castF = (t: string) => e.one('Cast', [t], [int('to', 1)]);
  const labelCol = e.reshape(LABELS_INPUT, [n, 1]);
  const classes = e.tensor('classes', [1, K], Float32Array.from({ length: K }, (_, i) => i));
  const onehot = castF(e.one('Equal', [labelCol, classes]));
  const terms: [string, number][] = [];
  const rowSum = (t: string, keep = true) => e.reduceSum(t, [1], keep);
  const rowMax = (t: string) => e.one('ReduceMax', [t], [ints('axes', [1]), int('keepdims', 1)]);
  const scalarMean = (t: string) => e.one('ReduceMean', [t], [int('keepdims', 0)]);
  const scaled = (t: string, f: number) => (f === 1 ? t : e.one('Mul', [t, e.f32(f)]));
  const posB = spec.triplet ? e.one('Equal', [labelCol, e.reshape(LABELS_INPUT, [1, n])]) : '';

  const margin = spec.classifier && spec.classifier.layer !== 'Linear' && spec.ceEpsilon !== null ? spec.classifier : undefined;
  /** The head's CE logits: the model's, or its margin layer's. */
  const ceLogits = (h: LossHeadTensors): string => {
    if (!margin) return h.logits!;
    if (!h.cls) throw new Error(`the ${margin.layer} classification layer needs the classifier's input and weight`);
    return marginLogits(e, margin, h.cls.feat, h.cls.kernel, onehot, detached);
  };
  const ceTerm = (logits: string, eps: number): string => {
    const m = rowMax(logits);
    detached.add(m);
    const shifted = e.one('Sub', [logits, m]);
    const logp = e.one('Sub', [shifted, e.one('Log', [rowSum(e.one('Exp', [shifted]))])]);
    const target = eps ? e.one('Add', [e.one('Mul', [onehot, e.f32(1 - eps)]), e.f32(eps / K)]) : onehot;
    return scalarMean(e.one('Neg', [rowSum(e.one('Mul', [target, logp]), false)]));
  };
  const tripletTerm = (t: NonNullable<StepLossSpec['triplet']>, feat: string): string => {
    const l2 = (x: string) => e.one('Div', [x, e.one('Max', [e.one('Sqrt', [rowSum(e.one('Mul', [x, x]))]), e.f32(1e-12)])]);
    const f = t.normFeat ? l2(feat) : feat;
    const xx = rowSum(e.one('Mul', [f, f]));
    const gram = e.one('MatMul', [f, e.transpose(f, [1, 0])]);
    const sq = e.one('Sub', [e.one('Add', [xx, e.transpose(xx, [1, 0])]), e.one('Mul', [gram, e.f32(2)])]);
    const dist = e.one('Sqrt', [e.one('Max', [sq, e.f32(1e-12)])]);
    let dAp: string;
    let dAn: string;
    if (t.hardMining) {
      dAp = e.one('ReduceMax', [e.one('Where', [posB, dist, e.f32(-1e12)])], [ints('axes', [1]), int('keepdims', 0)]);
      dAn = e.one('ReduceMin', [e.one('Where', [posB, e.f32(1e12), dist])], [ints('axes', [1]), int('keepdims', 0)]);
    } else {
      const pos = castF(posB);
      const neg = e.one('Sub', [e.f32(1), pos]);
      // fast-reid softmax_weights: exp(d − max(d·mask))·mask / (Σ exp(d − max)·mask + 1e-6), row-wise.
      const weights = (d: string, mask: string) => {
        const ex = e.one('Mul', [e.one('Exp', [e.one('Sub', [d, rowMax(e.one('Mul', [d, mask]))])]), mask]);
        return e.one('Div', [ex, e.one('Add', [rowSum(ex), e.f32(1e-6)])]);
      };
      const ap = e.one('Mul', [dist, pos]);
      const an = e.one('Mul', [dist, neg]);
      dAp = rowSum(e.one('Mul', [ap, weights(ap, pos)]), false);
      dAn = rowSum(e.one('Mul', [an, weights(e.one('Neg', [an]), neg)]), false);
    }
    const diff = e.one('Sub', [dAp, dAn]);
    const per = t.soft
      ? e.one('Add', [e.one('Relu', [diff]), e.one('Log', [e.one('Add', [e.f32(1), e.one('Exp', [e.one('Neg', [e.one('Abs', [diff])])])])])])
      : e.one('Relu', [e.one('Add', [diff, e.f32(t.margin)])]);
    return scalarMean(per);
  };

  const ces: string[] = [];
  const tris: string[] = [];
  for (const h of heads) {
    if (h.logits === undefined) continue;
    const logits = spec.ceEpsilon !== null ? ceLogits(h) : h.logits;
    if (spec.ceEpsilon !== null) ces.push(scaled(ceTerm(logits, spec.ceEpsilon), h.ceFactor));
    outputs.acc ??= accuracy(e, logits, onehot, labelCol, classes, rowSum, rowMax);
  }
  if (!outputs.acc) throw new Error('the loss needs a head with logits (the ID accuracy reads them)');
  if (ces.length) {
    outputs.ce = e.addAll(ces);
    terms.push([outputs.ce, spec.ceWeight]);
  }
  if (spec.triplet) {
    for (const h of heads) if (h.feat !== undefined) tris.push(scaled(tripletTerm(spec.triplet, h.feat), h.tripletFactor));
    if (tris.length) {
      outputs.triplet = e.addAll(tris);
      terms.push([outputs.triplet, spec.triplet.weight]);
    }
  }
  if (spec.centerWeight !== null) {
    const withFeat = heads.filter((h) => h.feat !== undefined);
    if (withFeat.length !== 1) throw new Error(`the center loss takes one feature; the model has ${withFeat.length} loss heads with one`);
    const [feat, featDim] = [withFeat[0]!.feat!, withFeat[0]!.featDim!];
    inputs.push({ name: CENTERS_INPUT, shape: [K, featDim] });
    const d = e.one('Sub', [feat, e.one('MatMul', [onehot, CENTERS_INPUT])]);
    outputs.center = e.one('Div', [e.one('ReduceSum', [e.one('Mul', [d, d])], [int('keepdims', 0)]), e.f32(n)]);
    terms.push([outputs.center, spec.centerWeight]);
  }
  if (!terms.length) throw new Error('no head has logits or a feature the loss can use');
  outputs.total = e.addAll(terms.map(([t, w]) => scaled(t, w)));
  return { outputs, detached, inputs };
}

/** The margin layer's logits [N, K] (fast-reid any_softmax.py; clsOutputs in main/training/losses/fastreid.ts). */
function marginLogits(e: Emitter, c: StepClassifierSpec, feat: string, kernel: string, onehot: string, detached: Set<string>): string {
  const norm = (x: string, axis: number) => e.one('Div', [x, e.one('Max', [e.one('Sqrt', [e.reduceSum(e.one('Mul', [x, x]), [axis], true)]), e.f32(1e-12)])]);
  const cos = e.one('MatMul', [norm(feat, 1), norm(kernel, 0)]);
  const { scale: s, margin: m } = c;
  let logits: string;
  if (c.layer === 'CosSoftmax') logits = e.one('Sub', [cos, e.one('Mul', [onehot, e.f32(m)])]);
  else if (c.layer === 'ArcSoftmax') logits = e.one('Cos', [e.one('Add', [e.one('Acos', [cos]), e.one('Mul', [onehot, e.f32(m)])])]);
  else {
    const d = e.one('Identity', [cos]);
    detached.add(d);
    const alphaP = e.one('Relu', [e.one('Add', [e.one('Neg', [d]), e.f32(1 + m)])]);
    const alphaN = e.one('Relu', [e.one('Add', [d, e.f32(m)])]);
    const p = e.one('Mul', [e.one('Mul', [alphaP, e.one('Sub', [cos, e.f32(1 - m)])]), onehot]);
    const q = e.one('Mul', [e.one('Mul', [alphaN, e.one('Sub', [cos, e.f32(m)])]), e.one('Sub', [e.f32(1), onehot])]);
    logits = e.one('Add', [p, q]);
  }
  return e.one('Mul', [logits, e.f32(s)]);
}

/**
 * mean_i [argmax_k logits_ik == y_i] with the first maximum winning, in float32 and booleans only: the
 * label's logit t_i is the argmax iff t_i ≥ max_k logits_ik and t_i > max_{k < y_i} logits_ik (the lowest
 * float32 where no class precedes the label). Exact: both sides are logits, no arithmetic on them.
 */
function accuracy(e: Emitter, logits: string, onehot: string, labelCol: string, classes: string, rowSum: (t: string) => string, rowMax: (t: string) => string): string {
  const castF = (t: string) => e.one('Cast', [t], [int('to', 1)]);
  const t = rowSum(e.one('Mul', [logits, onehot]));
  const before = rowMax(e.one('Where', [e.one('Less', [classes, labelCol]), logits, e.f32(-3.4028234663852886e38)]));
  const top = e.one('Mul', [castF(e.one('GreaterOrEqual', [t, rowMax(logits)])), castF(e.one('Greater', [t, before]))]);
  return e.one('ReduceMean', [top], [int('keepdims', 0)]);
}

export type { OnnxInitializer };
