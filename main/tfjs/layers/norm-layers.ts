/**
 * Normalisation layers tfjs-layers lacks or gets wrong for PyTorch parity (platform-notes.md):
 * tfjs BatchNormalization updates its moving statistics even when not trainable, throws in training
 * with `center: false`, and uses Keras momentum/eps conventions and the biased variance. These layers:
 *  - ReidBatchNorm: BatchNorm2d/1d. `freezeShift` = BNNeck (RSB `bottleneck.bias.requires_grad_(False)`):
 *    β is a non-trainable weight that stays 0. `statsFrozen`: in training, normalise with the running
 *    statistics and never update them (PyTorch: module.eval() inside a training model).
 *  - ReidInstanceNorm: InstanceNorm2d(affine=True, track_running_stats=False).
 *  - ReidIBNa: IBN-a (IBN-Net modules.py): IN on channels [0, half), BN on [half, C), IN first.
 * Weight order (getWeights) equals core/compile/weight-specs.ts for each kind.
 * Momentum is stored the Keras way (0.9 ↔ PyTorch 0.1): running = m·running + (1−m)·batch.
 */
import * as tf from '@tensorflow/tfjs';
import { CUSTOM_LAYER_CLASSES, ibnHalf } from '../../../core/index.js';
import { as4d, normalize, normalizeTrain, type NormSegment } from './norm.js';
import { one, shapeOf, type Kwargs } from './util.js';

type LayerVariable = tf.LayerVariable;

export interface BatchNormArgs {
  name?: string;
  trainable?: boolean;
  epsilon?: number;
  momentum?: number;
  freezeShift?: boolean;
  statsFrozen?: boolean;
  /** γ starts at 0 (fast-reid Non_local's W BatchNorm). */
  zeroInit?: boolean;
}

function lastDim(s: tf.Shape | tf.Shape[]): number {
  const shape = shapeOf(s);
  const c = shape[shape.length - 1];
  if (c == null) throw new Error('normalisation needs a known channel count');
  return c;
}

/** Moving-average update with the Keras-convention momentum m (PyTorch momentum 1 − m). */
function updateMoving(v: LayerVariable, batch: tf.Tensor, m: number): void {
  v.write(tf.add(tf.mul(v.read(), m), tf.mul(batch, 1 - m)));
}

export class ReidBatchNorm extends tf.layers.Layer {
  static className = CUSTOM_LAYER_CLASSES.batchNorm;
  readonly epsilon: number;
  readonly momentum: number;
  readonly freezeShift: boolean;
  readonly statsFrozen: boolean;
  readonly zeroInit: boolean;
  private gamma?: LayerVariable;
  private beta?: LayerVariable;
  private movingMean?: LayerVariable;
  private movingVariance?: LayerVariable;

  constructor(args: BatchNormArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
    this.momentum = args.momentum ?? 0.9;
    this.freezeShift = !!args.freezeShift;
    this.statsFrozen = !!args.statsFrozen;
    this.zeroInit = !!args.zeroInit;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = lastDim(inputShape);
    const t = this.trainable;
    this.gamma = this.addWeight('gamma', [c], 'float32', this.zeroInit ? tf.initializers.zeros() : tf.initializers.ones(), undefined, t);
    this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros(), undefined, t && !this.freezeShift);
    this.movingMean = this.addWeight('moving_mean', [c], 'float32', tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [c], 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const x4 = as4d(x);
      const training = kwargs.training === true && !this.statsFrozen;
      const seg: NormSegment = training
        ? { size: x.shape[x.rank - 1]!, mode: 'batch' }
        : { size: x.shape[x.rank - 1]!, mode: 'fixed', mean: this.movingMean!.read(), variance: this.movingVariance!.read() };
      const g = this.gamma!.read();
      const b = this.beta!.read();
      const y =
        kwargs.training === true
          ? normalizeTrain(x4, g, b, {
              eps: this.epsilon,
              segments: [seg],
              paramGrads: this.trainable,
              onBatchStats: (_i, mean, uvar) => {
                updateMoving(this.movingMean!, mean, this.momentum);
                updateMoving(this.movingVariance!, uvar, this.momentum);
              },
            })
          : normalize(x4, g, b, { eps: this.epsilon, segments: [seg] });
      return x.rank === 4 ? y : tf.reshape(y, x.shape);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config = { ...super.getConfig(), epsilon: this.epsilon, momentum: this.momentum, freezeShift: this.freezeShift, statsFrozen: this.statsFrozen };
    return this.zeroInit ? { ...config, zeroInit: true } : config;
  }
}

export interface InstanceNormArgs {
  name?: string;
  trainable?: boolean;
  epsilon?: number;
}

export class ReidInstanceNorm extends tf.layers.Layer {
  static className = CUSTOM_LAYER_CLASSES.instanceNorm;
  readonly epsilon: number;
  private gamma?: LayerVariable;
  private beta?: LayerVariable;

  constructor(args: InstanceNormArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = lastDim(inputShape);
    this.gamma = this.addWeight('gamma', [c], 'float32', tf.initializers.ones(), undefined, this.trainable);
    this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros(), undefined, this.trainable);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      const o = { eps: this.epsilon, segments: [{ size: x.shape[3], mode: 'instance' as const }], paramGrads: this.trainable };
      const g = this.gamma!.read();
      const b = this.beta!.read();
      return kwargs.training === true ? normalizeTrain(x, g, b, o) : normalize(x, g, b, o);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

export interface IbnArgs {
  name?: string;
  trainable?: boolean;
  ratio?: number;
  epsilon?: number;
  momentum?: number;
  statsFrozen?: boolean;
}

export class ReidIBNa extends tf.layers.Layer {
  static className = CUSTOM_LAYER_CLASSES.ibnA;
  readonly ratio: number;
  readonly epsilon: number;
  readonly momentum: number;
  readonly statsFrozen: boolean;
  private half = 0;
  private inGamma?: LayerVariable;
  private inBeta?: LayerVariable;
  private bnGamma?: LayerVariable;
  private bnBeta?: LayerVariable;
  private bnMean?: LayerVariable;
  private bnVar?: LayerVariable;

  constructor(args: IbnArgs = {}) {
    super(args);
    this.ratio = args.ratio ?? 0.5;
    this.epsilon = args.epsilon ?? 1e-5;
    this.momentum = args.momentum ?? 0.9;
    this.statsFrozen = !!args.statsFrozen;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = lastDim(inputShape);
    this.half = ibnHalf(c, this.ratio);
    const rest = c - this.half;
    const t = this.trainable;
    this.inGamma = this.addWeight('in_gamma', [this.half], 'float32', tf.initializers.ones(), undefined, t);
    this.inBeta = this.addWeight('in_beta', [this.half], 'float32', tf.initializers.zeros(), undefined, t);
    this.bnGamma = this.addWeight('bn_gamma', [rest], 'float32', tf.initializers.ones(), undefined, t);
    this.bnBeta = this.addWeight('bn_beta', [rest], 'float32', tf.initializers.zeros(), undefined, t);
    this.bnMean = this.addWeight('bn_moving_mean', [rest], 'float32', tf.initializers.zeros(), undefined, false);
    this.bnVar = this.addWeight('bn_moving_variance', [rest], 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      const rest = x.shape[3] - this.half;
      const batch = kwargs.training === true && !this.statsFrozen;
      const bnSeg: NormSegment = batch
        ? { size: rest, mode: 'batch' }
        : { size: rest, mode: 'fixed', mean: this.bnMean!.read(), variance: this.bnVar!.read() };
      const segments: NormSegment[] = [{ size: this.half, mode: 'instance' }, bnSeg];
      const g = tf.concat([this.inGamma!.read(), this.bnGamma!.read()]);
      const b = tf.concat([this.inBeta!.read(), this.bnBeta!.read()]);
      if (kwargs.training !== true) return normalize(x, g, b, { eps: this.epsilon, segments });
      return normalizeTrain(x, g, b, {
        eps: this.epsilon,
        segments,
        paramGrads: this.trainable,
        onBatchStats: (_i, mean, uvar) => {
          updateMoving(this.bnMean!, mean, this.momentum);
          updateMoving(this.bnVar!, uvar, this.momentum);
        },
      });
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ratio: this.ratio, epsilon: this.epsilon, momentum: this.momentum, statsFrozen: this.statsFrozen };
  }
}
