import type { PrimitiveKind } from '../types.js';
import { ShapeError } from '../types.js';

/** Element-wise sum of two tensors of identical shape (the residual connection). */
export const add: PrimitiveKind = {
  id: 'add',
  label: 'Add',
  category: 'layers',
  description: 'Element-wise sum (residual connection).',
  primitive: true,
  freezable: false,
  params: {},
  inputs: [{ name: 'a' }, { name: 'b' }],
  outputs: [{ name: 'out' }],
  inferShape(_p, [a, b]) {
    if (a!.length !== b!.length)
      throw new ShapeError('E_RANK_MISMATCH', `add joins a [${a!.join(', ')}] and a [${b!.join(', ')}] tensor`);
    const ca = a![a!.length - 1];
    const cb = b![b!.length - 1];
    if (ca !== cb) throw new ShapeError('E_CHANNEL_MISMATCH', `add joins ${ca} and ${cb} channels`);
    if (a!.some((d, i) => d !== b![i]))
      throw new ShapeError('E_SPATIAL_MISMATCH', `add joins ${a!.slice(0, 2).join('×')} and ${b!.slice(0, 2).join('×')} feature maps`);
    return [...a!];
  },
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  lower: {
    keras: ({ make }) => [make('Add', {})],
    onnx: ({ node, layer, ins }) => node('Add', layer.name, [ins[0]!, ins[1]!], [layer.name]),
    torch: { module: () => null, expr: ([a, b]) => `${a} + ${b}` },
  },
};
