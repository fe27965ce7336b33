import type { PrimitiveKind } from '../types.js';
import { ShapeError } from '../types.js';
import { requireSpatial } from '../shapes.js';
import { CUSTOM_LAYER_CLASSES, hwioToOihw, inChannels, pyInt, type WeightSpec } from '../lowering.js';

/** Squeezed channels of an SE module: C // reduction (RSB `senet.py` SEModule fc1). */
export function seSqueezed(c: number, reduction: number): number {
  return Math.floor(c / reduction);
}

/** A 1×1 convolution with bias as its two weight slots (`<fc>_kernel`, `<fc>_bias`; nn.Conv2d `<fc>.weight/bias`). */
function fcSpecs(layer: string, fc: string, cin: number, cout: number, trainable: boolean): WeightSpec[] {
  return [
    { slot: `${fc}_kernel`, shape: [1, 1, cin, cout], torchKey: `${layer}.${fc}.weight`, torchShape: [cout, cin, 1, 1], transform: 'oihw_to_hwio', buffer: false, trainable, init: 'torch_default' },
    { slot: `${fc}_bias`, shape: [cout], torchKey: `${layer}.${fc}.bias`, torchShape: [cout], transform: 'none', buffer: false, trainable, init: 'torch_default' },
  ];
}

/**
 * Squeeze-and-excitation (Hu et al., CVPR 2018) as reid-strong-baseline builds it
 * (`modeling/backbones/senet.py` SEModule): x · σ(fc2(ReLU(fc1(AdaptiveAvgPool2d(1)(x))))), fc1 / fc2 1×1
 * convolutions with bias, C → C // reduction → C. State_dict keys `<name>.fc1.weight` … as RSB's.
 */
export const seModule: PrimitiveKind = {
  id: 'se_module',
  label: 'Squeeze-excitation',
  category: 'layers',
  description: 'Channel gate: global pool → 1×1 conv → ReLU → 1×1 conv → sigmoid, times the input (SENet).',
  primitive: true,
  freezable: true,
  params: {
    reduction: { type: 'int', default: 16, min: 1, max: 1024, label: 'Reduction' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `reduction ${p.reduction}`,
  inferShape(p, [x]) {
    const [, , c] = requireSpatial('se_module', x!);
    if (seSqueezed(c, p.reduction as number) < 1) throw new ShapeError('E_INVALID_PARAM', `se_module cannot reduce ${c} channels by ${p.reduction}`);
    return [...x!];
  },
  paramCount(p, [x]) {
    const c = x![2]!;
    const r = seSqueezed(c, p.reduction as number);
    return { total: 2 * c * r + r + c, alwaysFrozen: 0 };
  },
  macs: (p, [x]) => 2 * x![2]! * seSqueezed(x![2]!, p.reduction as number) + x![0]! * x![1]! * x![2]! * 2,
  lower: {
    weights(l) {
      const c = inChannels(l);
      const r = seSqueezed(c, l.params.reduction as number);
      return [...fcSpecs(l.name, 'fc1', c, r, !l.frozen), ...fcSpecs(l.name, 'fc2', r, c, !l.frozen)];
    },
    // `seed: null`: filled per layer by seedInitializers (the run seed fixes the initial fc weights).
    keras: ({ make, layer }) => [make(CUSTOM_LAYER_CLASSES.seModule, { reduction: layer.params.reduction, seed: null })],
    /** GlobalAveragePool → Conv 1×1 → Relu → Conv 1×1 → Sigmoid → Mul (broadcast over H×W). */
    onnx({ layer: l, node, weight, cin: c, x }) {
      const r = seSqueezed(c, l.params.reduction as number);
      const n = l.name;
      const conv = (fc: string, cin: number, cout: number, input: string, out: string) =>
        node('Conv', `${n}.${fc}`, [input, weight(`${fc}_kernel`, [cout, cin, 1, 1], (w) => hwioToOihw(w, 1, cin, cout)), weight(`${fc}_bias`, [cout])], [out], [
          { name: 'kernel_shape', type: 'ints', value: [1, 1] },
        ]);
      node('GlobalAveragePool', `${n}.avg_pool`, [x], [`${n}.avg_pool`]);
      conv('fc1', c, r, `${n}.avg_pool`, `${n}.fc1`);
      node('Relu', `${n}.relu`, [`${n}.fc1`], [`${n}.relu`]);
      conv('fc2', r, c, `${n}.relu`, `${n}.fc2`);
      node('Sigmoid', `${n}.sigmoid`, [`${n}.fc2`], [`${n}.sigmoid`]);
      node('Mul', `${n}.mul`, [x, `${n}.sigmoid`], [n]);
    },
    torch: {
      module: (l) => `SEModule(${inChannels(l)}, reduction=${pyInt(l.params.reduction)})`,
      classes: `class SEModule(nn.Module):
    """Squeeze-and-excitation as reid-strong-baseline's modeling/backbones/senet.py SEModule."""

    def __init__(self, channels, reduction):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1, padding=0)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1, padding=0)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))
`,
    },
  },
};
