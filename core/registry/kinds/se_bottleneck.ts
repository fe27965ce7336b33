import type { BuildCtx, CompositeKind, Value } from '../types.js';
import type { ParamSchema } from '../../graph/params.js';
import { requireSpatial } from '../shapes.js';
import { norm, relu, residualOut } from './residual.js';
import { BOTTLENECK_EXPANSION } from './bottleneck.js';

/** The three bottlenecks of reid-strong-baseline's `modeling/backbones/senet.py`. */
export const SE_BLOCK_TYPES = ['se_resnet', 'se_resnext', 'senet154'] as const;

/** Parameters of an SE bottleneck (and of an SE stage, which passes them to its blocks). */
export const seBlockParams: ParamSchema = {
  type: { type: 'enum', default: 'se_resnet', options: SE_BLOCK_TYPES, label: 'Block', help: 'SEResNetBottleneck, SEResNeXtBottleneck or SEBottleneck (SENet-154)' },
  planes: { type: 'int', default: 64, min: 1, max: 4096, label: 'Planes' },
  stride: { type: 'int', default: 1, min: 1, max: 4, label: 'Stride' },
  groups: { type: 'int', default: 1, min: 1, max: 1024, label: 'Groups', help: 'cardinality of the 3×3 conv (SE-ResNeXt 32, SENet-154 64)' },
  reduction: { type: 'int', default: 16, min: 1, max: 1024, label: 'SE reduction' },
  base_width: { type: 'int', default: 4, min: 1, max: 1024, label: 'Base width', help: 'SE-ResNeXt: width = floor(planes · base_width / 64) · groups' },
  downsample_kernel: { type: 'int', default: 1, min: 1, max: 7, label: 'Downsample kernel', help: 'SENet-154 uses 3 (padding 1) in layer2–4' },
  downsample_padding: { type: 'int', default: 0, min: 0, max: 3, label: 'Downsample padding' },
};

function conv(ctx: BuildCtx, name: string, x: Value, filters: number, kernel: number, stride: number, groups = 1): Value {
  return ctx.add('conv2d', name, { filters, kernel, stride, padding: (kernel - 1) >> 1, bias: false, groups }, { in: x }).out!;
}

/**
 * An SE bottleneck as reid-strong-baseline builds it (`modeling/backbones/senet.py`, Hu et al. CVPR 2018):
 * conv1 → bn1 → ReLU → conv2 (3×3, groups) → bn2 → ReLU → conv3 → bn3 → se_module, + shortcut, ReLU.
 *  - se_resnet (SEResNetBottleneck): Caffe stride placement, on the 1×1 conv1; widths planes, planes.
 *  - se_resnext (SEResNeXtBottleneck): width floor(planes · base_width / 64) · groups, stride on conv2.
 *  - senet154 (SEBottleneck): widths 2·planes, 4·planes, stride on conv2.
 * Output 4·planes channels; the shortcut is `downsample.0/1` (conv k×k stride s, BN) when the stride is
 * not 1 or the channels change (SENet._make_layer).
 */
export const seBottleneck: CompositeKind = {
  id: 'se_bottleneck',
  label: 'SE bottleneck',
  category: 'blocks',
  description: 'SE-ResNet / SE-ResNeXt / SENet-154 residual block with squeeze-and-excitation (RSB senet.py).',
  primitive: false,
  expandable: true,
  freezable: true,
  params: seBlockParams,
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.type} ${p.planes}→${(p.planes as number) * BOTTLENECK_EXPANSION}, /${p.stride}${(p.groups as number) > 1 ? `, ${p.groups} groups` : ''}`,
  build(ctx, p, { in: x }) {
    const [, , cin] = requireSpatial('se_bottleneck', x!.shape);
    const [planes, stride, groups] = [p.planes as number, p.stride as number, p.groups as number];
    const out = planes * BOTTLENECK_EXPANSION;
    const [w1, w2, s1, s2] =
      p.type === 'se_resnext'
        ? [Math.floor((planes * (p.base_width as number)) / 64) * groups, Math.floor((planes * (p.base_width as number)) / 64) * groups, 1, stride]
        : p.type === 'senet154'
          ? [planes * 2, planes * 4, 1, stride]
          : [planes, planes, stride, 1];
    let v = relu(ctx, 'relu1', norm(ctx, 'bn1', 'bn', conv(ctx, 'conv1', x!, w1, 1, s1)));
    v = relu(ctx, 'relu2', norm(ctx, 'bn2', 'bn', conv(ctx, 'conv2', v, w2, 3, s2, groups)));
    v = norm(ctx, 'bn3', 'bn', conv(ctx, 'conv3', v, out, 1, 1));
    v = ctx.add('se_module', 'se_module', { reduction: p.reduction! }, { in: v }).out!;
    let short = x!;
    if (stride !== 1 || cin !== out) {
      const dk = p.downsample_kernel as number;
      const d = ctx.add('conv2d', 'downsample.0', { filters: out, kernel: dk, stride, padding: p.downsample_padding!, bias: false }, { in: x! }).out!;
      short = ctx.add('batch_norm', 'downsample.1', {}, { in: d }).out!;
    }
    return { out: residualOut(ctx, v, short, 'relu3') };
  },
};
