import { ShapeError, type CompositeKind, type PrimitiveKind } from '../types.js';
import { requireSpatial } from '../shapes.js';
import { CUSTOM_LAYER_CLASSES, pyInt } from '../lowering.js';

/**
 * Split attention (Zhang et al., "ResNeSt: Split-Attention Networks", 2020) as fast-reid builds it
 * (`fastreid/layers/splat.py` SplAtConv2d, rSoftMax). A map of R·C channels holds R radix splits of C
 * channels each (split r = channels [r·C, (r+1)·C)); C divides into `cardinality` groups.
 */

/** Channels per radix split of an R·C-channel map; throws ShapeError when R does not divide it. */
function splitChannels(kind: string, rc: number, radix: number, cardinality: number): number {
  if (rc % radix) throw new ShapeError('E_INVALID_PARAM', `${kind}: ${rc} channels do not split into radix ${radix}`);
  const c = rc / radix;
  if (c % cardinality) throw new ShapeError('E_INVALID_PARAM', `${kind}: ${c} channels per split do not divide into cardinality ${cardinality}`);
  return c;
}

/**
 * SplAtConv2d's `gap`: the radix splits summed (`sum(torch.split(x, C, dim=1))`), then
 * `F.adaptive_avg_pool2d(gap, 1)`. Input [H, W, R·C] → [1, 1, C]. No weights.
 */
export const radixPool: PrimitiveKind = {
  id: 'radix_pool',
  label: 'Radix pool',
  category: 'pooling',
  description: 'Split attention: sum of the radix splits, averaged over H×W to 1×1 (SplAtConv2d gap).',
  primitive: true,
  freezable: false,
  params: { radix: { type: 'int', default: 2, min: 1, max: 16, label: 'Radix' } },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `radix ${p.radix}`,
  inferShape(p, [x]) {
    const [, , rc] = requireSpatial('radix_pool', x!);
    return [1, 1, splitChannels('radix_pool', rc, p.radix as number, 1)];
  },
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  macs: (_p, [x]) => x![0]! * x![1]! * x![2]!,
  lower: {
    keras: ({ make, layer }) => [make(CUSTOM_LAYER_CLASSES.radixPool, { radix: layer.params.radix })],
    /** NCHW: Reshape [N, R, C, H, W] → ReduceSum over R → GlobalAveragePool. */
    onnx({ layer: l, node, int64, x }) {
      const [h, w, rc] = l.inputShapes[0] as [number, number, number];
      const r = l.params.radix as number;
      let v = x;
      if (r > 1) {
        node('Reshape', `${l.name}.splits`, [x, int64(`${l.name}.split_shape`, [0, r, rc / r, h, w])], [`${l.name}.splits`]);
        node('ReduceSum', `${l.name}.sum`, [`${l.name}.splits`, int64(`${l.name}.radix_axis`, [1])], [`${l.name}.sum`], [{ name: 'keepdims', type: 'int', value: 0 }]);
        v = `${l.name}.sum`;
      }
      node('GlobalAveragePool', `${l.name}.pool`, [v], [l.name]);
    },
    torch: {
      module: (l) => `RadixPool(${pyInt(l.params.radix)})`,
      classes: `class RadixPool(nn.Module):
    """fast-reid fastreid/layers/splat.py SplAtConv2d.forward: gap = sum of the radix splits, adaptive_avg_pool2d(gap, 1)."""

    def __init__(self, radix):
        super().__init__()
        self.radix = radix

    def forward(self, x):
        if self.radix > 1:
            x = sum(torch.split(x, x.shape[1] // self.radix, dim=1))
        return F.adaptive_avg_pool2d(x, 1)
`,
    },
  },
};

/**
 * SplAtConv2d's rSoftMax and weighted sum: the attention logits a [1, 1, R·C] (fc2's output, laid out as
 * `view(N, cardinality, R, -1)`) get a softmax over the R splits per cardinal group (a sigmoid when R = 1),
 * reordered to R blocks of C (`transpose(1, 2).reshape(N, -1)`); the output is Σ_r a_r · x_r over the
 * radix splits x_r of the map x [H, W, R·C]. Output [H, W, C]. No weights.
 */
export const rSoftMax: PrimitiveKind = {
  id: 'rsoftmax',
  label: 'Radix softmax',
  category: 'layers',
  description: 'Split attention: softmax over the radix splits (rSoftMax), then the attention-weighted sum of the splits.',
  primitive: true,
  freezable: false,
  params: {
    radix: { type: 'int', default: 2, min: 1, max: 16, label: 'Radix' },
    cardinality: { type: 'int', default: 1, min: 1, max: 1024, label: 'Cardinality' },
  },
  inputs: [{ name: 'in', label: 'splits' }, { name: 'attention', label: 'logits' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `radix ${p.radix}${(p.cardinality as number) > 1 ? `, cardinality ${p.cardinality}` : ''}`,
  inferShape(p, [x, a]) {
    const [h, w, rc] = requireSpatial('rsoftmax', x!);
    const [ah, aw, arc] = requireSpatial('rsoftmax', a!);
    if (ah !== 1 || aw !== 1 || arc !== rc)
      throw new ShapeError('E_SPATIAL_MISMATCH', `rsoftmax needs attention logits [1, 1, ${rc}] for a [${h}, ${w}, ${rc}] map, got [${a!.join(', ')}]`);
    return [h, w, splitChannels('rsoftmax', rc, p.radix as number, p.cardinality as number)];
  },
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  macs: (_p, [x]) => x![0]! * x![1]! * x![2]!,
  lower: {
    keras: ({ make, layer }) => [make(CUSTOM_LAYER_CLASSES.rSoftMax, { radix: layer.params.radix, cardinality: layer.params.cardinality })],
    /**
     * NCHW: a Reshape [N, G, R, C/G] → Softmax(axis 2) → Transpose [N, R, G, C/G] → Reshape [N, R, C, 1, 1];
     * x Reshape [N, R, C, H, W]; Mul → ReduceSum over R. R = 1: Sigmoid(a) · x.
     */
    onnx({ layer: l, node, int64, ins: [x, a] }) {
      const [h, w, rc] = l.inputShapes[0] as [number, number, number];
      const [r, g] = [l.params.radix as number, l.params.cardinality as number];
      const n = l.name;
      if (r === 1) {
        node('Sigmoid', `${n}.sigmoid`, [a!], [`${n}.sigmoid`]);
        node('Mul', `${n}.mul`, [x!, `${n}.sigmoid`], [n]);
        return;
      }
      const c = rc / r;
      node('Reshape', `${n}.groups`, [a!, int64(`${n}.group_shape`, [0, g, r, c / g])], [`${n}.groups`]);
      node('Softmax', `${n}.softmax`, [`${n}.groups`], [`${n}.softmax`], [{ name: 'axis', type: 'int', value: 2 }]);
      node('Transpose', `${n}.transpose`, [`${n}.softmax`], [`${n}.transpose`], [{ name: 'perm', type: 'ints', value: [0, 2, 1, 3] }]);
      node('Reshape', `${n}.weights`, [`${n}.transpose`, int64(`${n}.weight_shape`, [0, r, c, 1, 1])], [`${n}.weights`]);
      node('Reshape', `${n}.splits`, [x!, int64(`${n}.split_shape`, [0, r, c, h, w])], [`${n}.splits`]);
      node('Mul', `${n}.mul`, [`${n}.splits`, `${n}.weights`], [`${n}.mul`]);
      node('ReduceSum', `${n}.sum`, [`${n}.mul`, int64(`${n}.radix_axis`, [1])], [n], [{ name: 'keepdims', type: 'int', value: 0 }]);
    },
    torch: {
      module: (l) => `RSoftMax(${pyInt(l.params.radix)}, ${pyInt(l.params.cardinality)})`,
      classes: `class RSoftMax(nn.Module):
    """fast-reid fastreid/layers/splat.py rSoftMax and the attention-weighted sum of SplAtConv2d.forward."""

    def __init__(self, radix, cardinality):
        super().__init__()
        self.radix = radix
        self.cardinality = cardinality

    def forward(self, x, atten):
        batch, rchannel = x.shape[:2]
        if self.radix > 1:
            atten = atten.view(batch, self.cardinality, self.radix, -1).transpose(1, 2)
            atten = F.softmax(atten, dim=1).reshape(batch, -1, 1, 1)
            splits = torch.split(x, rchannel // self.radix, dim=1)
            attens = torch.split(atten, rchannel // self.radix, dim=1)
            return sum(att * split for att, split in zip(attens, splits))
        return torch.sigmoid(atten) * x
`,
    },
  },
};

/** SplAtConv2d's inter_channels: max(in_channels · radix // reduction_factor, 32). */
export function splatInterChannels(inChannels: number, radix: number, reductionFactor: number): number {
  return Math.max(Math.floor((inChannels * radix) / reductionFactor), 32);
}

/**
 * fast-reid's SplAtConv2d (`fastreid/layers/splat.py`, with a norm layer, no DropBlock, no rectified conv):
 * `conv` (k×k, C_in → R·C, groups cardinality·R, dilation) → `bn0` → ReLU → `gap` (radix pool) → `fc1`
 * (1×1 with bias, C → inter, groups cardinality) → `bn1` → ReLU → `fc2` (1×1 with bias, inter → R·C,
 * groups cardinality) → `rsoftmax` (softmax over the splits, weighted sum). Child names are fast-reid's,
 * so the state_dict keys are `<name>.conv.weight`, `<name>.bn0.*`, `<name>.fc1.*`, `<name>.bn1.*`, `<name>.fc2.*`.
 * inter = max(C_in · R // reduction_factor, 32). Output [H', W', C].
 */
export const splatConv: CompositeKind = {
  id: 'splat_conv2d',
  label: 'Split-attention conv',
  category: 'blocks',
  description: 'ResNeSt split-attention convolution (fast-reid SplAtConv2d): grouped conv into radix splits, attention over the splits.',
  primitive: false,
  expandable: true,
  freezable: true,
  params: {
    channels: { type: 'int', default: 64, min: 1, max: 16384, label: 'Channels' },
    kernel: { type: 'int', default: 3, min: 1, max: 15, label: 'Kernel' },
    stride: { type: 'int', default: 1, min: 1, max: 8, label: 'Stride' },
    padding: { type: 'int', default: 1, min: 0, max: 7, label: 'Padding' },
    dilation: { type: 'int', default: 1, min: 1, max: 8, label: 'Dilation' },
    radix: { type: 'int', default: 2, min: 1, max: 16, label: 'Radix' },
    cardinality: { type: 'int', default: 1, min: 1, max: 1024, label: 'Cardinality', help: 'fast-reid `groups`' },
    reduction_factor: { type: 'int', default: 4, min: 1, max: 64, label: 'Reduction factor' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.kernel}×${p.kernel}/${p.stride} → ${p.channels}, radix ${p.radix}${(p.cardinality as number) > 1 ? `, cardinality ${p.cardinality}` : ''}${(p.dilation as number) > 1 ? `, dilation ${p.dilation}` : ''}`,
  build(ctx, p, { in: x }) {
    const [, , cin] = requireSpatial('splat_conv2d', x!.shape);
    const [c, r, g] = [p.channels as number, p.radix as number, p.cardinality as number];
    const inter = splatInterChannels(cin, r, p.reduction_factor as number);
    const conv = ctx.add('conv2d', 'conv', { filters: c * r, kernel: p.kernel!, stride: p.stride!, padding: p.padding!, bias: false, groups: g * r, dilation: p.dilation! }, { in: x! }).out!;
    const splits = ctx.add('relu', 'relu', {}, { in: ctx.add('batch_norm', 'bn0', {}, { in: conv }).out! }).out!;
    const gap = ctx.add('radix_pool', 'gap', { radix: r }, { in: splits }).out!;
    const fc1 = ctx.add('conv2d', 'fc1', { filters: inter, kernel: 1, stride: 1, padding: 0, bias: true, groups: g }, { in: gap }).out!;
    const hidden = ctx.add('relu', 'relu1', {}, { in: ctx.add('batch_norm', 'bn1', {}, { in: fc1 }).out! }).out!;
    const fc2 = ctx.add('conv2d', 'fc2', { filters: c * r, kernel: 1, stride: 1, padding: 0, bias: true, groups: g }, { in: hidden }).out!;
    return { out: ctx.add('rsoftmax', 'rsoftmax', { radix: r, cardinality: g }, { in: splits, attention: fc2 }).out! };
  },
};
