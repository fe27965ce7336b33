import type { PrimitiveKind } from '../types.js';
import { requireSpatial } from '../shapes.js';

/** Generalized-mean pooling (fast-reid GeneralizedMeanPooling / ...PoolingP): clamp(eps)^p, mean, ^(1/p). */
export const gemPool: PrimitiveKind = {
  id: 'gem_pool',
  label: 'GeM pool',
  category: 'pooling',
  description: 'Generalized-mean pooling to a vector; p fixed or learnable.',
  primitive: true,
  freezable: true,
  params: {
    p: { type: 'float', default: 3, min: 1, max: 10, label: 'p' },
    learnable: { type: 'bool', default: false, label: 'Learnable p' },
    eps: { type: 'float', default: 1e-6, min: 0, max: 1, label: 'Clamp min' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `p=${p.p}${p.learnable ? ' (learned)' : ''}`,
  inferShape: (_p, [x]) => [requireSpatial('gem_pool', x!)[2]],
  paramCount: (p) => ({ total: p.learnable ? 1 : 0, alwaysFrozen: 0 }),
};
