import type { PrimitiveKind } from '../types.js';
import { requireSpatial, spatialOut } from '../shapes.js';

/** nn.Conv2d with explicit symmetric zero padding (PyTorch semantics, not TF 'same'). */
export const conv2d: PrimitiveKind = {
  id: 'conv2d',
  label: 'Conv 2D',
  category: 'layers',
  description: 'Convolution with symmetric zero padding, as nn.Conv2d.',
  primitive: true,
  freezable: true,
  params: {
    filters: { type: 'int', default: 64, min: 1, max: 16384, label: 'Filters' },
    kernel: { type: 'int', default: 3, min: 1, max: 15, label: 'Kernel' },
    stride: { type: 'int', default: 1, min: 1, max: 8, label: 'Stride' },
    padding: { type: 'int', default: 1, min: 0, max: 7, label: 'Padding' },
    bias: { type: 'bool', default: false, label: 'Bias' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.kernel}×${p.kernel}/${p.stride} p${p.padding} → ${p.filters}`,
  inferShape(p, [x]) {
    const [h, w] = requireSpatial('conv2d', x!);
    const [oh, ow] = spatialOut('conv2d', h, w, p.kernel as number, p.stride as number, p.padding as number);
    return [oh, ow, p.filters as number];
  },
  paramCount(p, [x]) {
    const cin = x![2]!;
    const k = p.kernel as number;
    const f = p.filters as number;
    return { total: k * k * cin * f + (p.bias ? f : 0), alwaysFrozen: 0 };
  },
  macs: (p, [x], out) => (p.kernel as number) ** 2 * x![2]! * out[0]! * out[1]! * out[2]!,
};
