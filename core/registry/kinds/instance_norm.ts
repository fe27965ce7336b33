import type { PrimitiveKind } from '../types.js';
import { requireSpatial } from '../shapes.js';

/** InstanceNorm2d(affine=True, track_running_stats=False): per-sample, per-channel, biased variance. */
export const instanceNorm: PrimitiveKind = {
  id: 'instance_norm',
  label: 'InstanceNorm',
  category: 'normalization',
  description: 'Instance normalisation with affine weights and no running statistics.',
  primitive: true,
  freezable: true,
  isNorm: true,
  params: { eps: { type: 'float', default: 1e-5, min: 0, max: 1, label: 'Epsilon' } },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  inferShape(_p, [x]) {
    requireSpatial('instance_norm', x!);
    return [...x!];
  },
  paramCount: (_p, [x]) => ({ total: 2 * x![2]!, alwaysFrozen: 0 }),
};
