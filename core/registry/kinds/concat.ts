import type { PrimitiveKind, PortSpec } from '../types.js';
import { ShapeError } from '../types.js';
import { requireVector } from '../shapes.js';

export const CONCAT_PORTS = 8;

/**
 * torch.cat of feature vectors along the channel axis, inputs in port order (in0, in1, … the connected
 * ones). fast-reid's MGN evaluates on its eight heads' features concatenated
 * (fastreid/modeling/meta_arch/mgn.py: `torch.cat([b1, b2, b3, b21, b22, b31, b32, b33], dim=1)`) and its
 * triplet losses read the 2- and 3-part features concatenated.
 */
export const concat: PrimitiveKind = {
  id: 'concat',
  label: 'Concatenate',
  category: 'head',
  description: 'Feature vectors joined end to end (torch.cat(dim=1)), in port order.',
  primitive: true,
  freezable: false,
  params: {},
  inputs: Array.from({ length: CONCAT_PORTS }, (_, i): PortSpec => ({ name: `in${i}`, ...(i >= 2 ? { optional: true } : {}) })),
  outputs: [{ name: 'out' }],
  inferShape(_p, xs) {
    let total = 0;
    for (const x of xs) {
      if (x.length !== 1) throw new ShapeError('E_RANK_MISMATCH', `concat joins feature vectors, got a feature map [${x.join(', ')}]; add a pooling layer first`);
      total += requireVector('concat', x);
    }
    return [total];
  },
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  lower: {
    keras: ({ make }) => [make('Concatenate', { axis: -1 })],
    onnx: ({ node, layer, ins }) => node('Concat', layer.name, ins, [layer.name], [{ name: 'axis', type: 'int', value: 1 }]),
    torch: { module: () => null, expr: (ins) => `torch.cat([${ins.join(', ')}], dim=1)` },
  },
};
