import type { PrimitiveKind } from '../types.js';
import { requireSpatial } from '../shapes.js';
import { CUSTOM_LAYER_CLASSES, inChannels, plainSpec, pyFloat } from '../lowering.js';

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
  lower: {
    weights: (l) => [plainSpec('gamma', `${l.name}.weight`, [inChannels(l)], 'ones', !l.frozen), plainSpec('beta', `${l.name}.bias`, [inChannels(l)], 'zeros', !l.frozen)],
    keras: ({ make, layer }) => [make(CUSTOM_LAYER_CLASSES.instanceNorm, { epsilon: layer.params.eps })],
    onnx: ({ node, weight, layer, cin, x }) =>
      node('InstanceNormalization', layer.name, [x, weight('gamma', [cin]), weight('beta', [cin])], [layer.name], [{ name: 'epsilon', type: 'float', value: layer.params.eps as number }]),
    torch: { module: (l) => `nn.InstanceNorm2d(${inChannels(l)}, eps=${pyFloat(l.params.eps as number)}, affine=True)` },
  },
};
