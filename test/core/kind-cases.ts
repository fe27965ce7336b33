/**
 * The block registry's test cases, one list per kind (shared by the conformance suite and the webgpu
 * placement test): parameters and channels-last input shapes, seeded weights from each slot's declared
 * init, and one case compiled as a model of its own.
 */
import { compileToKeras, Evaluator, KINDS, weightSpecs, type Analysis, type Layer, type Params, type Shape, type Value } from '../../core/index.js';
import { rng } from '../export/graphs.js';

/** Cases per kind: parameters and input shapes (channels-last). Every registry kind must appear. */
export const CASES: Record<string, { params: Params; inputs: Shape[] }[]> = {
  input: [{ params: {}, inputs: [] }],
  conv2d: [
    { params: { filters: 32, kernel: 3, stride: 2, padding: 1, bias: false }, inputs: [[33, 17, 8]] },
    { params: { filters: 16, kernel: 7, stride: 2, padding: 3, bias: true }, inputs: [[64, 32, 3]] },
    { params: { filters: 8, kernel: 1, stride: 1, padding: 0, bias: false }, inputs: [[5, 4, 6]] },
    { params: { filters: 12, kernel: 3, stride: 2, padding: 1, bias: true, groups: 4 }, inputs: [[9, 7, 8]] },
    { params: { filters: 8, kernel: 3, stride: 1, padding: 2, bias: false, groups: 2, dilation: 2 }, inputs: [[7, 5, 4]] },
    { params: { filters: 6, kernel: 3, stride: 1, padding: 2, bias: true, dilation: 2 }, inputs: [[6, 5, 3]] },
  ],
  avg_pool: [
    { params: { kernel: 3, stride: 2, padding: 1, ceilMode: false, countIncludePad: true }, inputs: [[9, 6, 4]] },
    { params: { kernel: 3, stride: 1, padding: 1, ceilMode: false, countIncludePad: true }, inputs: [[4, 3, 4]] },
    { params: { kernel: 2, stride: 2, padding: 0, ceilMode: true, countIncludePad: false }, inputs: [[7, 5, 4]] },
  ],
  radix_pool: [{ params: { radix: 2 }, inputs: [[5, 3, 8]] }, { params: { radix: 1 }, inputs: [[4, 4, 6]] }],
  rsoftmax: [
    { params: { radix: 2, cardinality: 2 }, inputs: [[1, 1, 8], [1, 1, 8]] },
    { params: { radix: 1, cardinality: 1 }, inputs: [[1, 1, 6], [1, 1, 6]] },
  ],
  splat_conv2d: [
    { params: { channels: 8, kernel: 3, stride: 2, padding: 1, dilation: 1, radix: 2, cardinality: 2 }, inputs: [[9, 6, 8]] },
    { params: { channels: 8, kernel: 3, stride: 1, padding: 2, dilation: 2, radix: 1, cardinality: 1 }, inputs: [[6, 4, 8]] },
  ],
  resnest_bottleneck: [
    { params: { planes: 8, stride: 2, radix: 2, avd: true, avd_first: false, avg_down: true }, inputs: [[9, 6, 16]] },
    { params: { planes: 8, stride: 1, radix: 2, cardinality: 2, avd: true, avd_first: true, avg_down: false, dilation: 2, is_first: true }, inputs: [[6, 4, 16]] },
    { params: { planes: 4, stride: 1, radix: 2, avd: true, is_first: false }, inputs: [[5, 4, 16]] },
  ],
  resnest_stage: [{ params: { blocks: 3, planes: 8, stride: 1, dilation: 2, radix: 2, is_first: true }, inputs: [[6, 4, 16]] }],
  resnest_stem: [{ params: { deep_stem: true, stem_width: 8 }, inputs: [[33, 17, 3]] }, { params: { deep_stem: false }, inputs: [[32, 16, 3]] }],
  batch_norm: [{ params: {}, inputs: [[8, 4, 12]] }, { params: { freezeShift: true }, inputs: [[24]] }],
  instance_norm: [{ params: {}, inputs: [[8, 4, 12]] }],
  ibn_a: [{ params: {}, inputs: [[8, 4, 64]] }, { params: { ratio: 0.25 }, inputs: [[6, 6, 10]] }],
  relu: [{ params: {}, inputs: [[3, 3, 5]] }],
  max_pool: [
    { params: { kernel: 3, stride: 2, padding: 1 }, inputs: [[64, 32, 4]] },
    { params: { kernel: 3, stride: 2, padding: 0, ceilMode: true }, inputs: [[33, 17, 4]] },
  ],
  add: [{ params: {}, inputs: [[4, 4, 8], [4, 4, 8]] }],
  global_avg_pool: [{ params: {}, inputs: [[16, 8, 32]] }],
  gem_pool: [{ params: {}, inputs: [[4, 4, 16]] }, { params: { learnable: true }, inputs: [[4, 4, 16]] }],
  linear: [
    { params: { units: 10, bias: true }, inputs: [[32]] },
    { params: { units: 751, bias: false }, inputs: [[64]] },
    { params: { units: 12, bias: false, conv1x1: true }, inputs: [[20]] },
  ],
  chunk: [
    { params: { parts: 3, index: 2 }, inputs: [[8, 4, 6]] },
    { params: { parts: 2, index: 0 }, inputs: [[5, 3, 4]] },
    { params: { parts: 3, index: 1 }, inputs: [[6, 2, 4]] },
  ],
  concat: [{ params: {}, inputs: Array.from({ length: 8 }, () => [6]) }],
  head_loss: [],
  stem: [
    { params: { relu: true }, inputs: [[64, 32, 3]] },
    { params: { relu: false, channels: 32 }, inputs: [[66, 34, 3]] },
    { params: { relu: true, norm: 'in', channels: 16 }, inputs: [[32, 16, 3]] },
  ],
  bottleneck: [
    { params: { planes: 16, stride: 1, norm: 'bn' }, inputs: [[16, 8, 64]] },
    { params: { planes: 16, stride: 2, norm: 'ibn_a' }, inputs: [[16, 8, 32]] },
    { params: { planes: 8, stride: 1, norm: 'in' }, inputs: [[8, 4, 16]] },
    { params: { planes: 8, stride: 2, norm: 'bn', ibn_b: true }, inputs: [[8, 4, 16]] },
  ],
  basic_block: [
    { params: { planes: 16, stride: 1, norm: 'bn' }, inputs: [[16, 8, 16]] },
    { params: { planes: 32, stride: 2, norm: 'ibn_a' }, inputs: [[15, 9, 16]] },
    { params: { planes: 16, stride: 1, norm: 'bn', ibn_b: true }, inputs: [[8, 4, 16]] },
  ],
  stage: [
    { params: { block: 'bottleneck', blocks: 3, planes: 16, stride: 1, norm: 'ibn_a' }, inputs: [[16, 8, 16]] },
    { params: { block: 'basic_block', blocks: 2, planes: 32, stride: 2, norm: 'bn' }, inputs: [[16, 8, 16]] },
    { params: { block: 'bottleneck', blocks: 3, planes: 8, stride: 2, norm: 'bn', non_local: 2, ibn_b: true }, inputs: [[8, 6, 16]] },
  ],
  non_local: [{ params: {}, inputs: [[6, 4, 16]] }, { params: { inter_channels: 4 }, inputs: [[5, 3, 8]] }],
  non_local_attention: [{ params: {}, inputs: [[4, 3, 2], [4, 3, 2], [4, 3, 2]] }],
  neck: [{ params: { type: 'bnneck' }, inputs: [[64]] }, { params: { type: 'no' }, inputs: [[64]] }],
  se_module: [{ params: { reduction: 4 }, inputs: [[6, 4, 32]] }],
  se_bottleneck: [
    { params: { type: 'se_resnet', planes: 8, stride: 2, reduction: 4 }, inputs: [[8, 6, 16]] },
    { params: { type: 'se_resnext', planes: 32, stride: 1, groups: 4, reduction: 16, base_width: 4 }, inputs: [[6, 4, 64]] },
    { params: { type: 'senet154', planes: 8, stride: 2, groups: 4, reduction: 8, downsample_kernel: 3, downsample_padding: 1 }, inputs: [[7, 5, 16]] },
  ],
  se_stage: [{ params: { type: 'se_resnext', blocks: 2, planes: 32, stride: 2, groups: 8, reduction: 16 }, inputs: [[8, 6, 32]] }],
  senet_stem: [{ params: { channels: 16 }, inputs: [[33, 17, 3]] }, { params: { channels: 32, input_3x3: true }, inputs: [[32, 16, 3]] }],
  output: [],
};


export const PORTS = (kind: string) => KINDS.find((k) => k.id === kind)!.inputs.map((p) => p.name);

export const INPUT = 'input';
export const BATCH = 2;

/**
 * Seeded values for every slot, from the slot's declared init only (works for any kind): kernels
 * N(0, 1/fan_in), scales 0.5–1.5, shifts N(0, 0.1²) (0 where never trainable, BNNeck), running means
 * N(0, 0.2²), running variances 0.5–1.5, a learnable constant (GeM p) 2.5.
 */
export function seededWeights(layers: Layer[], seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const out = new Map<string, Float32Array>();
  for (const l of layers)
    for (const s of weightSpecs(l)) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const fanIn = s.torchShape.slice(1).reduce((a, b) => a * b, 1);
      const fixedZero = !s.buffer && s.init === 'zeros' && !s.trainable && !l.frozen;
      const draw = (): number => {
        if (s.buffer) return s.init === 'ones' ? 0.5 + r.u() : 0.2 * r.n();
        if (s.init === 'ones') return 0.5 + r.u();
        if (s.init === 'zeros') return fixedZero ? 0 : 0.1 * r.n();
        if (s.init === 'const_3') return 2.5;
        return s.shape.length > 1 ? r.n() / Math.sqrt(fanIn) : 0.1 * r.n();
      };
      out.set(`${l.name}/${s.slot}`, Float32Array.from({ length: size }, draw));
    }
  return out;
}

/**
 * One case as a model of its own: an image input (a vector kind gets `input [2, 2, C] → global average
 * pool` in front), the kind named `x`, its main output (`out`, or a neck's `eval`) as the eval feature.
 */
export function caseModel(kind: string, params: Params, inputs: Shape[], frozen: boolean, pooled = false) {
  const ev = new Evaluator('n');
  const first = inputs[0]!;
  const spatial = (first.length === 3 ? first : [2, 2, first[0]!]) as [number, number, number];
  // The image input as a layer (the input node's parameter bounds are for images; kinds are tested on small maps).
  const params0 = { height: spatial[0], width: spatial[1], channels: spatial[2] };
  ev.layers.push({ name: INPUT, kind: 'input', params: params0, inputs: [], inputShapes: [], shape: spatial, nodeId: 'n', frozen: false, statsFrozen: false, paramCount: 0, trainableCount: 0, macs: 0 });
  ev.names.add(INPUT);
  const inputLayer: Value = { layer: INPUT, shape: spatial };
  const src = first.length === 3 ? inputLayer : ev.add('global_avg_pool', 'pre', {}, { in: inputLayer }, { frozen: false, statsFrozen: false }).out!;
  const values: Record<string, Value> = {};
  PORTS(kind).forEach((p) => (values[p] = src));
  const before = ev.layers.length;
  const outs = ev.add(kind, 'x', params, values, { frozen, statsFrozen: frozen });
  let main = (outs.out ?? outs.eval)!;
  // ONNX exports a feature vector: a spatial output gets a global average pool behind it.
  if (pooled && main.shape.length === 3) main = ev.add('global_avg_pool', 'post', {}, { in: main }, { frozen: false, statsFrozen: false }).out!;
  const analysis = { diagnostics: [], outputs: { evalFeature: main.layer }, layers: ev.layers } as unknown as Analysis;
  return { compiled: compileToKeras(analysis), own: ev.layers.slice(before), shape: main.shape, inputShape: spatial };
}

