import type { CompositeKind } from '../types.js';

/**
 * SENet's `layer0` (reid-strong-baseline `modeling/backbones/senet.py`): conv 7×7/2 → bn1 → relu1, or with
 * `input_3x3` (SENet-154) three 3×3 convs 64, 64, `channels` (the first stride 2) each with BN and ReLU;
 * then `pool`, max pool 3×3/2 without padding in ceil mode (kept for Caffe weights).
 */
export const senetStem: CompositeKind = {
  id: 'senet_stem',
  label: 'SENet stem',
  category: 'blocks',
  description: 'layer0 of SE-ResNet / SE-ResNeXt (7×7 conv) or SENet-154 (three 3×3 convs), then a ceil-mode max pool.',
  primitive: false,
  expandable: true,
  freezable: true,
  params: {
    channels: { type: 'int', default: 64, min: 1, max: 1024, label: 'Channels', help: 'inplanes: 64, SENet-154 128' },
    input_3x3: { type: 'bool', default: false, label: 'Three 3×3 convs', help: 'SENet-154' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.input_3x3 ? '3× 3×3' : '7×7/2'} → ${p.channels}`,
  build(ctx, p, { in: x }) {
    const convs: [number, number, number][] = p.input_3x3 ? [[64, 3, 2], [64, 3, 1], [p.channels as number, 3, 1]] : [[p.channels as number, 7, 2]];
    let v = x!;
    convs.forEach(([filters, kernel, stride], i) => {
      v = ctx.add('conv2d', `conv${i + 1}`, { filters, kernel, stride, padding: (kernel - 1) >> 1, bias: false }, { in: v }).out!;
      v = ctx.add('batch_norm', `bn${i + 1}`, {}, { in: v }).out!;
      v = ctx.add('relu', `relu${i + 1}`, {}, { in: v }).out!;
    });
    return { out: ctx.add('max_pool', 'pool', { kernel: 3, stride: 2, padding: 0, ceilMode: true }, { in: v }).out! };
  },
};
