/**
 * Re-ID losses in TF.js, ported from reid-strong-baseline (RSB) `layers/`.
 * All functions are differentiable tf ops meant to be called inside the trainer's `tf.variableGrads`
 * closure; none of them keeps tensors alive.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../data/rng.js';

/** RSB CrossEntropyLabelSmooth hard-codes ε = 0.1. */
export const LABEL_SMOOTH_EPSILON = 0.1;

/** A user-facing loss configuration problem (settings that RSB cannot train). */
export class LossConfigError extends Error {}

/**
 * Cross-entropy with label smoothing (RSB CrossEntropyLabelSmooth): target = (1−ε)·onehot + ε/K,
 * loss = mean over the batch of −Σ_k target_k · log_softmax_k. ε = 0 gives F.cross_entropy.
 */
export function crossEntropyLabelSmooth(logits: tf.Tensor2D, labels: tf.Tensor1D, epsilon = LABEL_SMOOTH_EPSILON): tf.Scalar {
  return tf.tidy(() => {
    const K = logits.shape[1];
    const logProbs = tf.logSoftmax(logits, 1);
    const target = tf.oneHot(labels.toInt(), K).toFloat().mul(1 - epsilon).add(epsilon / K);
    return tf.neg(target.mul(logProbs)).sum(1).mean() as tf.Scalar;
  });
}

/** RSB triplet_loss.euclidean_dist: sqrt(clamp(‖a‖² + ‖b‖² − 2a·b, min 1e-12)). */
export function euclideanDist(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const xx = x.square().sum(1, true);
    const yy = y.square().sum(1, true).transpose();
    const d = xx.add(yy).sub(tf.matMul(x, y, false, true).mul(2));
    return d.maximum(1e-12).sqrt() as tf.Tensor2D;
  });
}

/**
 * Every identity must occur the same number of times: RSB reshapes dist_mat[is_pos] to (N, −1), which
 * only works for P×K batches.
 */
export function checkPKBatch(labels: ArrayLike<number>): void {
  const counts = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) counts.set(labels[i]!, (counts.get(labels[i]!) ?? 0) + 1);
  const distinct = new Set(counts.values());
  if (distinct.size > 1)
    throw new LossConfigError(
      `batch-hard triplet loss needs a P×K batch (every identity the same number of times); got identity counts ${[...distinct].sort((a, b) => a - b).join('/')} — use the P×K identity sampler`,
    );
  if (counts.size < 2) throw new LossConfigError('batch-hard triplet loss needs at least two identities in a batch (P ≥ 2)');
}

/**
 * Batch-hard triplet loss (RSB TripletLoss with hard_example_mining, margin 0.3, features not normalised):
 * for each anchor the farthest positive (itself included) and the nearest negative;
 * loss = mean max(0, d_ap − d_an + margin).
 */
export function tripletBatchHard(feat: tf.Tensor2D, labels: ArrayLike<number>, margin = 0.3): tf.Scalar {
  checkPKBatch(labels);
  const N = labels.length;
  const pos = new Float32Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) pos[i * N + j] = labels[i] === labels[j] ? 1 : 0;
  return tf.tidy(() => {
    const dist = euclideanDist(feat, feat);
    const isPos = tf.tensor2d(pos, [N, N]).cast('bool');
    // Masked-out entries get a constant: tf.where routes no gradient to them.
    const dAp = tf.where(isPos, dist, tf.fill([N, N], -1e12)).max(1);
    const dAn = tf.where(isPos, tf.fill([N, N], 1e12), dist).min(1);
    return dAp.sub(dAn).add(margin).relu().mean() as tf.Scalar;
  });
}

/**
 * Center loss (RSB layers/center_loss.py): centers (num_classes × feat_dim) initialised standard normal;
 * loss = Σ_i ‖f_i − c_{y_i}‖² / batch. RSB sums clamp(dist·mask, 1e-12) over all N×C entries, which adds
 * (C−1)·1e-12 — a constant with no gradient, omitted here.
 *
 * Centers have their own optimizer: plain SGD with lr CENTER_LR = 0.5, and before the step
 * RSB multiplies their gradient by 1/β (β = CENTER_LOSS_WEIGHT), undoing the loss weighting, so each step
 * is c ← c − lr·∂L_center/∂c. They must not be handed to the model's optimizer (no weight decay, no
 * schedule).
 */
/** Variable names are global in a tfjs engine: every CenterLoss gets its own. */
let centerIds = 0;

export class CenterLoss {
  readonly centers: tf.Variable;

  constructor(
    readonly numClasses: number,
    readonly featDim: number,
    readonly weight: number,
    readonly lr: number,
    seed = 0,
    init?: Float32Array,
  ) {
    let data = init;
    if (!data) {
      const rng = new Rng(seed ^ 0x5eed_c3e7);
      data = new Float32Array(numClasses * featDim);
      for (let i = 0; i < data.length; i++) data[i] = rng.normal();
    }
    if (data.length !== numClasses * featDim) throw new Error(`center loss: expected ${numClasses}×${featDim} center values, got ${data.length}`);
    this.centers = tf.variable(tf.tensor2d(data, [numClasses, featDim]), true, `center_loss/centers_${++centerIds}`);
  }

  /** Unweighted center loss (the trainer multiplies by β inside the total). */
  loss(feat: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => {
      // One-hot matmul instead of tf.gather: gather's gradient needs UnsortedSegmentSum, which the wasm
      // backend lacks; the product selects the same rows and differentiates with a plain matMul.
      const c = tf.matMul(tf.oneHot(labels.toInt(), this.numClasses).toFloat(), this.centers);
      return feat.sub(c).square().sum().div(feat.shape[0]) as tf.Scalar;
    });
  }

  /**
   * Applies RSB's center update given ∂(total loss)/∂centers (which carries the β weighting):
   * c ← c − lr · grad / β.
   */
  stepFromTotalGradient(grad: tf.Tensor): void {
    if (this.weight <= 0) return;
    tf.tidy(() => this.centers.assign(this.centers.sub(grad.mul(this.lr / this.weight))));
  }

  dispose(): void {
    this.centers.dispose();
  }
}
