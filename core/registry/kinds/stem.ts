import type { CompositeKind } from '../types.js';

/**
 * ResNet stem: conv 7×7/2 pad 3 → BN → ReLU → max pool 3×3/2 pad 1 (torchvision, IBN-Net).
 * `relu: false` reproduces reid-strong-baseline's plain ResNet, whose stem ReLU is commented out
 * (RSB issues #4, #117; kept there so published results stay reproducible). `norm: 'in'`: IBN-b's stem,
 * whose bn1 is InstanceNorm2d(64, affine=True) (IBN-Net ibnnet/resnet_ibn.py, ibn_cfg[0] == 'b').
 */
export const stem: CompositeKind = {
  id: 'stem',
  label: 'ResNet stem',
  category: 'blocks',
  description: 'conv 7×7/2 → BN → ReLU (optional) → max pool 3×3/2.',
  primitive: false,
  expandable: true,
  freezable: true,
  params: {
    channels: { type: 'int', default: 64, min: 1, max: 1024, label: 'Channels' },
    relu: { type: 'bool', default: true, label: 'ReLU before pool', help: 'reid-strong-baseline plain ResNets omit it' },
    norm: { type: 'enum', default: 'bn', options: ['bn', 'in'], label: 'bn1 norm', help: "IBN-b's stem bn1 is an InstanceNorm (IBN-Net resnet_ibn.py)" },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `7×7/2 → ${p.channels}${p.relu ? '' : ', no ReLU'}${p.norm === 'in' ? ', IN' : ''}`,
  build(ctx, p, { in: x }) {
    let v = ctx.add('conv2d', 'conv1', { filters: p.channels!, kernel: 7, stride: 2, padding: 3, bias: false }, { in: x! }).out!;
    v = ctx.add(p.norm === 'in' ? 'instance_norm' : 'batch_norm', 'bn1', {}, { in: v }).out!;
    if (p.relu) v = ctx.add('relu', 'relu', {}, { in: v }).out!;
    v = ctx.add('max_pool', 'maxpool', { kernel: 3, stride: 2, padding: 1 }, { in: v }).out!;
    return { out: v };
  },
};
