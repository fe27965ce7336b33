import type { PrimitiveKind } from '../types.js';
import { requireVector } from '../shapes.js';
import { inChannels, kernelBiasConfig, pyBool, pyInt, CompileError, type WeightSpec } from '../lowering.js';

/**
 * nn.Linear. reid-strong-baseline's classifier: bias only when the neck is 'no'. With `conv1x1` it is
 * fast-reid EmbeddingHead's reduction (`bottleneck.0 = nn.Conv2d(feat_dim, EMBEDDING_DIM, 1, 1, bias=False)` on
 * the pooled [N, C, 1, 1] map, fastreid/modeling/heads/embedding_head.py): the same product, its weight kept
 * as [out, in, 1, 1].
 */
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
    conv1x1: { type: 'bool', default: false, label: '1×1 conv', help: "fast-reid's embedding reduction: a 1×1 convolution on the pooled feature (weight [out, in, 1, 1])" },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => (p.conv1x1 ? `1×1 conv → ${p.units}` : `${p.units} classes`) + (p.bias ? ' + bias' : ''),
  inferShape: (p, [x]) => {
    requireVector('linear', x!);
    return [p.units as number];
  },
  paramCount: (p, [x]) => ({ total: x![0]! * (p.units as number) + (p.bias ? (p.units as number) : 0), alwaysFrozen: 0 }),
  macs: (p, [x]) => x![0]! * (p.units as number),
  lower: {
    weights(l) {
      const [u, cin, n, trainable] = [l.params.units as number, inChannels(l), l.name, !l.frozen];
      const out: WeightSpec[] = [
        // RSB's classifier without bias: weights_init_classifier, normal(std 0.001).
        {
          slot: 'kernel', shape: [cin, u], torchKey: `${n}.weight`, torchShape: l.params.conv1x1 ? [u, cin, 1, 1] : [u, cin], transform: 'transpose2d', buffer: false, trainable,
          init: l.params.bias || l.params.conv1x1 ? 'torch_default' : 'normal_0.001',
        },
      ];
      if (l.params.bias) out.push({ slot: 'bias', shape: [u], torchKey: `${n}.bias`, torchShape: [u], transform: 'none', buffer: false, trainable, init: 'torch_default' });
      return out;
    },
    keras: ({ make, layer: l, specs, cin }) => [make('Dense', { units: l.params.units, activation: 'linear', ...kernelBiasConfig(specs, cin, !!l.params.bias) })],
    onnx({ layer: l, node, weight, cin, x }) {
      if (l.inputShapes[0]!.length === 3) throw new CompileError(`${l.name}: a linear layer on a spatial input has no ONNX lowering`);
      const u = l.params.units as number;
      const ins = [x, weight('kernel', [cin, u])];
      if (l.params.bias) ins.push(weight('bias', [u]));
      node('Gemm', l.name, ins, [l.name], [{ name: 'transB', type: 'int', value: 0 }]);
    },
    torch: {
      module: (l) => `${l.params.conv1x1 ? 'Conv1x1' : 'nn.Linear'}(${inChannels(l)}, ${pyInt(l.params.units)}, bias=${pyBool(l.params.bias)})`,
      classes: `class Conv1x1(nn.Conv2d):
    """fast-reid EmbeddingHead's reduction: a 1x1 convolution on the pooled feature, taking and giving [N, C] vectors."""

    def __init__(self, cin, cout, bias=False):
        super().__init__(cin, cout, 1, 1, bias=bias)

    def forward(self, x):
        return super().forward(x[:, :, None, None]).flatten(1)
`,
    },
  },
};
