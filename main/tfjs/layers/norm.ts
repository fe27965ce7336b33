/**
 * The arithmetic shared by BatchNorm, InstanceNorm and IBN-a, with PyTorch's semantics:
 * y = (x − μ)·rsqrt(σ² + ε)·γ + β, where each channel segment takes its statistics
 *  - 'batch':    over N, H, W (BatchNorm in training), biased variance for normalising;
 *  - 'instance': per sample over H, W (InstanceNorm, always; track_running_stats=False);
 *  - 'fixed':    from the running statistics (BatchNorm in eval, or with frozen statistics).
 * In training the gradient is the closed form (one custom gradient instead of autodiff through the
 * moments: fewer passes over the activations, nothing activation-sized kept but x).
 * Batch statistics are handed to `onBatchStats` with the *unbiased* variance, which is what PyTorch
 * stores in running_var; normalisation itself uses the biased one, as PyTorch does.
 */
import * as tf from '@tensorflow/tfjs';

export type NormMode = 'batch' | 'instance' | 'fixed';

export interface NormSegment {
  /** Channels in this segment (segments cover C in order). */
  size: number;
  mode: NormMode;
  /** Running statistics for 'fixed' segments ([size]). */
  mean?: tf.Tensor;
  variance?: tf.Tensor;
}

export interface NormOptions {
  eps: number;
  segments: NormSegment[];
  /** Called (inside the forward pass) with each 'batch' segment's mean and unbiased variance. */
  onBatchStats?: (segment: number, mean: tf.Tensor1D, unbiasedVar: tf.Tensor1D) => void;
  /** γ/β gradients are needed (false for frozen layers: zeros are returned instead). */
  paramGrads?: boolean;
}

interface Stats {
  /** [L, 1, 1, C] with L = N when any segment is per-instance, else 1. */
  mean: tf.Tensor4D;
  rstd: tf.Tensor4D;
}

function computeStats(x: tf.Tensor4D, o: NormOptions): Stats {
  const [n, h, w, c] = x.shape;
  const perSample = o.segments.some((s) => s.mode === 'instance');
  const needMoments = o.segments.some((s) => s.mode !== 'fixed');
  // Per-sample moments over H×W for every channel: two passes. Batch moments follow exactly from them
  // (law of total variance, equal group sizes) without cancellation.
  const ms = needMoments ? (tf.mean(x, [1, 2], true) as tf.Tensor4D) : undefined;
  const vs = ms ? (tf.mean(tf.squaredDifference(x, ms), [1, 2], true) as tf.Tensor4D) : undefined;
  const means: tf.Tensor4D[] = [];
  const vars: tf.Tensor4D[] = [];
  const L = perSample ? n : 1;
  let c0 = 0;
  o.segments.forEach((s, i) => {
    let m: tf.Tensor4D;
    let v: tf.Tensor4D;
    if (s.mode === 'fixed') {
      m = tf.reshape(s.mean!, [1, 1, 1, s.size]);
      v = tf.reshape(s.variance!, [1, 1, 1, s.size]);
    } else {
      const msi = tf.slice(ms!, [0, 0, 0, c0], [n, 1, 1, s.size]);
      const vsi = tf.slice(vs!, [0, 0, 0, c0], [n, 1, 1, s.size]);
      if (s.mode === 'instance') {
        m = msi;
        v = vsi;
      } else {
        const count = n * h * w;
        if (count < 2) throw new Error(`Expected more than 1 value per channel when training, got input size [${x.shape.join(', ')}]`);
        m = tf.mean(msi, 0, true);
        v = tf.add(tf.mean(vsi, 0, true), tf.mean(tf.squaredDifference(msi, m), 0, true));
        if (o.onBatchStats) o.onBatchStats(i, tf.reshape(m, [s.size]), tf.reshape(tf.mul(v, count / (count - 1)), [s.size]));
      }
    }
    if (L > 1 && m.shape[0] === 1) {
      m = tf.broadcastTo(m, [L, 1, 1, s.size]);
      v = tf.broadcastTo(v, [L, 1, 1, s.size]);
    }
    means.push(m);
    vars.push(v);
    c0 += s.size;
  });
  if (c0 !== c) throw new Error(`norm segments cover ${c0} of ${c} channels`);
  const mean = (means.length === 1 ? means[0]! : tf.concat(means, 3)) as tf.Tensor4D;
  const variance = vars.length === 1 ? vars[0]! : tf.concat(vars, 3);
  return { mean, rstd: tf.rsqrt(tf.add(variance, o.eps)) as tf.Tensor4D };
}

function affine(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, st: Stats): tf.Tensor4D {
  const c = x.shape[3];
  const a = tf.mul(st.rstd, tf.reshape(gamma, [1, 1, 1, c]));
  const b = tf.sub(tf.reshape(beta, [1, 1, 1, c]), tf.mul(st.mean, a));
  return tf.add(tf.mul(x, a), b) as tf.Tensor4D;
}

/** Inference-style evaluation (no gradient bookkeeping). */
export function normalize(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, o: NormOptions): tf.Tensor4D {
  return tf.tidy(() => {
    if (o.segments.length === 1 && o.segments[0]!.mode === 'fixed') {
      // One fused kernel for the common case (eval-mode BatchNorm).
      const s = o.segments[0]!;
      return tf.batchNorm(x, s.mean!, s.variance!, beta, gamma, o.eps) as tf.Tensor4D;
    }
    return affine(x, gamma, beta, computeStats(x, o));
  });
}

/**
 * Training-mode evaluation with the closed-form gradient. For a segment normalised over a group G of
 * |G| values (x̂ = (x − μ)·r, r = rsqrt(σ²+ε), a = γ·r):
 *   dx = a·(dy − mean_G(dy) − x̂·mean_G(dy·x̂))      ('batch' and 'instance'),
 *   dx = a·dy                                         ('fixed': the statistics are constants),
 *   dγ = Σ dy·x̂,  dβ = Σ dy   (over N, H, W).
 */
export function normalizeTrain(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, o: NormOptions): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const x4 = xi as tf.Tensor4D;
    const st = computeStats(x4, o);
    const value = affine(x4, g, b, st);
    save([x4, g, st.mean, st.rstd]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, mean, rstd] = saved as [tf.Tensor4D, tf.Tensor, tf.Tensor4D, tf.Tensor4D];
        const [n, h, w, c] = xs.shape;
        const a = tf.mul(rstd, tf.reshape(gs, [1, 1, 1, c]));
        const allFixed = o.segments.every((s) => s.mode === 'fixed');
        const wantParams = o.paramGrads !== false;
        if (allFixed && !wantParams) return [tf.mul(dy, a), tf.zerosLike(gs), tf.zerosLike(gs)];
        const xhat = tf.add(tf.mul(xs, rstd), tf.neg(tf.mul(mean, rstd)));
        const s1 = tf.sum(dy, [1, 2], true);
        const s2 = tf.sum(tf.mul(dy, xhat), [1, 2], true);
        const dgamma = wantParams ? tf.reshape(tf.sum(s2, [0, 1, 2]), [c]) : tf.zerosLike(gs);
        const dbeta = wantParams ? tf.reshape(tf.sum(s1, [0, 1, 2]), [c]) : tf.zerosLike(gs);
        if (allFixed) return [tf.mul(dy, a), dgamma, dbeta];
        // Per-channel coefficients k1 = mean_G(dy), k2 = mean_G(dy·x̂) for every segment ([n,1,1,c]).
        const k1: tf.Tensor[] = [];
        const k2: tf.Tensor[] = [];
        let c0 = 0;
        for (const s of o.segments) {
          const a1 = tf.slice(s1, [0, 0, 0, c0], [n, 1, 1, s.size]);
          const a2 = tf.slice(s2, [0, 0, 0, c0], [n, 1, 1, s.size]);
          if (s.mode === 'fixed') {
            k1.push(tf.zerosLike(a1));
            k2.push(tf.zerosLike(a2));
          } else if (s.mode === 'instance') {
            k1.push(tf.div(a1, h * w));
            k2.push(tf.div(a2, h * w));
          } else {
            k1.push(tf.broadcastTo(tf.div(tf.sum(a1, 0, true), n * h * w), [n, 1, 1, s.size]));
            k2.push(tf.broadcastTo(tf.div(tf.sum(a2, 0, true), n * h * w), [n, 1, 1, s.size]));
          }
          c0 += s.size;
        }
        const K1 = k1.length === 1 ? k1[0]! : tf.concat(k1, 3);
        const K2 = k2.length === 1 ? k2[0]! : tf.concat(k2, 3);
        // dx = dy·a − x̂·(a·k2) − a·k1
        const dx = tf.sub(tf.mul(dy, a), tf.add(tf.mul(xhat, tf.mul(a, K2)), tf.mul(a, K1)));
        return [dx, dgamma, dbeta];
      },
    };
  });
  return f(x, gamma, beta);
}

/** Views a [N, C] batch of vectors as [N, 1, 1, C] feature maps (BatchNorm1d = BatchNorm2d on 1×1 maps). */
export function as4d(x: tf.Tensor): tf.Tensor4D {
  if (x.rank === 4) return x as tf.Tensor4D;
  if (x.rank === 2) return tf.reshape(x, [x.shape[0]!, 1, 1, x.shape[1]!]);
  throw new Error(`normalisation expects a [N, H, W, C] or [N, C] tensor, got rank ${x.rank}`);
}
