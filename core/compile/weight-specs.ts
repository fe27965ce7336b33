import type { Layer } from '../graph/evaluate.js';
import { ibnHalf } from '../registry/index.js';

/**
 * How a primitive layer's weights are laid out in tfjs (the order of the tfjs layer's `getWeights()`)
 * and where each comes from in a PyTorch state_dict in reid-strong-baseline's key layout.
 * Porting notes: conv OIHW → HWIO; Linear [out, in] → [in, out];
 * BN weight/bias/running_mean/running_var → gamma/beta/moving_mean/moving_variance;
 * IBN-a keeps its two halves as `IN.*` and `BN.*` (InstanceNorm has no running statistics).
 */
export type WeightTransform = 'none' | 'oihw_to_hwio' | 'transpose2d';

export interface WeightSpec {
  /** tfjs-side slot name, unique within the layer. */
  slot: string;
  /** tfjs layout. */
  shape: number[];
  torchKey: string;
  torchShape: number[];
  transform: WeightTransform;
  /** A running statistic (PyTorch buffer), not a parameter. */
  buffer: boolean;
  trainable: boolean;
  /** How a freshly built layer initialises this slot when the checkpoint lacks it. */
  init: 'zeros' | 'ones' | 'he_normal_fan_out' | 'torch_default' | 'normal_0.001' | 'const_3';
}

function bnSpecs(prefix: string, slotPrefix: string, c: number, layer: Layer, freezeShift = false): WeightSpec[] {
  const p = !layer.frozen;
  return [
    { slot: `${slotPrefix}gamma`, shape: [c], torchKey: `${prefix}.weight`, torchShape: [c], transform: 'none', buffer: false, trainable: p, init: 'ones' },
    { slot: `${slotPrefix}beta`, shape: [c], torchKey: `${prefix}.bias`, torchShape: [c], transform: 'none', buffer: false, trainable: p && !freezeShift, init: 'zeros' },
    { slot: `${slotPrefix}moving_mean`, shape: [c], torchKey: `${prefix}.running_mean`, torchShape: [c], transform: 'none', buffer: true, trainable: false, init: 'zeros' },
    { slot: `${slotPrefix}moving_variance`, shape: [c], torchKey: `${prefix}.running_var`, torchShape: [c], transform: 'none', buffer: true, trainable: false, init: 'ones' },
  ];
}

export function weightSpecs(layer: Layer): WeightSpec[] {
  const n = layer.name;
  const p = layer.params;
  const inShape = layer.inputShapes[0] ?? [];
  const cin = inShape[inShape.length - 1] ?? 0;
  const trainable = !layer.frozen;
  switch (layer.kind) {
    case 'conv2d': {
      const k = p.kernel as number;
      const f = p.filters as number;
      const out: WeightSpec[] = [
        { slot: 'kernel', shape: [k, k, cin, f], torchKey: `${n}.weight`, torchShape: [f, cin, k, k], transform: 'oihw_to_hwio', buffer: false, trainable, init: 'torch_default' },
      ];
      if (p.bias) out.push({ slot: 'bias', shape: [f], torchKey: `${n}.bias`, torchShape: [f], transform: 'none', buffer: false, trainable, init: 'torch_default' });
      return out;
    }
    case 'batch_norm':
      return bnSpecs(n, '', cin, layer, p.freezeShift as boolean);
    case 'instance_norm':
      return [
        { slot: 'gamma', shape: [cin], torchKey: `${n}.weight`, torchShape: [cin], transform: 'none', buffer: false, trainable, init: 'ones' },
        { slot: 'beta', shape: [cin], torchKey: `${n}.bias`, torchShape: [cin], transform: 'none', buffer: false, trainable, init: 'zeros' },
      ];
    case 'ibn_a': {
      const half = ibnHalf(cin, p.ratio as number);
      return [
        { slot: 'in_gamma', shape: [half], torchKey: `${n}.IN.weight`, torchShape: [half], transform: 'none', buffer: false, trainable, init: 'ones' },
        { slot: 'in_beta', shape: [half], torchKey: `${n}.IN.bias`, torchShape: [half], transform: 'none', buffer: false, trainable, init: 'zeros' },
        ...bnSpecs(`${n}.BN`, 'bn_', cin - half, layer),
      ];
    }
    case 'linear': {
      const u = p.units as number;
      const out: WeightSpec[] = [
        { slot: 'kernel', shape: [cin, u], torchKey: `${n}.weight`, torchShape: [u, cin], transform: 'transpose2d', buffer: false, trainable, init: p.bias ? 'torch_default' : 'normal_0.001' },
      ];
      if (p.bias) out.push({ slot: 'bias', shape: [u], torchKey: `${n}.bias`, torchShape: [u], transform: 'none', buffer: false, trainable, init: 'torch_default' });
      return out;
    }
    case 'gem_pool':
      return p.learnable
        ? [{ slot: 'p', shape: [1], torchKey: `${n}.p`, torchShape: [1], transform: 'none', buffer: false, trainable, init: 'const_3' }]
        : [];
    default:
      return [];
  }
}
