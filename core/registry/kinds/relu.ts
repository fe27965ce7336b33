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
  lower: {
    keras: ({ make }) => [make('Activation', { activation: 'relu' })],
    onnx: ({ node, layer, x }) => node('Relu', layer.name, [x], [layer.name]),
    torch: { module: () => 'nn.ReLU()' },
  },
};
