import type { PrimitiveKind } from '../types.js';
import { ShapeError } from '../types.js';
import { requireSpatial } from '../shapes.js';

/** Split point of IBN-a: channels [0, half) take InstanceNorm, [half, C) BatchNorm (IBN-Net, ibnnet/modules.py). */
export function ibnHalf(c: number, ratio: number): number {
  return Math.floor(c * ratio);
}

/**
 * IBN-a (Pan et al., ECCV 2018): the first floor(C·ratio) channels go through affine InstanceNorm, the
 * rest through BatchNorm, concatenated IN first. Porting note: the reference splits with torch.split by
 * chunk size, which breaks for odd C; we split explicitly at `half`, identical for every even width.
 */
export const ibnA: PrimitiveKind = {
  id: 'ibn_a',
  label: 'IBN-a',
  category: 'normalization',
  description: 'Half InstanceNorm, half BatchNorm (IN channels first).',
  primitive: true,
  freezable: true,
  isNorm: true,
  params: {
    ratio: { type: 'float', default: 0.5, min: 0.01, max: 0.99, label: 'IN ratio' },
    eps: { type: 'float', default: 1e-5, min: 0, max: 1, label: 'Epsilon' },
    momentum: { type: 'float', default: 0.1, min: 0, max: 1, label: 'BN momentum (PyTorch)' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `IN ${Math.round((p.ratio as number) * 100)}%`,
  inferShape(p, [x]) {
    const [, , c] = requireSpatial('ibn_a', x!);
    const half = ibnHalf(c, p.ratio as number);
    if (half < 1 || c - half < 1)
      throw new ShapeError('E_INVALID_PARAM', `ibn_a cannot split ${c} channels with ratio ${p.ratio}`);
    return [...x!];
  },
  paramCount: (_p, [x]) => ({ total: 2 * x![2]!, alwaysFrozen: 0 }),
};
