/**
 * Pooling layers with PyTorch semantics that tfjs-layers lacks.
 *  - ReidMaxPool2D: nn.MaxPool2d with symmetric padding that acts as −∞ (padded positions never win),
 *    and ceil_mode. Needed because RSB's plain-ResNet stem has no ReLU before the pool:
 *    zero padding would change the output. tfjs's pool kernels skip out-of-range positions, so an
 *    explicit padding on the op gives exactly −∞ semantics without materialising a padded copy.
 *  - ReidGeMPool: fast-reid GeneralizedMeanPooling(P): mean(clamp(x, eps)^p)^(1/p) over H×W.
 */
import * as tf from '@tensorflow/tfjs';
import { CUSTOM_LAYER_CLASSES } from '../../../core/index.js';
import { windowOut } from '../../../core/registry/shapes.js';
import { one, shapeOf, type Kwargs } from './util.js';

export interface MaxPoolArgs {
  name?: string;
  trainable?: boolean;
  poolSize?: number;
  strides?: number;
  padding?: number;
  ceilMode?: boolean;
}

export class ReidMaxPool2D extends tf.layers.Layer {
  static className: string = CUSTOM_LAYER_CLASSES.maxPool;
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: number;
  readonly ceilMode: boolean;

  constructor(args: MaxPoolArgs = {}) {
    super(args);
    this.poolSize = args.poolSize ?? 3;
    this.strides = args.strides ?? 2;
    this.padding = args.padding ?? 1;
    this.ceilMode = !!args.ceilMode;
    if (this.padding > this.poolSize / 2) throw new Error(`max pool padding ${this.padding} must be at most half the kernel ${this.poolSize} (as in PyTorch)`);
  }

  protected outSize(h: number, w: number): [number, number] {
    return [windowOut(h, this.poolSize, this.strides, this.padding, this.ceilMode), windowOut(w, this.poolSize, this.strides, this.padding, this.ceilMode)];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = shapeOf(inputShape);
    if (h == null || w == null) return [n ?? null, null, null, c ?? null];
    return [n ?? null, ...this.outSize(h, w), c ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      const [, h, w] = x.shape;
      const [oh, ow] = this.outSize(h, w);
      const k = this.poolSize;
      const s = this.strides;
      const p = this.padding;
      // Bottom/right padding so the last window fits: p, or more in ceil mode.
      const pb = Math.max(0, (oh - 1) * s + k - h - p);
      const pr = Math.max(0, (ow - 1) * s + k - w - p);
      if (p === 0 && pb === 0 && pr === 0) return tf.maxPool(x, k, s, 'valid');
      return tf.maxPool(x, k, s, [[0, 0], [p, pb], [p, pr], [0, 0]]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding, ceilMode: this.ceilMode };
  }
}

export interface GemArgs {
  name?: string;
  trainable?: boolean;
  p?: number;
  learnable?: boolean;
  epsilon?: number;
}

export class ReidGeMPool extends tf.layers.Layer {
  static className = CUSTOM_LAYER_CLASSES.gemPool;
  readonly p: number;
  readonly learnable: boolean;
  readonly epsilon: number;
  private pWeight?: tf.LayerVariable;

  constructor(args: GemArgs = {}) {
    super(args);
    this.p = args.p ?? 3;
    this.learnable = !!args.learnable;
    this.epsilon = args.epsilon ?? 1e-6;
  }

  override build(_inputShape: tf.Shape | tf.Shape[]): void {
    if (this.learnable) this.pWeight = this.addWeight('p', [1], 'float32', tf.initializers.constant({ value: this.p }), undefined, this.trainable);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = shapeOf(inputShape);
    return [s[0] ?? null, s[3] ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const p: tf.Tensor | number = this.pWeight ? this.pWeight.read() : this.p;
      const m = tf.mean(tf.pow(tf.maximum(x, this.epsilon), p), [1, 2]);
      return tf.pow(m, typeof p === 'number' ? 1 / p : tf.reciprocal(p));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), p: this.p, learnable: this.learnable, epsilon: this.epsilon };
  }
}

/**
 * The attention product of fast-reid's Non_local (fastreid/layers/non_local.py): inputs θ, φ, g
 * [B, H, W, C']; f = θφᵀ / N over the N = H·W positions (no softmax), output f·g as [B, H, W, C'].
 */
export class ReidNonLocalAttention extends tf.layers.Layer {
  static className = CUSTOM_LAYER_CLASSES.nonLocalAttention;

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [theta, phi, g] = inputs as tf.Tensor4D[];
      const [b, h, w, c] = theta!.shape;
      const flat = (t: tf.Tensor4D) => tf.reshape(t, [b, h * w, c]) as tf.Tensor3D;
      const f = tf.div(tf.matMul(flat(theta!), flat(phi!), false, true), h * w) as tf.Tensor3D;
      return tf.reshape(tf.matMul(f, flat(g!)), [b, h, w, c]);
    });
  }
}
