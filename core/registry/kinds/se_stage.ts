import type { CompositeKind } from '../types.js';
import { seBlockParams } from './se_bottleneck.js';

/**
 * A stage of reid-strong-baseline's SENet (`layerN`, `SENet._make_layer`): `blocks` SE bottlenecks named
 * 0..n-1; only the first strides and carries the downsample shortcut.
 */
export const seStage: CompositeKind = {
  id: 'se_stage',
  label: 'SE-ResNet stage',
  category: 'blocks',
  description: 'A sequence of SE bottlenecks (SENet layer1…layer4); expands in place into its blocks.',
  primitive: false,
  expandable: true,
  freezable: true,
  params: { blocks: { type: 'int', default: 3, min: 1, max: 64, label: 'Blocks' }, ...seBlockParams },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.blocks}× ${p.type} ${p.planes}, /${p.stride}${(p.groups as number) > 1 ? `, ${p.groups} groups` : ''}`,
  build(ctx, p, { in: x }) {
    const { blocks, ...block } = p;
    let v = x!;
    for (let i = 0; i < (blocks as number); i++) v = ctx.add('se_bottleneck', String(i), { ...block, stride: i === 0 ? p.stride! : 1 }, { in: v }).out!;
    return { out: v };
  },
};
