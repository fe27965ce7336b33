import type { CompositeKind } from '../types.js';
import type { ParamSchema } from '../../graph/params.js';
import { requireSpatial } from '../shapes.js';
import { BOTTLENECK_EXPANSION } from './bottleneck.js';
import { relu, residualOut } from './residual.js';

/**
 * ResNeSt (Zhang et al. 2020) as fast-reid builds it: `fastreid/modeling/backbones/resnest.py` (Bottleneck,
 * ResNeSt, `build_resnest_backbone`: radix 2, cardinality 1, bottleneck width 64, deep stem, avg-down, avd,
 * not avd-first) with `fastreid/layers/splat.py` SplAtConv2d. Its `get_norm` is BN only: fast-reid's ResNeSt
 * has no IBN and no non-local blocks (build_resnest_backbone reads neither WITH_IBN nor WITH_NL).
 */

/** Parameters of a ResNeSt bottleneck that a ResNeSt stage passes on to its blocks. */
export const resnestBlockParams: ParamSchema = {
  planes: { type: 'int', default: 64, min: 1, max: 4096, label: 'Planes' },
  stride: { type: 'int', default: 1, min: 1, max: 4, label: 'Stride' },
  radix: { type: 'int', default: 2, min: 1, max: 16, label: 'Radix', help: 'split-attention splits (fast-reid 2)' },
  cardinality: { type: 'int', default: 1, min: 1, max: 1024, label: 'Cardinality', help: 'fast-reid `groups` (1)' },
  bottleneck_width: { type: 'int', default: 64, min: 1, max: 1024, label: 'Bottleneck width', help: 'group width = int(planes · width / 64) · cardinality' },
  avd: { type: 'bool', default: true, label: 'avd', help: 'stride by a 3×3 average pool (avd_layer) instead of the 3×3 conv, in strided or first blocks' },
  avd_first: { type: 'bool', default: false, label: 'avd first', help: 'the average pool before the split-attention conv (fast-reid: after)' },
  avg_down: { type: 'bool', default: true, label: 'Average down', help: 'shortcut: average pool (stride) then 1×1 conv, as ResNet-D' },
};

/**
 * fast-reid ResNeSt `Bottleneck` (radix ≥ 1, BN, no DropBlock): conv1 1×1 → bn1 → ReLU → [avd_layer] →
 * conv2 (SplAtConv2d 3×3, padding = dilation) → [avd_layer] → conv3 1×1 → bn3, + shortcut, ReLU. Group
 * width = int(planes · bottleneck_width / 64) · cardinality; output 4·planes. avd (the block strides with
 * `avd_layer` = AvgPool2d(3, stride, padding 1) and conv2 has stride 1) when `avd` and (stride > 1 or
 * `is_first`). Shortcut when the stride is not 1 or the channels change: `downsample` = AvgPool2d(stride,
 * stride, ceil_mode, count_include_pad False) (only when it strides; an AvgPool2d(1, 1) is the identity),
 * 1×1 conv, BN as `downsample.0/1/2` with avg_down, else 1×1 conv (stride), BN as `downsample.0/1`.
 */
export const resnestBottleneck: CompositeKind = {
  id: 'resnest_bottleneck',
  label: 'ResNeSt bottleneck',
  category: 'blocks',
  description: 'ResNeSt residual block with a split-attention 3×3 conv (fast-reid resnest.py Bottleneck).',
  primitive: false,
  expandable: true,
  freezable: true,
  params: {
    ...resnestBlockParams,
    dilation: { type: 'int', default: 1, min: 1, max: 8, label: 'Dilation', help: 'of the split-attention conv (fast-reid LAST_STRIDE 1: 2 in layer4 after its first block)' },
    is_first: { type: 'bool', default: true, label: 'First of a stage', help: 'fast-reid is_first: avd even at stride 1 (not in layer1)' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) =>
    `${p.planes}→${(p.planes as number) * BOTTLENECK_EXPANSION}, /${p.stride}, radix ${p.radix}${(p.cardinality as number) > 1 ? `, cardinality ${p.cardinality}` : ''}${(p.dilation as number) > 1 ? `, dilation ${p.dilation}` : ''}`,
  build(ctx, p, { in: x }) {
    const [, , cin] = requireSpatial('resnest_bottleneck', x!.shape);
    const [planes, stride, card, dil] = [p.planes as number, p.stride as number, p.cardinality as number, p.dilation as number];
    const gw = Math.floor(planes * ((p.bottleneck_width as number) / 64)) * card;
    const out = planes * BOTTLENECK_EXPANSION;
    const avd = !!p.avd && (stride > 1 || !!p.is_first);
    const avdLayer = (v: typeof x) => ctx.add('avg_pool', 'avd_layer', { kernel: 3, stride, padding: 1, ceilMode: false, countIncludePad: true }, { in: v! }).out!;
    let v = ctx.add('conv2d', 'conv1', { filters: gw, kernel: 1, stride: 1, padding: 0, bias: false }, { in: x! }).out!;
    v = relu(ctx, 'relu1', ctx.add('batch_norm', 'bn1', {}, { in: v }).out!);
    if (avd && p.avd_first) v = avdLayer(v);
    v = ctx.add('splat_conv2d', 'conv2', { channels: gw, kernel: 3, stride: avd ? 1 : stride, padding: dil, dilation: dil, radix: p.radix!, cardinality: card, reduction_factor: 4 }, { in: v }).out!;
    if (avd && !p.avd_first) v = avdLayer(v);
    v = ctx.add('batch_norm', 'bn3', {}, { in: ctx.add('conv2d', 'conv3', { filters: out, kernel: 1, stride: 1, padding: 0, bias: false }, { in: v }).out! }).out!;
    let short = x!;
    if (stride !== 1 || cin !== out) {
      let d = x!;
      let i = 0;
      if (p.avg_down) {
        if (stride > 1) d = ctx.add('avg_pool', 'downsample.0', { kernel: stride, stride, padding: 0, ceilMode: true, countIncludePad: false }, { in: d }).out!;
        i = 1;
      }
      d = ctx.add('conv2d', `downsample.${i}`, { filters: out, kernel: 1, stride: p.avg_down ? 1 : stride, padding: 0, bias: false }, { in: d }).out!;
      short = ctx.add('batch_norm', `downsample.${i + 1}`, {}, { in: d }).out!;
    }
    return { out: residualOut(ctx, v, short, 'relu3') };
  },
};

/**
 * A ResNeSt stage (`layerN`, fast-reid `ResNeSt._make_layer`): `blocks` bottlenecks named 0..n-1; the first
 * strides (and gets `is_first`), the rest have stride 1. Stage `dilation` as fast-reid's: 1 or 2 → the
 * first block undilated and the rest dilated by it; 4 → the first block 2, the rest 4.
 */
export const resnestStage: CompositeKind = {
  id: 'resnest_stage',
  label: 'ResNeSt stage',
  category: 'blocks',
  description: 'A sequence of ResNeSt bottlenecks (layer1…layer4); expands in place into its blocks.',
  primitive: false,
  expandable: true,
  freezable: true,
  params: {
    blocks: { type: 'int', default: 3, min: 1, max: 64, label: 'Blocks' },
    ...resnestBlockParams,
    dilation: { type: 'int', default: 1, min: 1, max: 4, label: 'Dilation', help: 'fast-reid _make_layer dilation (LAST_STRIDE 1: layer4 has 2)' },
    is_first: { type: 'bool', default: true, label: 'avd in the first block', help: 'fast-reid is_first (False for layer1)' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.blocks}× ResNeSt ${p.planes}, /${p.stride}, radix ${p.radix}${(p.dilation as number) > 1 ? `, dilation ${p.dilation}` : ''}`,
  build(ctx, p, { in: x }) {
    const { blocks, dilation, is_first, ...block } = p;
    const d = dilation as number;
    let v = x!;
    for (let i = 0; i < (blocks as number); i++) {
      const first = i === 0;
      const params = { ...block, stride: first ? p.stride! : 1, dilation: first ? (d === 4 ? 2 : 1) : d, is_first: first ? !!is_first : false };
      v = ctx.add('resnest_bottleneck', String(i), params, { in: v }).out!;
    }
    return { out: v };
  },
};

/**
 * fast-reid ResNeSt's stem: with `deep_stem`, `conv1` = Sequential(conv 3×3/2 → stem_width, BN, ReLU,
 * conv 3×3 → stem_width, BN, ReLU, conv 3×3 → 2·stem_width) (children conv1.0 … conv1.6), else conv1 7×7/2
 * → 64; then bn1 → ReLU → maxpool 3×3/2 padding 1 (no ceil mode). S50: stem_width 32.
 */
export const resnestStem: CompositeKind = {
  id: 'resnest_stem',
  label: 'ResNeSt stem',
  category: 'blocks',
  description: 'Deep stem (three 3×3 convs) → BN → ReLU → max pool 3×3/2 (fast-reid resnest.py).',
  primitive: false,
  expandable: true,
  freezable: true,
  params: {
    deep_stem: { type: 'bool', default: true, label: 'Deep stem', help: 'three 3×3 convs instead of one 7×7' },
    stem_width: { type: 'int', default: 32, min: 1, max: 1024, label: 'Stem width', help: 'S50 32, S101 and deeper 64; the stem outputs 2× this' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => (p.deep_stem ? `3× 3×3 → ${2 * (p.stem_width as number)}` : '7×7/2 → 64'),
  build(ctx, p, { in: x }) {
    const sw = p.stem_width as number;
    const conv = (name: string, v: typeof x, filters: number, kernel: number, stride: number) =>
      ctx.add('conv2d', name, { filters, kernel, stride, padding: (kernel - 1) >> 1, bias: false }, { in: v! }).out!;
    let v: typeof x;
    if (p.deep_stem) {
      v = relu(ctx, 'conv1.2', ctx.add('batch_norm', 'conv1.1', {}, { in: conv('conv1.0', x, sw, 3, 2) }).out!);
      v = relu(ctx, 'conv1.5', ctx.add('batch_norm', 'conv1.4', {}, { in: conv('conv1.3', v, sw, 3, 1) }).out!);
      v = conv('conv1.6', v, 2 * sw, 3, 1);
    } else v = conv('conv1', x, 64, 7, 2);
    v = relu(ctx, 'relu', ctx.add('batch_norm', 'bn1', {}, { in: v }).out!);
    return { out: ctx.add('max_pool', 'maxpool', { kernel: 3, stride: 2, padding: 1 }, { in: v }).out! };
  },
};
