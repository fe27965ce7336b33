import type { PrimitiveKind } from '../types.js';
import { ShapeError } from '../types.js';
import { requireSpatial } from '../shapes.js';
import { bnSpecs, CUSTOM_LAYER_CLASSES, inChannels, plainSpec, pyFloat } from '../lowering.js';

/** Split point of IBN-a: channels [0, half) take InstanceNorm, [half, C) BatchNorm (IBN-Net, ibnnet/modules.py). */
export function ibnHalf(c: number, ratio: number): number {
  return Math.floor(c * ratio);
}

/**
 * IBN-a (Pan et al., ECCV 2018): the first floor(C·ratio) channels go through affine InstanceNorm, the
 * rest through BatchNorm, concatenated IN first. Porting note: the reference splits with torch.split by
 * chunk size, which breaks for odd C; we split explicitly at `half`, identical for every even width.
 */
export const ibnA: PrimitiveKind = {
  id: 'ibn_a',
  label: 'IBN-a',
  category: 'normalization',
  description: 'Half InstanceNorm, half BatchNorm (IN channels first).',
  primitive: true,
  hasBnStats: true,
  freezable: true,
  isNorm: true,
  params: {
    ratio: { type: 'float', default: 0.5, min: 0.01, max: 0.99, label: 'IN ratio' },
    eps: { type: 'float', default: 1e-5, min: 0, max: 1, label: 'Epsilon' },
    momentum: { type: 'float', default: 0.1, min: 0, max: 1, label: 'BN momentum (PyTorch)' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `IN ${Math.round((p.ratio as number) * 100)}%`,
  inferShape(p, [x]) {
    const [, , c] = requireSpatial('ibn_a', x!);
    const half = ibnHalf(c, p.ratio as number);
    if (half < 1 || c - half < 1)
      throw new ShapeError('E_INVALID_PARAM', `ibn_a cannot split ${c} channels with ratio ${p.ratio}`);
    return [...x!];
  },
  paramCount: (_p, [x]) => ({ total: 2 * x![2]!, alwaysFrozen: 0 }),
  lower: {
    /** IBN-a keeps its two halves as `IN.*` and `BN.*` (InstanceNorm has no running statistics). */
    weights(l) {
      const cin = inChannels(l);
      const half = ibnHalf(cin, l.params.ratio as number);
      return [
        plainSpec('in_gamma', `${l.name}.IN.weight`, [half], 'ones', !l.frozen),
        plainSpec('in_beta', `${l.name}.IN.bias`, [half], 'zeros', !l.frozen),
        ...bnSpecs(`${l.name}.BN`, 'bn_', cin - half, l),
      ];
    },
    keras: ({ make, layer: l }) => [
      make(CUSTOM_LAYER_CLASSES.ibnA, {
        ratio: l.params.ratio,
        epsilon: l.params.eps,
        momentum: 1 - (l.params.momentum as number),
        stats_frozen: l.statsFrozen,
      }),
    ],
    /** Split / InstanceNormalization / BatchNormalization / Concat, IN channels first. */
    onnx({ layer: l, node, weight, int64, batchNorm, cin: c, x }) {
      const half = ibnHalf(c, l.params.ratio as number);
      const split = int64(`${l.name}.split`, [half, c - half]);
      const [a, b] = [`${l.name}.IN.in`, `${l.name}.BN.in`];
      node('Split', split, [x, split], [a, b], [{ name: 'axis', type: 'int', value: 1 }]);
      node('InstanceNormalization', `${l.name}.IN`, [a, weight('in_gamma', [half]), weight('in_beta', [half])], [`${l.name}.IN`], [{ name: 'epsilon', type: 'float', value: l.params.eps as number }]);
      batchNorm('bn_', c - half, b, `${l.name}.BN`);
      node('Concat', `${l.name}.concat`, [`${l.name}.IN`, `${l.name}.BN`], [l.name], [{ name: 'axis', type: 'int', value: 1 }]);
    },
    torch: {
      module: (l) => `IBN(${inChannels(l)}, half=${ibnHalf(inChannels(l), l.params.ratio as number)}, eps=${pyFloat(l.params.eps as number)}, momentum=${pyFloat(l.params.momentum as number)})`,
      classes: `class IBN(nn.Module):
    """IBN-a (IBN-Net ibnnet/modules.py): InstanceNorm (affine) on channels [0, half), BatchNorm on
    [half, C), concatenated IN first."""

    def __init__(self, planes, half, eps=1e-05, momentum=0.1):
        super().__init__()
        self.half = half
        self.IN = nn.InstanceNorm2d(half, eps=eps, affine=True)
        self.BN = nn.BatchNorm2d(planes - half, eps=eps, momentum=momentum)

    def forward(self, x):
        a, b = torch.split(x, [self.half, x.shape[1] - self.half], 1)
        return torch.cat((self.IN(a.contiguous()), self.BN(b.contiguous())), 1)
`,
    },
  },
};
