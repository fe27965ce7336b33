import type { CompositeKind } from '../types.js';
import { requireSpatial } from '../shapes.js';
import { blockParams, conv, norm, normNote, relu, residualOut, shortcut } from './residual.js';

/** torchvision BasicBlock (expansion 1): 3×3/s → bn1 → ReLU → 3×3 → bn2, + shortcut, ReLU. */
export const basicBlock: CompositeKind = {
  id: 'basic_block',
  label: 'Basic block',
  category: 'blocks',
  description: 'ResNet-18/34 residual block; IBN-a replaces bn1.',
  primitive: false,
  expandable: true,
  freezable: true,
  hasNormSlot: true,
  params: blockParams,
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.planes}, /${p.stride}${normNote(p)}`,
  build(ctx, p, { in: x }) {
    requireSpatial('basic_block', x!.shape);
    const planes = p.planes as number;
    const stride = p.stride as number;
    let v = conv(ctx, 'conv1', x!, planes, 3, stride);
    v = relu(ctx, 'relu1', norm(ctx, 'bn1', p.norm as string, v));
    v = norm(ctx, 'bn2', 'bn', conv(ctx, 'conv2', v, planes, 3, 1));
    return { out: residualOut(ctx, v, shortcut(ctx, x!, planes, stride), 'relu2', p.ibn_b as boolean) };
  },
};
