import { ShapeError, type PrimitiveKind } from '../types.js';
import { requireSpatial, spatialOut } from '../shapes.js';
import { auxLayerName, CUSTOM_LAYER_CLASSES, hwioToOihw, inboundRef, inChannels, kernelBiasConfig, pyBool, pyInt, type KerasLayerJson, type WeightSpec } from '../lowering.js';

/** Groups of a conv2d layer (nn.Conv2d `groups`; 1 when absent). */
const groupsOf = (p: { groups?: unknown }): number => (p.groups as number | undefined) ?? 1;
/** Dilation of a conv2d layer (nn.Conv2d `dilation`; 1 when absent). */
const dilationOf = (p: { dilation?: unknown }): number => (p.dilation as number | undefined) ?? 1;
/** The kernel's extent on the input: d·(k − 1) + 1 (PyTorch's output-size formula with dilation). */
const span = (k: number, d: number): number => d * (k - 1) + 1;

/**
 * nn.Conv2d with explicit symmetric zero padding (PyTorch semantics, not TF 'same'). `groups` splits the
 * input and output channels into that many independent convolutions (ResNeXt's cardinality, Xie et al.
 * CVPR 2017; RSB `modeling/backbones/senet.py` SEResNeXtBottleneck conv2). `dilation` spaces the kernel taps
 * (fast-reid `resnest.py`: layer4 with LAST_STRIDE 1 dilates its later blocks' 3×3 split-attention conv by 2).
 */
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
    groups: { type: 'int', default: 1, min: 1, max: 1024, label: 'Groups', help: 'nn.Conv2d groups (ResNeXt cardinality): input and output channels must divide by it' },
    dilation: { type: 'int', default: 1, min: 1, max: 8, label: 'Dilation', help: 'nn.Conv2d dilation: kernel taps d apart (stride 1 only)' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.kernel}×${p.kernel}/${p.stride} p${p.padding} → ${p.filters}${groupsOf(p) > 1 ? `, ${groupsOf(p)} groups` : ''}${dilationOf(p) > 1 ? `, dilation ${dilationOf(p)}` : ''}`,
  inferShape(p, [x]) {
    const [h, w, c] = requireSpatial('conv2d', x!);
    const g = groupsOf(p);
    if (c % g || (p.filters as number) % g)
      throw new ShapeError('E_INVALID_PARAM', `conv2d with ${g} groups needs input (${c}) and output (${p.filters}) channels divisible by ${g}`);
    const d = dilationOf(p);
    if (d > 1 && (p.stride as number) !== 1) throw new ShapeError('E_INVALID_PARAM', `conv2d with dilation ${d} needs stride 1 (got ${p.stride})`);
    const [oh, ow] = spatialOut('conv2d', h, w, span(p.kernel as number, d), p.stride as number, p.padding as number);
    return [oh, ow, p.filters as number];
  },
  paramCount(p, [x]) {
    const cin = x![2]! / groupsOf(p);
    const k = p.kernel as number;
    const f = p.filters as number;
    return { total: k * k * cin * f + (p.bias ? f : 0), alwaysFrozen: 0 };
  },
  macs: (p, [x], out) => ((p.kernel as number) ** 2 * x![2]! * out[0]! * out[1]! * out[2]!) / groupsOf(p),
  lower: {
    weights(l) {
      const [k, f, cin, n, trainable] = [l.params.kernel as number, l.params.filters as number, inChannels(l) / groupsOf(l.params), l.name, !l.frozen];
      const out: WeightSpec[] = [
        { slot: 'kernel', shape: [k, k, cin, f], torchKey: `${n}.weight`, torchShape: [f, cin, k, k], transform: 'oihw_to_hwio', buffer: false, trainable, init: 'torch_default' },
      ];
      if (l.params.bias) out.push({ slot: 'bias', shape: [f], torchKey: `${n}.bias`, torchShape: [f], transform: 'none', buffer: false, trainable, init: 'torch_default' });
      return out;
    },
    /**
     * PyTorch pads symmetrically; tfjs 'same' pads the extra row/column at the bottom/right for stride 2.
     * So: an explicit ZeroPadding2D + 'valid' unless the padding is exactly what 'same' does (stride 1,
     * odd kernel, padding (k−1)/2) or there is none.
     */
    keras({ layer: l, make, specs, cin, inbound, name }) {
      const [k, s, pad] = [l.params.kernel as number, l.params.stride as number, l.params.padding as number];
      const [g, d] = [groupsOf(l.params), dilationOf(l.params)];
      // tfjs has no grouped convolution, and no gradient for a dilated one: a custom layer (main/tfjs/layers)
      // pads symmetrically and convolves per group (a dilated kernel tap by tap). `seed: null` is filled per
      // layer by seedInitializers, so the run seed fixes its initial kernel as it does the built-in layers'.
      if (g > 1 || d > 1)
        return [make(CUSTOM_LAYER_CLASSES.groupConv, { filters: l.params.filters, kernel_size: k, strides: s, padding: pad, groups: g, use_bias: !!l.params.bias, ...(d > 1 ? { dilation: d } : {}), seed: null })];
      const sameIsSymmetric = s === 1 && k % 2 === 1 && pad === (span(k, d) - 1) / 2;
      const out: KerasLayerJson[] = [];
      let ins = inbound;
      let padding = 'valid';
      if (pad > 0 && sameIsSymmetric) padding = 'same';
      else if (pad > 0) {
        const padName = auxLayerName(l.name, 'pad');
        out.push(make('ZeroPadding2D', { padding: [[pad, pad], [pad, pad]], data_format: 'channels_last' }, padName));
        ins = [[inboundRef(padName)]];
      }
      const conv = { filters: l.params.filters, kernel_size: [k, k], strides: [s, s], padding, data_format: 'channels_last', dilation_rate: [d, d], activation: 'linear' };
      out.push(make('Conv2D', { ...conv, ...kernelBiasConfig(specs, k * k * cin, !!l.params.bias) }, name, ins));
      return out;
    },
    onnx({ layer: l, node, weight, cin: c, x }) {
      const [k, f, pad, g] = [l.params.kernel as number, l.params.filters as number, l.params.padding as number, groupsOf(l.params)];
      const cin = c / g;
      const ins = [x, weight('kernel', [f, cin, k, k], (w) => hwioToOihw(w, k, cin, f))];
      if (l.params.bias) ins.push(weight('bias', [f]));
      node('Conv', l.name, ins, [l.name], [
        { name: 'kernel_shape', type: 'ints', value: [k, k] },
        { name: 'strides', type: 'ints', value: [l.params.stride as number, l.params.stride as number] },
        { name: 'pads', type: 'ints', value: [pad, pad, pad, pad] },
        { name: 'dilations', type: 'ints', value: [dilationOf(l.params), dilationOf(l.params)] },
        { name: 'group', type: 'int', value: g },
      ]);
    },
    torch: {
      module: (l) =>
        `nn.Conv2d(${inChannels(l)}, ${pyInt(l.params.filters)}, kernel_size=${pyInt(l.params.kernel)}, stride=${pyInt(l.params.stride)}, padding=${pyInt(l.params.padding)}, ${dilationOf(l.params) > 1 ? `dilation=${dilationOf(l.params)}, ` : ''}${groupsOf(l.params) > 1 ? `groups=${groupsOf(l.params)}, ` : ''}bias=${pyBool(l.params.bias)})`,
    },
  },
};
