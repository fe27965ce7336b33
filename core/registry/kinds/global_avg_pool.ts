import type { PrimitiveKind } from '../types.js';
import { requireSpatial } from '../shapes.js';

/** AdaptiveAvgPool2d(1) + flatten: the mean over all H×W positions. */
export const globalAvgPool: PrimitiveKind = {
  id: 'global_avg_pool',
  label: 'Global average pool',
  category: 'pooling',
  description: 'Mean over H×W, then flatten to a vector (AdaptiveAvgPool2d(1)).',
  primitive: true,
  freezable: false,
  params: {},
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  inferShape: (_p, [x]) => [requireSpatial('global_avg_pool', x!)[2]],
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
};
