/**
 * Layers of fast-reid's ResNeSt (fastreid/modeling/backbones/resnest.py, fastreid/layers/splat.py) that
 * tfjs-layers lacks:
 *  - ReidAvgPool2D: nn.AvgPool2d with symmetric zero padding, ceil_mode and count_include_pad. Computed as
 *    the window sums over the zero-padded input divided by PyTorch's divisor per output position: the
 *    window clipped to the padded input (count_include_pad) or to the input itself (not counting padding);
 *    positions ceil mode adds past the padding never count (aten AvgPool2d `pool_size`).
 *  - ReidRadixPool: SplAtConv2d's gap: Σ of the R radix splits of the channels, mean over H×W → [N, 1, 1, C].
 *  - ReidRSoftMax: rSoftMax (softmax over the splits per cardinal group of view(N, G, R, C/G), a sigmoid
 *    when R = 1) and the attention-weighted sum of the splits. Inputs [x [N, H, W, R·C], logits [N, 1, 1, R·C]].
 */
import * as tf from '@tensorflow/tfjs';
import { CUSTOM_LAYER_CLASSES } from '../../../core/index.js';
import { ReidMaxPool2D, type MaxPoolArgs } from './pool-layers.js';
import { one, shapeOf, type Kwargs } from './util.js';

export interface AvgPoolArgs extends MaxPoolArgs {
  countIncludePad?: boolean;
}

/** The window geometry (and its padding check) is nn.MaxPool2d's: ReidMaxPool2D's; only the reduction differs. */
export class ReidAvgPool2D extends ReidMaxPool2D {
  static override className: string = CUSTOM_LAYER_CLASSES.avgPool;
  readonly countIncludePad: boolean;

  constructor(args: AvgPoolArgs = {}) {
    super({ ...args, padding: args.padding ?? 0 });
    this.countIncludePad = args.countIncludePad ?? true;
  }

  /** PyTorch's divisor along one axis for output index i (input size `size`). */
  private divisor(i: number, size: number): number {
    const [k, s, p] = [this.poolSize, this.strides, this.padding];
    const start = i * s - p;
    const end = Math.min(start + k, size + p);
    return this.countIncludePad ? end - start : Math.min(end, size) - Math.max(start, 0);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      const [, h, w] = x.shape;
      const [oh, ow] = this.outSize(h, w);
      const [k, s, p] = [this.poolSize, this.strides, this.padding];
      const pb = Math.max(p, (oh - 1) * s + k - h - p);
      const pr = Math.max(p, (ow - 1) * s + k - w - p);
      const padded = p || pb || pr ? tf.pad(x, [[0, 0], [p, pb], [p, pr], [0, 0]]) : x;
      const sums = tf.mul(tf.avgPool(padded, k, s, 'valid'), k * k);
      const div = new Float32Array(oh * ow);
      for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) div[i * ow + j] = this.divisor(i, h) * this.divisor(j, w);
      return tf.div(sums, tf.tensor4d(div, [1, oh, ow, 1]));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), countIncludePad: this.countIncludePad };
  }
}

export class ReidRadixPool extends tf.layers.Layer {
  static className = CUSTOM_LAYER_CLASSES.radixPool;
  readonly radix: number;

  constructor(args: { name?: string; trainable?: boolean; radix?: number } = {}) {
    super(args);
    this.radix = args.radix ?? 2;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, , , c] = shapeOf(inputShape);
    return [n ?? null, 1, 1, c == null ? null : c / this.radix];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      const [n, h, w, rc] = x.shape;
      const summed = this.radix > 1 ? tf.sum(tf.reshape(x, [n, h, w, this.radix, rc / this.radix]), 3) : x;
      return tf.mean(summed, [1, 2], true);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), radix: this.radix };
  }
}

export class ReidRSoftMax extends tf.layers.Layer {
  static className = CUSTOM_LAYER_CLASSES.rSoftMax;
  readonly radix: number;
  readonly cardinality: number;

  constructor(args: { name?: string; trainable?: boolean; radix?: number; cardinality?: number } = {}) {
    super(args);
    this.radix = args.radix ?? 2;
    this.cardinality = args.cardinality ?? 1;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = shapeOf(inputShape);
    return [n ?? null, h ?? null, w ?? null, c == null ? null : c / this.radix];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [x, a] = inputs as tf.Tensor4D[];
      const [n, h, w, rc] = x!.shape;
      const [r, g] = [this.radix, this.cardinality];
      if (r === 1) return tf.mul(x!, tf.sigmoid(a!));
      const c = rc / r;
      // view(N, G, R, C/G) → softmax over R → transpose to (N, R, G, C/G) = R blocks of C.
      const logits = tf.transpose(tf.reshape(a!, [n, g, r, c / g]), [0, 1, 3, 2]);
      const att = tf.transpose(tf.softmax(logits), [0, 3, 1, 2]);
      const weights = tf.reshape(att, [n, 1, 1, r, c]);
      return tf.sum(tf.mul(tf.reshape(x!, [n, h, w, r, c]), weights), 3);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), radix: this.radix, cardinality: this.cardinality };
  }
}
