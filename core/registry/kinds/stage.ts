import type { CompositeKind } from '../types.js';
import { ShapeError } from '../types.js';
import { NORM_OPTIONS } from '../shapes.js';
import { nonLocalAfter, nonLocalName } from './non_local.js';
import { normNote } from './residual.js';

/**
 * A ResNet stage (`layerN`): `blocks` residual blocks named 0..n-1; only the first one strides.
 * `non_local` > 0 follows the last that many blocks with a non-local block each, named and placed as
 * fast-reid's WITH_NL does (fastreid/modeling/backbones/resnet.py: `NL_<n>.<k>` next to `layer<n>`).
 */
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
    ibn_b: { type: 'bool', default: false, label: 'IBN-b', help: "IBN-Net's ibn 'b': InstanceNorm after the addition of the stage's last block (none when it has one block)" },
    non_local: { type: 'int', default: 0, min: 0, max: 64, label: 'Non-local blocks', help: "fast-reid WITH_NL: a non-local block after each of the last n blocks (NL_<stage>.k)" },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.blocks}× ${p.block === 'basic_block' ? 'basic' : 'bottleneck'} ${p.planes}, /${p.stride}${normNote(p)}${p.non_local ? `, ${p.non_local} NL` : ''}`,
  build(ctx, p, { in: x }) {
    let v = x!;
    const [blocks, nl] = [p.blocks as number, (p.non_local as number | undefined) ?? 0];
    if (nl > blocks) throw new ShapeError('E_INVALID_PARAM', `a stage of ${blocks} blocks cannot hold ${nl} non-local blocks`);
    for (let i = 0; i < blocks; i++) {
      // IBN-Net _make_layer: `None if (ibn == 'b' and i < blocks - 1)`, and the first block never.
      const ibnB = !!p.ibn_b && i === blocks - 1 && i > 0;
      const blockParams = { planes: p.planes!, stride: i === 0 ? p.stride! : 1, norm: p.norm!, ...(ibnB ? { ibn_b: true } : {}) };
      v = ctx.add(p.block as string, String(i), blockParams, { in: v }).out!;
      const k = nonLocalAfter(blocks, nl, i);
      if (k >= 0) v = ctx.add('non_local', nonLocalName(ctx.prefix, k), {}, { in: v }).out!;
    }
    return { out: v };
  },
};
