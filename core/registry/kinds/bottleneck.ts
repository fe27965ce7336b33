import type { CompositeKind } from '../types.js';
import { requireSpatial } from '../shapes.js';
import { blockParams, conv, norm, normNote, relu, residualOut, shortcut } from './residual.js';

export const BOTTLENECK_EXPANSION = 4;

/**
 * torchvision Bottleneck, "ResNet v1.5": the stride sits on the 3×3 conv2, not on conv1.
 * 1×1 → bn1 → ReLU → 3×3/s → bn2 → ReLU → 1×1 (4·planes) → bn3, + shortcut, ReLU.
 */
export const bottleneck: CompositeKind = {
  id: 'bottleneck',
  label: 'Bottleneck block',
  category: 'blocks',
  description: 'ResNet-50/101/152 residual block (v1.5 stride placement); IBN-a replaces bn1.',
  primitive: false,
  expandable: true,
  freezable: true,
  hasNormSlot: true,
  params: blockParams,
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.planes}→${(p.planes as number) * BOTTLENECK_EXPANSION}, /${p.stride}${normNote(p)}`,
  build(ctx, p, { in: x }) {
    requireSpatial('bottleneck', x!.shape);
    const planes = p.planes as number;
    const stride = p.stride as number;
    let v = relu(ctx, 'relu1', norm(ctx, 'bn1', p.norm as string, conv(ctx, 'conv1', x!, planes, 1, 1)));
    v = relu(ctx, 'relu2', norm(ctx, 'bn2', 'bn', conv(ctx, 'conv2', v, planes, 3, stride)));
    v = norm(ctx, 'bn3', 'bn', conv(ctx, 'conv3', v, planes * BOTTLENECK_EXPANSION, 1, 1));
    return { out: residualOut(ctx, v, shortcut(ctx, x!, planes * BOTTLENECK_EXPANSION, stride), 'relu3', p.ibn_b as boolean) };
  },
};
