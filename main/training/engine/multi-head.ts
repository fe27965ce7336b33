/**
 * The training step of a multi-head model (core/compile/keras.ts `roles.heads`; fast-reid's MGN,
 * fastreid/modeling/meta_arch/mgn.py `losses()`): every head's terms on the whole P×K batch, summed as MGN sums
 * its `loss_dict`:
 *   total = CE.SCALE · Σ_h ceFactor_h · CE(logits_h) + TRI.SCALE · Σ_h tripletFactor_h · triplet(feature_h)
 * (MGN: ceFactor 0.125 on each of its eight heads, tripletFactor 0.2 on b1, b2, b3 and the concatenated part
 * features). A margin classification layer (CircleSoftmax & co.) forms each head's CE logits from that head's
 * classifier input (its neck feature) and class weight, as each EmbeddingHead does. The step result's `ce` and
 * `triplet` are the factor-weighted sums (fast-reid logs them per head); the accuracy is the first head's
 * (MGN logs b1's). Center loss is refused (fast-reid has none).
 *
 * Micro-batches work as in step.ts: forward every slice, loss and its gradient on the concatenated outputs,
 * then each slice back-propagates Σ output · ∂L/∂output, the running statistics restored after the re-run.
 */
import * as tf from '@tensorflow/tfjs';
import { tfjsLayerName } from '../../../core/index.js';
import type { LossTermValues } from '../../../core/training/losses.js';
import { clsOutputs, crossEntropyLabelSmooth, tripletLoss, type ReidLoss } from '../losses/index.js';
import type { ReidModel } from '../../tfjs/index.js';
import { checkFinite, microBatchSlices, type GradientStep, type StepResult } from './step.js';

/** A head with the indices of its tensors in the training sub-model's outputs. */
interface Head {
  logits?: number;
  feature?: number;
  /** The classifier's input (margin classifiers) and its class weight. */
  clsFeat?: number;
  kernel?: tf.Variable;
  ceFactor: number;
  tripletFactor: number;
}

interface HeadModel {
  model: tf.LayersModel;
  heads: Head[];
}

const cache = new WeakMap<ReidModel, HeadModel>();

/** Whether the model trains with several loss heads. */
export function isMultiHead(reid: ReidModel): boolean {
  return !!reid.metadata.roles.heads?.length;
}

/** The training sub-model (outputs: every head's logits, features and classifier inputs) and its heads. */
function headModel(reid: ReidModel, margin: boolean): HeadModel {
  const cached = cache.get(reid);
  if (cached) return cached;
  const { roles } = reid.metadata;
  const list = [
    ...(roles.logits || roles.trainFeature ? [{ logits: roles.logits, feature: roles.trainFeature, ceFactor: 1, tripletFactor: 1 }] : []),
    ...(roles.heads ?? []),
  ];
  const names: string[] = [];
  const index = (name: string) => {
    const i = names.indexOf(name);
    if (i >= 0) return i;
    names.push(name);
    return names.length - 1;
  };
  const heads = list.map((h): Head => {
    const out: Head = { ceFactor: h.ceFactor, tripletFactor: h.tripletFactor };
    if (h.logits) {
      out.logits = index(h.logits);
      if (margin) {
        const layer = reid.model.getLayer(tfjsLayerName(h.logits));
        const inbound = (layer.inboundNodes[0]?.inboundLayers ?? []) as tf.layers.Layer[];
        if (inbound.length !== 1) throw new Error(`the classifier ${h.logits} has ${inbound.length} inputs; a margin classification layer needs one`);
        out.clsFeat = index(inbound[0]!.name);
        out.kernel = layer.weights[0]!.read() as tf.Variable;
      }
    }
    if (h.feature) out.feature = index(h.feature);
    return out;
  });
  const outputs = names.map((n) => reid.model.getLayer(tfjsLayerName(n)).output as tf.SymbolicTensor);
  const hm = { model: tf.model({ inputs: reid.model.inputs, outputs, name: `${reid.model.name}_heads` }), heads };
  cache.set(reid, hm);
  return hm;
}

function forward(hm: HeadModel, x: tf.Tensor4D): tf.Tensor2D[] {
  const outs = hm.model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[];
  return (Array.isArray(outs) ? outs : [outs]) as tf.Tensor2D[];
}

/** The summed loss of all heads on whole-batch outputs; `acc` gets the first CE head's logits (kept). */
function headsLoss(loss: ReidLoss, hm: HeadModel, outs: tf.Tensor2D[], labels: Int32Array, acc: { logits?: tf.Tensor2D }): { total: tf.Scalar } & LossTermValues<tf.Scalar> {
  const plan = loss.plan;
  const lab = tf.tensor1d(labels, 'int32');
  try {
    const ces: tf.Scalar[] = [];
    const tris: tf.Scalar[] = [];
    for (const h of hm.heads) {
      if (plan.ceEpsilon !== null && h.logits !== undefined) {
        const logits = h.kernel ? clsOutputs(plan.classifier, outs[h.clsFeat!]!, h.kernel as tf.Tensor as tf.Tensor2D, lab) : outs[h.logits]!;
        if (!acc.logits) acc.logits = tf.keep(logits.clone());
        ces.push(tf.mul(crossEntropyLabelSmooth(logits, lab, plan.ceEpsilon), h.ceFactor) as tf.Scalar);
      }
      if (plan.triplet && h.feature !== undefined) tris.push(tf.mul(tripletLoss(outs[h.feature]!, labels, plan.triplet), h.tripletFactor) as tf.Scalar);
    }
    const terms: LossTermValues<tf.Scalar> = {};
    const parts: tf.Scalar[] = [];
    const sum = (xs: tf.Scalar[]) => (xs.length === 1 ? xs[0]! : (tf.addN(xs) as tf.Scalar));
    if (ces.length) {
      terms.ce = tf.keep(sum(ces));
      parts.push(tf.mul(terms.ce, plan.weights.ce ?? 1) as tf.Scalar);
    }
    if (tris.length) {
      terms.triplet = tf.keep(sum(tris));
      parts.push(tf.mul(terms.triplet, plan.weights.triplet ?? 1) as tf.Scalar);
    }
    if (!parts.length) throw new Error('no head has logits or a feature the loss can use');
    return { total: sum(parts), ...terms };
  } finally {
    lab.dispose();
  }
}

async function finish(terms: LossTermValues<tf.Scalar>, total: tf.Scalar, acc: { logits?: tf.Tensor2D }, labels: Int32Array): Promise<StepResult> {
  const result: StepResult = { loss: (await total.data())[0]!, acc: 0 };
  for (const [k, v] of Object.entries(terms) as [keyof LossTermValues, tf.Scalar][]) {
    result[k] = (await v.data())[0]!;
    v.dispose();
  }
  total.dispose();
  if (acc.logits) {
    const pred = (await acc.logits.argMax(1).data()) as Int32Array;
    result.acc = pred.reduce((s, p, i) => s + (p === labels[i] ? 1 : 0), 0) / labels.length;
    acc.logits.dispose();
  }
  const { loss: total_, acc: _acc, ...terms_ } = result;
  checkFinite({ ...terms_, total: total_ } as Record<string, number>);
  return result;
}

/**
 * Gradients of one multi-head step for `vars` (keyed by variable name) and the step result. Throws
 * NonFiniteLossError (gradients disposed) and refuses a center loss.
 */
export const computeHeadGradients: GradientStep = async (reid, loss, vars, images, labels, microBatch) => {
  if (loss.center) throw new Error('a center loss on a multi-head model is not modelled (fast-reid has no center loss)');
  const hm = headModel(reid, loss.usesMarginClassifier);
  const n = labels.length;
  const [h, w, c] = reid.metadata.inputShape as [number, number, number];
  const per = h * w * c;
  const acc: { logits?: tf.Tensor2D } = {};
  let terms: LossTermValues<tf.Scalar> = {};
  const guard = async (grads: Record<string, tf.Tensor>, total: tf.Scalar) => {
    try {
      return await finish(terms, total, acc, labels);
    } catch (e) {
      Object.values(grads).forEach((g) => g.dispose());
      throw e;
    }
  };
  if (microBatch >= n) {
    const x = tf.tensor4d(images, [n, h, w, c]);
    const { grads, value } = tf.variableGrads(() => {
      const { total, ...t } = headsLoss(loss, hm, forward(hm, x), labels, acc);
      terms = t;
      return total;
    }, vars);
    x.dispose();
    return { grads, result: await guard(grads, value) };
  }

  // Pass 1: every slice's outputs (no tape); the loss and its gradient w.r.t. the concatenated outputs.
  const slices = microBatchSlices(n, microBatch);
  const parts: tf.Tensor2D[][] = [];
  for (const [a, b] of slices) {
    const x = tf.tensor4d(images.subarray(a * per, b * per), [b - a, h, w, c]);
    parts.push(forward(hm, x));
    x.dispose();
  }
  const statVars = reid.model.nonTrainableWeights.map((v) => v.read() as tf.Variable);
  const snapshot = statVars.map((v) => tf.keep(v.clone()));
  const outVars = parts[0]!.map((_, i) => {
    const cat = tf.concat(parts.map((p) => p[i]!), 0);
    const v = tf.variable(cat, true);
    cat.dispose();
    return v;
  });
  parts.flat().forEach((t) => t.dispose());
  const kernels = [...new Set(hm.heads.flatMap((x) => (x.kernel ? [x.kernel] : [])))];
  const { grads: lossGrads, value } = tf.variableGrads(() => {
    const { total, ...t } = headsLoss(loss, hm, outVars as tf.Tensor2D[], labels, acc);
    terms = t;
    return total;
  }, [...outVars, ...kernels]);
  let result: StepResult;
  try {
    result = await guard(lossGrads, value);
  } catch (e) {
    outVars.forEach((v) => v.dispose());
    snapshot.forEach((s) => s.dispose());
    throw e;
  }

  // Pass 2: each slice back-propagates its share of the output gradients.
  const sums: Record<string, tf.Tensor> = {};
  const accumulate = (name: string, g: tf.Tensor) => {
    const prev = sums[name];
    sums[name] = prev ? tf.add(prev, g) : g;
    if (prev) {
      prev.dispose();
      g.dispose();
    }
  };
  for (const [a, b] of slices) {
    const x = tf.tensor4d(images.subarray(a * per, b * per), [b - a, h, w, c]);
    const gs = outVars.map((v) => lossGrads[v.name]?.slice([a, 0], [b - a, -1]));
    const { grads, value: v } = tf.variableGrads(() => {
      const outs = forward(hm, x);
      return tf.addN(outs.flatMap((o, i) => (gs[i] ? [tf.sum(tf.mul(o, gs[i]!))] : []))) as tf.Scalar;
    }, vars);
    v.dispose();
    x.dispose();
    gs.forEach((g) => g?.dispose());
    for (const [name, g] of Object.entries(grads)) accumulate(name, g);
  }
  statVars.forEach((v, i) => v.assign(snapshot[i]!));
  snapshot.forEach((s) => s.dispose());
  // A margin classifier's direct gradient on its class weight adds to what flowed back through its input.
  for (const k of kernels) if (lossGrads[k.name]) accumulate(k.name, lossGrads[k.name]!);
  for (const v of outVars) {
    lossGrads[v.name]?.dispose();
    v.dispose();
  }
  return { grads: sums, result };
};
