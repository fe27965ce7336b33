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
import { forwardTrain, type ReidModel } from '../../tfjs/index.js';
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

function checkFinite(values: Record<string, number>): void {
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

async function accuracy(logits: tf.Tensor2D, labels: Int32Array): Promise<number> {
  const pred = tf.tidy(() => logits.argMax(1));
  const p = (await pred.data()) as Int32Array;
  pred.dispose();
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (p[i] === labels[i]) ok++;
  return ok / labels.length;
}

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
 * Computes gradients for one batch; returns them keyed by variable name (model variables and the
 * center-loss centers), plus the loss values. The caller applies them and disposes the gradients.
 */
export async function computeGradients(
  reid: ReidModel,
  loss: ReidLoss,
  vars: tf.Variable[],
  images: Float32Array,
  labels: Int32Array,
  microBatch: number,
): Promise<{ grads: Record<string, tf.Tensor>; result: StepResult }> {
  const n = labels.length;
  const [h, w, c] = reid.metadata.inputShape as [number, number, number];
  const per = h * w * c;
  const allVars = [...vars, ...loss.extraVariables()];
  if (microBatch >= n) {
    const x = tf.tensor4d(images, [n, h, w, c]);
    let terms: LossTermValues<tf.Scalar> = {};
    let logitsKept: tf.Tensor2D | undefined;
    const { grads, value } = tf.variableGrads(() => {
      const out = forwardTrain(reid, x);
      const t = loss.compute({ logits: out.logits, feat: out.feature, labels });
      terms = keepTerms(t);
      logitsKept = tf.keep(out.logits);
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
  const slices: [number, number][] = [];
  for (let s = 0; s < n; s += microBatch) slices.push([s, Math.min(n, s + microBatch)]);
  const logitParts: tf.Tensor2D[] = [];
  const featParts: tf.Tensor2D[] = [];
  for (const [a, b] of slices) {
    const x = tf.tensor4d(images.subarray(a * per, b * per), [b - a, h, w, c]);
    const out = forwardTrain(reid, x);
    x.dispose();
    logitParts.push(out.logits);
    featParts.push(out.feature);
  }
  const statVars = reid.model.nonTrainableWeights.map((v) => v.read() as tf.Variable);
  const statSnapshot = statVars.map((v) => tf.keep(v.clone()));
  const id = ++tapeIds;
  const catLogits = tf.concat(logitParts, 0);
  const catFeats = tf.concat(featParts, 0);
  const logitsAll = tf.variable(catLogits, true, `__step_logits_${id}`);
  const featsAll = tf.variable(catFeats, true, `__step_feats_${id}`);
  [...logitParts, ...featParts, catLogits, catFeats].forEach((t) => t.dispose());

  let lg: LossGradients;
  try {
    lg = await lossGradients(loss, logitsAll, featsAll, labels);
  } catch (e) {
    logitsAll.dispose();
    featsAll.dispose();
    statSnapshot.forEach((s) => s.dispose());
    throw e;
  }
  const { gLogits, gFeats, lossGrads, result } = lg;

  // Pass 2: back-propagate each micro-batch's slice of the feature/logit gradients.
  const sums: Record<string, tf.Tensor> = {};
  for (const [a, b] of slices) {
    const x = tf.tensor4d(images.subarray(a * per, b * per), [b - a, h, w, c]);
    const gl = gLogits.slice([a, 0], [b - a, -1]);
    const gf = gFeats.slice([a, 0], [b - a, -1]);
    const { grads, value: v } = tf.variableGrads(() => {
      const out = forwardTrain(reid, x);
      return tf.add(tf.sum(tf.mul(out.logits, gl)), tf.sum(tf.mul(out.feature, gf))) as tf.Scalar;
    }, vars);
    v.dispose();
    x.dispose();
    gl.dispose();
    gf.dispose();
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
  Object.assign(sums, lossGrads);
  gLogits.dispose();
  gFeats.dispose();
  logitsAll.dispose();
  featsAll.dispose();
  return { grads: sums, result };
}
