/**
 * fast-reid's head and triplet variants in TF.js, for the FR ResNet recipes (BoT, AGW, SBS):
 *  - the margin classification layers of fastreid/layers/any_softmax.py as EmbeddingHead applies them
 *    (fastreid/modeling/heads/embedding_head.py): cosine logits between the L2-normalised neck feature and
 *    class weights, a target-dependent margin, a scale;
 *  - TripletLoss of fastreid/modeling/losses/triplet_loss.py: optional feature normalisation, batch-hard or
 *    softmax-weighted mining, hinge (MarginRankingLoss) or soft margin (SoftMarginLoss).
 * Differentiable tf ops for the trainer's `tf.variableGrads` closure; nothing is kept alive.
 */
import * as tf from '@tensorflow/tfjs';
import type { ClsLayer } from '../../../core/training/settings.js';
import { checkPKBatch, euclideanDist } from './losses.js';

/** torch.detach: the value of `x`, no gradient through it. */
const detach = tf.customGrad(((x: tf.Tensor) => ({ value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;

/** F.normalize(x, dim): x / max(‖x‖₂, 1e-12) along `axis`. */
export function l2normalize(x: tf.Tensor2D, axis: number): tf.Tensor2D {
  return tf.tidy(() => x.div(x.square().sum(axis, true).sqrt().maximum(1e-12)) as tf.Tensor2D);
}

export interface ClsLayerConfig {
  layer: ClsLayer;
  scale: number;
  margin: number;
}

/**
 * The logits the cross-entropy sees (EmbeddingHead `cls_outputs`) for a classifier weight `kernel`
 * (feat_dim × num_classes, the Keras Dense layout = fast-reid's `heads.weight` transposed) and its input
 * `feat` (N × feat_dim, the neck feature).
 *  - Linear: feat · kernel (no scale: fast-reid's Linear returns the logits unchanged);
 *  - CosSoftmax: s · (cos − m·onehot);
 *  - ArcSoftmax: s · cos(acos(cos) + m·onehot);
 *  - CircleSoftmax: s · (α_p (cos − (1 − m)) on the target, α_n (cos − m) elsewhere), α_p = [1 + m − cos]₊,
 *    α_n = [cos + m]₊ computed on a detached cos.
 * `labels` int32 [N].
 */
export function clsOutputs(cfg: ClsLayerConfig, feat: tf.Tensor2D, kernel: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    if (cfg.layer === 'Linear') return tf.matMul(feat, kernel);
    const cos = tf.matMul(l2normalize(feat, 1), l2normalize(kernel, 0));
    const onehot = tf.oneHot(labels.toInt(), kernel.shape[1]).toFloat();
    const { scale: s, margin: m } = cfg;
    if (cfg.layer === 'CosSoftmax') return cos.sub(onehot.mul(m)).mul(s) as tf.Tensor2D;
    if (cfg.layer === 'ArcSoftmax') return tf.cos(tf.acos(cos).add(onehot.mul(m))).mul(s) as tf.Tensor2D;
    const c = detach(cos);
    const alphaP = tf.relu(tf.neg(c).add(1 + m));
    const alphaN = tf.relu(c.add(m));
    const logitsP = alphaP.mul(cos.sub(1 - m));
    const logitsN = alphaN.mul(cos.sub(m));
    return logitsP.mul(onehot).add(logitsN.mul(tf.sub(1, onehot))).mul(s) as tf.Tensor2D;
  });
}

export interface TripletConfig {
  /** MarginRankingLoss margin (ignored when `soft`). */
  margin: number;
  /** SoftMarginLoss (fast-reid MARGIN 0). */
  soft: boolean;
  /** Batch-hard (true) or softmax-weighted example mining (false). */
  hardMining: boolean;
  /** L2-normalise the features first. */
  normFeat: boolean;
}

/** fast-reid softmax_weights: exp(d − max(d·mask)) · mask / (Σ exp(d − max)·mask + 1e-6), row-wise. */
function softmaxWeights(dist: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  const maxV = dist.mul(mask).max(1, true);
  const e = tf.exp(dist.sub(maxV));
  const z = e.mul(mask).sum(1, true).add(1e-6);
  return e.mul(mask).div(z) as tf.Tensor2D;
}

/**
 * fast-reid TripletLoss (fastreid/modeling/losses/triplet_loss.py) on one P×K batch: `feat` N × D,
 * `labels` N identities. Hard mining takes the farthest positive (itself included) and nearest negative;
 * weighted mining sums d_ap and d_an weighted by softmax(d) over positives and softmax(−d) over negatives
 * (AGW's weighted regularised triplet). The loss is mean([d_ap − d_an + margin]₊), or with `soft`
 * mean(log(1 + exp(d_ap − d_an))). Porting note: fast-reid falls back to margin 0.3 when the soft-margin
 * loss overflows to Inf; float32 softplus here does not overflow.
 */
export function tripletLoss(feat: tf.Tensor2D, labels: ArrayLike<number>, cfg: TripletConfig): tf.Scalar {
  checkPKBatch(labels);
  const N = labels.length;
  const pos = new Float32Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) pos[i * N + j] = labels[i] === labels[j] ? 1 : 0;
  return tf.tidy(() => {
    const f = cfg.normFeat ? l2normalize(feat, 1) : feat;
    const dist = euclideanDist(f, f);
    const isPos = tf.tensor2d(pos, [N, N]);
    const isNeg = tf.sub(1, isPos) as tf.Tensor2D;
    let dAp: tf.Tensor1D;
    let dAn: tf.Tensor1D;
    if (cfg.hardMining) {
      const posB = isPos.cast('bool');
      dAp = tf.where(posB, dist, tf.fill([N, N], -1e12)).max(1) as tf.Tensor1D;
      dAn = tf.where(posB, tf.fill([N, N], 1e12), dist).min(1) as tf.Tensor1D;
    } else {
      const ap = dist.mul(isPos) as tf.Tensor2D;
      const an = dist.mul(isNeg) as tf.Tensor2D;
      dAp = ap.mul(softmaxWeights(ap, isPos)).sum(1) as tf.Tensor1D;
      dAn = an.mul(softmaxWeights(tf.neg(an) as tf.Tensor2D, isNeg)).sum(1) as tf.Tensor1D;
    }
    const diff = dAp.sub(dAn);
    if (cfg.soft) return tf.softplus(diff).mean() as tf.Scalar;
    return diff.add(cfg.margin).relu().mean() as tf.Scalar;
  });
}
