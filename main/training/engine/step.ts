/**
 * One optimisation step over a P×K batch, exact over the whole batch even when it is split into
 * micro-batches (issue: the wasm heap holds 4 resnet50 images at 256×128, RSB trains with 64):
 *  1. forward every micro-batch in training mode (BatchNorm uses and updates per-micro-batch statistics —
 *     the one accepted deviation from PyTorch, shown in the UI);
 *  2. evaluate the loss on the concatenated logits / features — batch-hard mining sees all P×K samples —
 *     and take its gradient with respect to the logits, the features and the center-loss centers;
 *  3. re-run each micro-batch under a tape and back-propagate its slice of those gradients
 *     (d/dθ Σ(logits·g_logits + feat·g_feat) = ∂L/∂θ by the chain rule), summing parameter gradients.
 * The re-run sees the same inputs and so the same batch statistics; the running statistics it would update
 * a second time are restored to their values after pass 1.
 */
import * as tf from '@tensorflow/tfjs';
import { classifierKernel, forwardTrain, type ReidModel } from '../../tfjs/index.js';
import { LOSS_TERM_IDS, LOSS_TERMS, type LossTermValues } from '../../../core/training/losses.js';
import type { LossTerms, ReidLoss } from '../losses/index.js';

/** One step's total loss, its unweighted terms (core/training/losses.ts) and the ID accuracy (fraction). */
export type StepResult = { loss: number; acc: number } & LossTermValues;

let tapeIds = 0;

export class NonFiniteLossError extends Error {
  constructor(
    public term: string,
    public value: number,
  ) {
    super(`the ${term} loss became ${value}`);
  }
}

async function scalars(terms: Record<string, tf.Scalar | undefined>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(terms)) if (v) out[k] = (await v.data())[0]!;
  return out;
}

export function checkFinite(values: Record<string, number>): void {
  for (const { id, name } of [...LOSS_TERMS, { id: 'total', name: 'total' }]) {
    const v = values[id];
    if (v !== undefined && !Number.isFinite(v)) throw new NonFiniteLossError(name, v);
  }
}

/** The step's term tensors, kept past the enclosing tape (the caller disposes them). */
function keepTerms(t: LossTerms): LossTermValues<tf.Scalar> {
  const out: LossTermValues<tf.Scalar> = {};
  for (const id of LOSS_TERM_IDS) {
    const v = t[id];
    if (v) out[id] = tf.keep(v);
  }
  return out;
}

function stepResult(values: Record<string, number>, acc: number): StepResult {
  const result: StepResult = { loss: values.total!, acc };
  for (const id of LOSS_TERM_IDS) {
    const v = values[id];
    if (v !== undefined) result[id] = v;
  }
  return result;
}

/** The classifier weight a margin classification layer reads; refused when its input is not the neck (eval) feature. */
function marginClassifierKernel(reid: ReidModel): tf.Variable {
  const { kernel, inputIsEvalFeature } = classifierKernel(reid);
  if (!inputIsEvalFeature)
    throw new Error("a margin classification layer (CircleSoftmax, ArcSoftmax, CosSoftmax) takes the eval feature as input, as fast-reid's EmbeddingHead does; this graph's classifier reads another feature");
  return kernel;
}

async function accuracy(logits: tf.Tensor2D, labels: Int32Array): Promise<number> {
  const pred = tf.tidy(() => logits.argMax(1));
  const p = (await pred.data()) as Int32Array;
  pred.dispose();
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (p[i] === labels[i]) ok++;
  return ok / labels.length;
}

/**
 * Computes gradients for one batch; returns them keyed by variable name (model variables and the
 * center-loss centers), plus the loss values. The caller applies them and disposes the gradients.
 */
export interface LossGradients {
  /** ∂L/∂logits and ∂L/∂feature, [batch, D] each. */
  gLogits: tf.Tensor;
  gFeats: tf.Tensor;
  /** ∂L/∂(loss variables, e.g. the center-loss centers), by variable name. */
  lossGrads: Record<string, tf.Tensor>;
  result: StepResult;
}

/**
 * The loss on the whole batch's logits and features (variables holding them) and its gradient with
 * respect to them and to the loss's own variables. Throws NonFiniteLossError (nothing left allocated).
 * Plain logits only (no margin classification layer): the onnxruntime engine's loss step.
 */
export async function lossGradients(loss: ReidLoss, logitsAll: tf.Variable, featsAll: tf.Variable, labels: Int32Array): Promise<LossGradients> {
  let terms: LossTermValues<tf.Scalar> = {};
  const { grads, value } = tf.variableGrads(() => {
    const t = loss.compute({ logits: logitsAll as tf.Tensor2D, feat: featsAll as tf.Tensor2D, labels });
    terms = keepTerms(t);
    return t.total;
  }, [logitsAll, featsAll, ...loss.extraVariables()]);
  const values = await scalars({ ...terms, total: value });
  Object.values(terms).forEach((t) => t?.dispose());
  value.dispose();
  const acc = await accuracy(logitsAll as tf.Tensor2D, labels);
  try {
    checkFinite(values);
  } catch (e) {
    Object.values(grads).forEach((g) => g.dispose());
    throw e;
  }
  const { [logitsAll.name]: gLogits, [featsAll.name]: gFeats, ...lossGrads } = grads;
  return { gLogits: gLogits!, gFeats: gFeats!, lossGrads, result: stepResult(values, acc) };
}

/**
 * [start, end) image ranges of at most `microBatch` images, as equal as possible (16 by 5 → 4 × 4, not
 * 5+5+5+1): a one-image tail would give BNNeck's BatchNorm one value per channel, which training-mode
 * BatchNorm refuses (as PyTorch's BatchNorm1d does).
 */
export function microBatchSlices(n: number, microBatch: number): [number, number][] {
  const count = Math.ceil(n / Math.max(1, microBatch));
  const slices: [number, number][] = [];
  for (let i = 0, start = 0; i < count; i++) {
    const size = Math.floor(n / count) + (i < n % count ? 1 : 0);
    slices.push([start, start + size]);
    start += size;
  }
  return slices;
}

/** One step's gradients (keyed by variable name) and result: computeGradients, multi-head.ts computeHeadGradients. */
export type GradientStep = (
  reid: ReidModel,
  loss: ReidLoss,
  vars: tf.Variable[],
  images: Float32Array,
  labels: Int32Array,
  microBatch: number,
) => Promise<{ grads: Record<string, tf.Tensor>; result: StepResult }>;

export const computeGradients: GradientStep = async (reid, loss, vars, images, labels, microBatch) => {
  const n = labels.length;
  const [h, w, c] = reid.metadata.inputShape as [number, number, number];
  const per = h * w * c;
  const allVars = [...vars, ...loss.extraVariables()];
  // A margin classification layer (fast-reid CircleSoftmax & co.) forms the CE logits from the neck feature and
  // the classifier weight itself, so the step also needs that feature and differentiates the loss w.r.t. the weight.
  const kernel = loss.usesMarginClassifier ? marginClassifierKernel(reid) : undefined;
  if (microBatch >= n) {
    const x = tf.tensor4d(images, [n, h, w, c]);
    let terms: LossTermValues<tf.Scalar> = {};
    let logitsKept: tf.Tensor2D | undefined;
    const { grads, value } = tf.variableGrads(() => {
      const out = forwardTrain(reid, x, !!kernel);
      const t = loss.compute({ logits: out.logits, feat: out.feature, labels, ...(kernel ? { clsFeat: out.evalFeature!, clsKernel: kernel as tf.Tensor2D } : {}) });
      terms = keepTerms(t);
      logitsKept = tf.keep(t.clsLogits ?? out.logits);
      return t.total;
    }, allVars);
    x.dispose();
    const values = await scalars({ ...terms, total: value });
    Object.values(terms).forEach((t) => t?.dispose());
    value.dispose();
    checkFinite(values);
    const acc = await accuracy(logitsKept!, labels);
    logitsKept!.dispose();
    return { grads, result: stepResult(values, acc) };
  }

  // Pass 1: features of every micro-batch (no tape).
  const slices = microBatchSlices(n, microBatch);
  const logitParts: tf.Tensor2D[] = [];
  const featParts: tf.Tensor2D[] = [];
  const clsParts: tf.Tensor2D[] = [];
  for (const [a, b] of slices) {
    const x = tf.tensor4d(images.subarray(a * per, b * per), [b - a, h, w, c]);
    const out = forwardTrain(reid, x, !!kernel);
    x.dispose();
    logitParts.push(out.logits);
    featParts.push(out.feature);
    if (out.evalFeature) clsParts.push(out.evalFeature);
  }
  const statVars = reid.model.nonTrainableWeights.map((v) => v.read() as tf.Variable);
  const statSnapshot = statVars.map((v) => tf.keep(v.clone()));
  const id = ++tapeIds;
  const catLogits = tf.concat(logitParts, 0);
  const catFeats = tf.concat(featParts, 0);
  const logitsAll = tf.variable(catLogits, true, `__step_logits_${id}`);
  const featsAll = tf.variable(catFeats, true, `__step_feats_${id}`);
  const catCls = clsParts.length ? tf.concat(clsParts, 0) : undefined;
  const clsAll = catCls ? tf.variable(catCls, true, `__step_cls_${id}`) : undefined;
  [...logitParts, ...featParts, ...clsParts, catLogits, catFeats, ...(catCls ? [catCls] : [])].forEach((t) => t.dispose());

  // Loss on the whole batch; gradient w.r.t. logits, features (and the neck feature and classifier weight of a
  // margin classifier) and centers.
  let terms: LossTermValues<tf.Scalar> = {};
  let accLogits: tf.Tensor2D | undefined;
  const { grads: lossGrads, value } = tf.variableGrads(() => {
    const t = loss.compute({ logits: logitsAll, feat: featsAll, labels, ...(kernel && clsAll ? { clsFeat: clsAll as tf.Tensor2D, clsKernel: kernel as tf.Tensor2D } : {}) });
    terms = keepTerms(t);
    if (t.clsLogits) accLogits = tf.keep(t.clsLogits);
    return t.total;
  }, [logitsAll, featsAll, ...(clsAll ? [clsAll] : []), ...(kernel ? [kernel] : []), ...loss.extraVariables()]);
  const values = await scalars({ ...terms, total: value });
  Object.values(terms).forEach((t) => t?.dispose());
  value.dispose();
  const acc = await accuracy(accLogits ?? logitsAll, labels);
  accLogits?.dispose();
  const disposeOutputs = () => [logitsAll, featsAll, ...(clsAll ? [clsAll] : [])].forEach((t) => t.dispose());
  try {
    checkFinite(values);
  } catch (e) {
    Object.values(lossGrads).forEach((g) => g.dispose());
    disposeOutputs();
    statSnapshot.forEach((s) => s.dispose());
    throw e;
  }
  const gLogits = lossGrads[logitsAll.name];
  const gFeats = lossGrads[featsAll.name];
  const gCls = clsAll ? lossGrads[clsAll.name] : undefined;

  // Pass 2: back-propagate each micro-batch's slice of the feature/logit gradients.
  const sums: Record<string, tf.Tensor> = {};
  for (const [a, b] of slices) {
    const x = tf.tensor4d(images.subarray(a * per, b * per), [b - a, h, w, c]);
    const slice = (g: tf.Tensor | undefined) => g?.slice([a, 0], [b - a, -1]);
    const gl = slice(gLogits);
    const gf = slice(gFeats);
    const gc = slice(gCls);
    const { grads, value: v } = tf.variableGrads(() => {
      const out = forwardTrain(reid, x, !!gc);
      const parts: tf.Scalar[] = [];
      if (gl) parts.push(tf.sum(tf.mul(out.logits, gl)));
      if (gf) parts.push(tf.sum(tf.mul(out.feature, gf)));
      if (gc) parts.push(tf.sum(tf.mul(out.evalFeature!, gc)));
      return tf.addN(parts) as tf.Scalar;
    }, vars);
    v.dispose();
    x.dispose();
    [gl, gf, gc].forEach((g) => g?.dispose());
    for (const [name, g] of Object.entries(grads)) {
      const prev = sums[name];
      sums[name] = prev ? tf.add(prev, g) : g;
      if (prev) {
        prev.dispose();
        g.dispose();
      }
    }
  }
  statVars.forEach((v, i) => v.assign(statSnapshot[i]!));
  statSnapshot.forEach((s) => s.dispose());
  for (const x of loss.extraVariables()) {
    const g = lossGrads[x.name];
    if (g) sums[x.name] = g;
  }
  // The margin classifier's direct gradient on its weight adds to what flowed back through the logits.
  const gKernel = kernel ? lossGrads[kernel.name] : undefined;
  if (kernel && gKernel) {
    const prev = sums[kernel.name];
    sums[kernel.name] = prev ? tf.add(prev, gKernel) : gKernel;
    if (prev) {
      prev.dispose();
      gKernel.dispose();
    }
  }
  [gLogits, gFeats, gCls].forEach((g) => g?.dispose());
  disposeOutputs();
  return { grads: sums, result: stepResult(values, acc) };
};
