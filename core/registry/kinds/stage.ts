import type { CompositeKind } from '../types.js';
import { NORM_OPTIONS } from '../shapes.js';

/** A ResNet stage (`layerN`): `blocks` residual blocks named 0..n-1; only the first one strides. */
export const stage: CompositeKind = {
  id: 'stage',
  label: 'ResNet stage',
  category: 'blocks',
  description: 'A sequence of residual blocks (layer1…layer4); expands in place into its blocks.',
  primitive: false,
  expandable: true,
  freezable: true,
  hasNormSlot: true,
  params: {
    block: { type: 'enum', default: 'bottleneck', options: ['bottleneck', 'basic_block'], label: 'Block' },
    blocks: { type: 'int', default: 3, min: 1, max: 64, label: 'Blocks' },
    planes: { type: 'int', default: 64, min: 1, max: 4096, label: 'Planes' },
    stride: { type: 'int', default: 1, min: 1, max: 4, label: 'Stride' },
    norm: { type: 'enum', default: 'bn', options: NORM_OPTIONS, label: 'bn1 norm', help: 'IBN-a replaces bn1 of every block' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.blocks}× ${p.block === 'basic_block' ? 'basic' : 'bottleneck'} ${p.planes}, /${p.stride}${p.norm !== 'bn' ? `, ${p.norm}` : ''}`,
  build(ctx, p, { in: x }) {
    let v = x!;
    for (let i = 0; i < (p.blocks as number); i++) {
      const blockParams = { planes: p.planes!, stride: i === 0 ? p.stride! : 1, norm: p.norm! };
      v = ctx.add(p.block as string, String(i), blockParams, { in: v }).out!;
    }
    return { out: v };
  },
};
