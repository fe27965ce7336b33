/**
 * Convolution layers with PyTorch semantics that tfjs-layers lacks.
 *  - ReidGroupConv2D: nn.Conv2d with `groups` > 1 (ResNeXt, Xie et al. CVPR 2017): symmetric zero padding,
 *    then each of the G channel groups convolved with its slice of the kernel, concatenated in group
 *    order. Kernel HWIO [k, k, C_in / G, C_out] (PyTorch weight [C_out, C_in / G, k, k]); output channels
 *    [g·C_out/G, (g+1)·C_out/G) see input channels [g·C_in/G, (g+1)·C_in/G), as in PyTorch; `dilation`
 *    as nn.Conv2d's (stride 1; also used for ungrouped dilated convolutions, whose tfjs conv2d has no gradient).
 *  - ReidSEModule: reid-strong-baseline's SEModule (`modeling/backbones/senet.py`):
 *    x · σ(fc2(ReLU(fc1(mean_HW(x))))) with 1×1 convolutions (with bias) as [C, C/r] / [C/r, C] matrices.
 * Both initialise like PyTorch's nn.Conv2d.reset_parameters: kernel U(±1/√fan_in), bias U(±1/√fan_in).
 */
import * as tf from '@tensorflow/tfjs';
import { CUSTOM_LAYER_CLASSES } from '../../../core/index.js';
import { windowOut } from '../../../core/registry/shapes.js';
import { one, shapeOf, type Kwargs } from './util.js';

/**
 * nn.Conv2d's default initialisation for a kernel / bias with this fan-in. `seed` (core/compile/seed.ts gives
 * each layer its own from the run seed; `slot` tells the layer's weights apart): the same seed, the same weights.
 */
function torchDefault(fanIn: number, seed: number | undefined, slot: number): ReturnType<typeof tf.initializers.randomUniform> {
  const b = 1 / Math.sqrt(Math.max(fanIn, 1));
  return tf.initializers.randomUniform({ minval: -b, maxval: b, ...(seed != null ? { seed: seed + slot } : {}) });
}

export interface GroupConvArgs {
  name?: string;
  trainable?: boolean;
  filters?: number;
  kernelSize?: number;
  strides?: number;
  padding?: number;
  groups?: number;
  useBias?: boolean;
  /** nn.Conv2d dilation (stride 1 only). */
  dilation?: number;
  /** Initialiser seed (seedInitializers); unseeded when absent. */
  seed?: number | null;
}

export class ReidGroupConv2D extends tf.layers.Layer {
  static className = CUSTOM_LAYER_CLASSES.groupConv;
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: number;
  readonly groups: number;
  readonly useBias: boolean;
  readonly dilation: number;
  readonly seed: number | undefined;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: GroupConvArgs = {}) {
    super(args);
    this.filters = args.filters ?? 64;
    this.kernelSize = args.kernelSize ?? 3;
    this.strides = args.strides ?? 1;
    this.padding = args.padding ?? 0;
    this.groups = args.groups ?? 1;
    this.useBias = !!args.useBias;
    this.dilation = args.dilation ?? 1;
    this.seed = args.seed ?? undefined;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const cin = shapeOf(inputShape)[3]!;
    if (cin % this.groups || this.filters % this.groups) throw new Error(`${this.name}: ${cin} → ${this.filters} channels do not divide into ${this.groups} groups`);
    const k = this.kernelSize;
    const fanIn = k * k * (cin / this.groups);
    this.kernel = this.addWeight('kernel', [k, k, cin / this.groups, this.filters], 'float32', torchDefault(fanIn, this.seed, 0), undefined, this.trainable);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', torchDefault(fanIn, this.seed, 1), undefined, this.trainable);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = shapeOf(inputShape);
    const out = (d: number | null | undefined) => (d == null ? null : windowOut(d, this.dilation * (this.kernelSize - 1) + 1, this.strides, this.padding));
    return [n ?? null, out(h), out(w), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      let x = one(inputs) as tf.Tensor4D;
      const p = this.padding;
      if (p > 0) x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
      const xs = tf.split(x, this.groups, 3);
      const ks = tf.split(this.kernel!.read() as tf.Tensor4D, this.groups, 3);
      const ys = xs.map((xi, i) => (this.dilation > 1 ? this.dilated(xi as tf.Tensor4D, ks[i] as tf.Tensor4D) : tf.conv2d(xi as tf.Tensor4D, ks[i] as tf.Tensor4D, this.strides, 'valid')));
      const y = ys.length === 1 ? ys[0]! : tf.concat(ys, 3);
      return this.bias ? tf.add(y, this.bias.read()) : y;
    });
  }

  /**
   * A valid dilated convolution at stride 1 as the sum over the k×k kernel taps of 1×1 convolutions of the
   * input shifted by (i·d, j·d): tfjs's conv2d has no gradient for dilation > 1 ("not yet supported in
   * gradients"), slices and 1×1 convolutions have.
   */
  private dilated(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
    const [k, d] = [this.kernelSize, this.dilation];
    const [, h, w] = x.shape;
    const [oh, ow] = [h - d * (k - 1), w - d * (k - 1)];
    let y: tf.Tensor4D | undefined;
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) {
        const tap = tf.conv2d(tf.slice(x, [0, i * d, j * d, 0], [-1, oh, ow, -1]), tf.slice(kernel, [i, j, 0, 0], [1, 1, -1, -1]), 1, 'valid');
        y = y ? (tf.add(y, tap) as tf.Tensor4D) : tap;
      }
    return y!;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, strides: this.strides, padding: this.padding, groups: this.groups, useBias: this.useBias, ...(this.dilation > 1 ? { dilation: this.dilation } : {}) };
  }
}

export interface SEArgs {
  name?: string;
  trainable?: boolean;
  reduction?: number;
  /** Initialiser seed (seedInitializers); unseeded when absent. */
  seed?: number | null;
}

export class ReidSEModule extends tf.layers.Layer {
  static className = CUSTOM_LAYER_CLASSES.seModule;
  readonly reduction: number;
  readonly seed: number | undefined;
  private w: tf.LayerVariable[] = [];

  constructor(args: SEArgs = {}) {
    super(args);
    this.reduction = args.reduction ?? 16;
    this.seed = args.seed ?? undefined;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = shapeOf(inputShape)[3]!;
    const r = Math.floor(c / this.reduction);
    // Slot order = core weight specs: fc1_kernel, fc1_bias, fc2_kernel, fc2_bias (HWIO 1×1 kernels).
    this.w = [
      this.addWeight('fc1_kernel', [1, 1, c, r], 'float32', torchDefault(c, this.seed, 0), undefined, this.trainable),
      this.addWeight('fc1_bias', [r], 'float32', torchDefault(c, this.seed, 1), undefined, this.trainable),
      this.addWeight('fc2_kernel', [1, 1, r, c], 'float32', torchDefault(r, this.seed, 2), undefined, this.trainable),
      this.addWeight('fc2_bias', [c], 'float32', torchDefault(r, this.seed, 3), undefined, this.trainable),
    ];
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      const [k1, b1, k2, b2] = this.w.map((v) => v.read());
      const fc = (v: tf.Tensor2D, k: tf.Tensor, b: tf.Tensor) => tf.add(tf.matMul(v, k.reshape([k.shape[2]!, k.shape[3]!]) as tf.Tensor2D), b);
      const squeezed = tf.mean(x, [1, 2]) as tf.Tensor2D;
      const gate = tf.sigmoid(fc(tf.relu(fc(squeezed, k1!, b1!)) as tf.Tensor2D, k2!, b2!));
      return tf.mul(x, gate.reshape([x.shape[0], 1, 1, x.shape[3]]));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), reduction: this.reduction };
  }
}
