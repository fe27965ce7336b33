import type { PrimitiveKind } from '../types.js';
import { requireSpatial } from '../shapes.js';

/** AdaptiveAvgPool2d(1) + flatten: the mean over all H×W positions. */
export const globalAvgPool: PrimitiveKind = {
  id: 'global_avg_pool',
  label: 'Global average pool',
  category: 'pooling',
  description: 'Mean over H×W, then flatten to a vector (AdaptiveAvgPool2d(1)).',
  primitive: true,
  globalPool: true,
  freezable: false,
  params: {},
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  inferShape: (_p, [x]) => [requireSpatial('global_avg_pool', x!)[2]],
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  lower: {
    keras: ({ make }) => [make('GlobalAveragePooling2D', { data_format: 'channels_last' })],
    onnx({ node, layer, x }) {
      node('GlobalAveragePool', `${layer.name}.pool`, [x], [`${layer.name}.pooled`]);
      node('Flatten', `${layer.name}.flatten`, [`${layer.name}.pooled`], [layer.name], [{ name: 'axis', type: 'int', value: 1 }]);
    },
    torch: {
      module: () => 'GlobalAvgPool()',
      classes: `class GlobalAvgPool(nn.Module):
    """AdaptiveAvgPool2d(1) followed by flatten: [N, C, H, W] -> [N, C]."""

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, 1).flatten(1)
`,
    },
  },
};
