import type { PrimitiveKind } from '../types.js';
import { requireVector } from '../shapes.js';

/** nn.Linear. reid-strong-baseline's classifier: bias only when the neck is 'no'. */
export const linear: PrimitiveKind = {
  id: 'linear',
  label: 'Linear classifier',
  category: 'head',
  description: 'Fully connected layer (identity classifier).',
  primitive: true,
  freezable: true,
  params: {
    units: { type: 'int', default: 751, min: 1, max: 1_000_000, label: 'Classes' },
    bias: { type: 'bool', default: false, label: 'Bias' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.units} classes${p.bias ? ' + bias' : ''}`,
  inferShape: (p, [x]) => {
    requireVector('linear', x!);
    return [p.units as number];
  },
  paramCount: (p, [x]) => ({ total: x![0]! * (p.units as number) + (p.bias ? (p.units as number) : 0), alwaysFrozen: 0 }),
  macs: (p, [x]) => x![0]! * (p.units as number),
};
