import type { PrimitiveKind } from '../types.js';
import { channels } from '../shapes.js';

/**
 * BatchNorm (2d on feature maps, 1d on vectors) with PyTorch's conventions: eps 1e-5, momentum 0.1
 * (weight of the new batch), unbiased running variance. `freezeShift` keeps β at zero and untrainable:
 * the BNNeck of reid-strong-baseline (`bottleneck.bias.requires_grad_(False)`).
 */
export const batchNorm: PrimitiveKind = {
  id: 'batch_norm',
  label: 'BatchNorm',
  category: 'normalization',
  description: 'Batch normalisation with running statistics (PyTorch eps/momentum conventions).',
  primitive: true,
  freezable: true,
  isNorm: true,
  params: {
    eps: { type: 'float', default: 1e-5, min: 0, max: 1, label: 'Epsilon' },
    momentum: { type: 'float', default: 0.1, min: 0, max: 1, label: 'Momentum (PyTorch)' },
    freezeShift: { type: 'bool', default: false, label: 'Frozen shift (β = 0)' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => (p.freezeShift ? 'β frozen at 0' : ''),
  inferShape: (_p, [x]) => [...x!],
  paramCount: (p, [x]) => ({ total: 2 * channels(x!), alwaysFrozen: p.freezeShift ? channels(x!) : 0 }),
};
