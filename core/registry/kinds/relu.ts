import type { PrimitiveKind } from '../types.js';

export const relu: PrimitiveKind = {
  id: 'relu',
  label: 'ReLU',
  category: 'layers',
  description: 'Rectified linear unit.',
  primitive: true,
  freezable: false,
  params: {},
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  inferShape: (_p, [x]) => [...x!],
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
};
