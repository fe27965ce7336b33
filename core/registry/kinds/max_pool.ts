import type { PrimitiveKind } from '../types.js';
import { requireSpatial, spatialOut } from '../shapes.js';

/**
 * nn.MaxPool2d: padding acts as −∞ (PyTorch), which matters when the input can be negative
 * (reid-strong-baseline's plain ResNet stem has no ReLU before the pool).
 */
export const maxPool: PrimitiveKind = {
  id: 'max_pool',
  label: 'Max pool',
  category: 'pooling',
  description: 'Max pooling with −∞ padding, as nn.MaxPool2d.',
  primitive: true,
  freezable: false,
  params: {
    kernel: { type: 'int', default: 3, min: 1, max: 15, label: 'Kernel' },
    stride: { type: 'int', default: 2, min: 1, max: 8, label: 'Stride' },
    padding: { type: 'int', default: 1, min: 0, max: 7, label: 'Padding' },
    ceilMode: { type: 'bool', default: false, label: 'Ceil mode' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.kernel}×${p.kernel}/${p.stride} p${p.padding}${p.ceilMode ? ' ceil' : ''}`,
  inferShape(p, [x]) {
    const [h, w, c] = requireSpatial('max_pool', x!);
    const k = p.kernel as number;
    const s = p.stride as number;
    const pad = p.padding as number;
    const [oh, ow] = spatialOut('max_pool', h, w, k, s, pad, p.ceilMode as boolean);
    return [oh, ow, c];
  },
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
};
