import { ShapeError, type PrimitiveKind } from '../types.js';
import { requireSpatial, spatialOut } from '../shapes.js';
import { CUSTOM_LAYER_CLASSES, pyBool, pyInt } from '../lowering.js';
import { maxPool } from './max_pool.js';

/**
 * nn.AvgPool2d with PyTorch's conventions: symmetric zero padding, `ceil_mode`, and `count_include_pad`
 * (whether padded positions count in the divisor; positions past the padding that ceil mode adds never
 * count). fast-reid's ResNeSt (`fastreid/modeling/backbones/resnest.py`) uses it twice: `avd_layer`
 * AvgPool2d(3, stride, padding=1) (count_include_pad True) and the average-down shortcut `downsample.0`
 * AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False).
 */
export const avgPool: PrimitiveKind = {
  id: 'avg_pool',
  label: 'Average pool',
  category: 'pooling',
  description: 'Average pooling as nn.AvgPool2d (zero padding, ceil mode, count_include_pad).',
  primitive: true,
  freezable: false,
  params: {
    ...maxPool.params,
    countIncludePad: { type: 'bool', default: true, label: 'Count padding', help: 'nn.AvgPool2d count_include_pad: padded zeros count in the divisor' },
  },
  inputs: maxPool.inputs,
  outputs: maxPool.outputs,
  describe: (p) => `${p.kernel}×${p.kernel}/${p.stride} p${p.padding}${p.ceilMode ? ' ceil' : ''}${p.countIncludePad ? '' : ', pad not counted'}`,
  inferShape(p, [x]) {
    const [h, w, c] = requireSpatial('avg_pool', x!);
    const [k, pad] = [p.kernel as number, p.padding as number];
    if (pad > k / 2) throw new ShapeError('E_INVALID_PARAM', `avg_pool padding ${pad} must be at most half the kernel ${k} (as in PyTorch)`);
    const [oh, ow] = spatialOut('avg_pool', h, w, k, p.stride as number, pad, p.ceilMode as boolean);
    return [oh, ow, c];
  },
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  macs: (p, _x, out) => (p.kernel as number) ** 2 * out[0]! * out[1]! * out[2]!,
  lower: {
    keras: ({ make, layer: { params: p } }) => [
      make(CUSTOM_LAYER_CLASSES.avgPool, { pool_size: p.kernel, strides: p.stride, padding: p.padding, ceil_mode: !!p.ceilMode, count_include_pad: !!p.countIncludePad }),
    ],
    onnx({ node, layer, x }) {
      const p = layer.params;
      const [k, s, pad] = [p.kernel as number, p.stride as number, p.padding as number];
      node('AveragePool', layer.name, [x], [layer.name], [
        { name: 'kernel_shape', type: 'ints', value: [k, k] },
        { name: 'strides', type: 'ints', value: [s, s] },
        { name: 'pads', type: 'ints', value: [pad, pad, pad, pad] },
        { name: 'ceil_mode', type: 'int', value: p.ceilMode ? 1 : 0 },
        { name: 'count_include_pad', type: 'int', value: p.countIncludePad ? 1 : 0 },
      ]);
    },
    torch: {
      module: ({ params: p }) =>
        `nn.AvgPool2d(kernel_size=${pyInt(p.kernel)}, stride=${pyInt(p.stride)}, padding=${pyInt(p.padding)}, ceil_mode=${pyBool(p.ceilMode)}, count_include_pad=${pyBool(p.countIncludePad)})`,
    },
  },
};
