import type { PrimitiveKind } from '../types.js';
import { requireSpatial, spatialOut } from '../shapes.js';
import { CUSTOM_LAYER_CLASSES, pyBool, pyInt } from '../lowering.js';

/**
 * nn.MaxPool2d: padding acts as −∞ (PyTorch), which matters when the input can be negative
 * (reid-strong-baseline's plain ResNet stem has no ReLU before the pool).
 */
export const maxPool: PrimitiveKind = {
  id: 'max_pool',
  label: 'Max pool',
  category: 'pooling',
  description: 'Max pooling with −∞ padding, as nn.MaxPool2d.',
  primitive: true,
  freezable: false,
  params: {
    kernel: { type: 'int', default: 3, min: 1, max: 15, label: 'Kernel' },
    stride: { type: 'int', default: 2, min: 1, max: 8, label: 'Stride' },
    padding: { type: 'int', default: 1, min: 0, max: 7, label: 'Padding' },
    ceilMode: { type: 'bool', default: false, label: 'Ceil mode' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.kernel}×${p.kernel}/${p.stride} p${p.padding}${p.ceilMode ? ' ceil' : ''}`,
  inferShape(p, [x]) {
    const [h, w, c] = requireSpatial('max_pool', x!);
    const k = p.kernel as number;
    const s = p.stride as number;
    const pad = p.padding as number;
    const [oh, ow] = spatialOut('max_pool', h, w, k, s, pad, p.ceilMode as boolean);
    return [oh, ow, c];
  },
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  lower: {
    keras({ make, layer: { params: p } }) {
      const k = p.kernel as number;
      const s = p.stride as number;
      if ((p.padding as number) === 0 && !p.ceilMode)
        return [make('MaxPooling2D', { pool_size: [k, k], strides: [s, s], padding: 'valid', data_format: 'channels_last' })];
      return [make(CUSTOM_LAYER_CLASSES.maxPool, { pool_size: k, strides: s, padding: p.padding, ceil_mode: !!p.ceilMode })];
    },
    onnx({ node, layer, x }) {
      const p = layer.params;
      const [k, s, pad] = [p.kernel as number, p.stride as number, p.padding as number];
      node('MaxPool', layer.name, [x], [layer.name], [
        { name: 'kernel_shape', type: 'ints', value: [k, k] },
        { name: 'strides', type: 'ints', value: [s, s] },
        { name: 'pads', type: 'ints', value: [pad, pad, pad, pad] },
        { name: 'ceil_mode', type: 'int', value: p.ceilMode ? 1 : 0 },
      ]);
    },
    torch: {
      module: ({ params: p }) => `nn.MaxPool2d(kernel_size=${pyInt(p.kernel)}, stride=${pyInt(p.stride)}, padding=${pyInt(p.padding)}, ceil_mode=${pyBool(p.ceilMode)})`,
    },
  },
};
