/**
 * core/compile/onnx-grad.ts operator by operator against torch.autograd (float64): each case is a small
 * graph of the operators the ONNX lowering emits (PyTorch semantics in grad_ref.py), run forward and
 * backward on onnxruntime with a random upstream gradient; the output, every input gradient and the
 * BatchNorm batch statistics must match. The input gradient is checked through a trainable tensor `x`
 * added to the (zero) graph input. ResNeSt's operators (fast-reid resnest.py / splat.py) are here as its
 * lowering emits them: grouped and dilated Conv, AvgPool2d's avd / average-down forms, and the whole
 * split-attention conv (radix pool, rSoftMax's Softmax / Sigmoid, Reshape / Transpose / ReduceSum).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTrainingGraph, type OnnxAttribute, type OnnxInitializer, type OnnxModelJs, type OnnxNode } from '../../../core/index.js';
import { loadOnnxRuntime } from '../../../main/onnx/runtime.js';
import { serializeOnnx } from '../../../main/onnx/serialize.js';
import { maxDiff } from '../../parity/fixtures.js';
import { runPython } from '../python.js';

type Spec = { id: string; kind: string; x: number[]; [k: string]: unknown };
const CASES: Spec[] = [
  { id: 'conv3x3_s2_bias', kind: 'conv', x: [2, 3, 9, 7], co: 4, k: 3, s: 2, p: 1, bias: true },
  { id: 'conv7x7_s2', kind: 'conv', x: [2, 3, 12, 10], co: 4, k: 7, s: 2, p: 3 },
  { id: 'conv3x3_s1_wide', kind: 'conv', x: [2, 32, 6, 5], co: 8, k: 3, s: 1, p: 1 },
  { id: 'conv1x1_s2', kind: 'conv', x: [2, 4, 7, 6], co: 5, k: 1, s: 2, p: 0 },
  { id: 'conv1x1', kind: 'conv', x: [2, 4, 5, 5], co: 3, k: 1, s: 1, p: 0 },
  // Grouped / dilated (ResNeSt: SplAtConv2d's conv has groups radix·cardinality, layer4 dilation 2 at LAST_STRIDE 1).
  { id: 'conv3x3_g2', kind: 'conv', x: [2, 4, 6, 5], co: 6, k: 3, s: 1, p: 1, g: 2 },
  { id: 'conv3x3_s2_g4_bias', kind: 'conv', x: [2, 8, 7, 6], co: 4, k: 3, s: 2, p: 1, g: 4, bias: true },
  { id: 'conv3x3_g2_wide', kind: 'conv', x: [1, 64, 4, 4], co: 4, k: 3, s: 1, p: 1, g: 2 },
  { id: 'conv3x3_d2_g2', kind: 'conv', x: [2, 4, 7, 6], co: 4, k: 3, s: 1, p: 2, g: 2, d: 2 },
  { id: 'conv3x3_s2_d2', kind: 'conv', x: [2, 3, 9, 8], co: 4, k: 3, s: 2, p: 2, d: 2 },
  { id: 'conv1x1_g2_bias', kind: 'conv', x: [3, 4, 1, 1], co: 6, k: 1, s: 1, p: 0, g: 2, bias: true },
  // SE-ResNeXt's 32 groups (strided: layer2–4's first block) and SENet-154's 64: off the CPU EP the weight
  // gradient is one grouped Conv (conv-grouped.ts weightGradOneConv), on it one Split / Concat over the groups.
  { id: 'conv3x3_s2_g32', kind: 'conv', x: [2, 64, 5, 4], co: 64, k: 3, s: 2, p: 1, g: 32 },
  { id: 'conv3x3_g64', kind: 'conv', x: [1, 128, 3, 3], co: 128, k: 3, s: 1, p: 1, g: 64 },
  // The CPU weight-gradient forms of core/compile/grad/ops/conv.ts (`weightGradDirect`): per-image MatMul for 1×1
  // kernels on maps of ≥ 512 output positions (stride 1 and 2), the Conv over the batch for inputs of < 32
  // channels (with and without the sliced-off tail, with and without padding), im2col GEMMs for wide strided ones.
  { id: 'conv1x1_map512', kind: 'conv', x: [2, 4, 32, 16], co: 3, k: 1, s: 1, p: 0, bias: true },
  { id: 'conv1x1_s2_map544', kind: 'conv', x: [2, 6, 64, 33], co: 5, k: 1, s: 2, p: 0 },
  { id: 'conv5x5_s2_p2_narrow', kind: 'conv', x: [2, 3, 11, 8], co: 4, k: 5, s: 2, p: 2 },
  { id: 'conv3x3_p0_narrow', kind: 'conv', x: [2, 5, 6, 5], co: 3, k: 3, s: 1, p: 0 },
  { id: 'conv3x3_s2_wide', kind: 'conv', x: [2, 32, 7, 6], co: 4, k: 3, s: 2, p: 1 },
  { id: 'bn2d_train', kind: 'bn_train', x: [3, 4, 5, 5] },
  { id: 'bn1d_train', kind: 'bn_train', x: [6, 4] },
  { id: 'bn2d_frozen_stats', kind: 'bn_eval', x: [2, 3, 4, 4] },
  { id: 'instance_norm', kind: 'in', x: [2, 3, 4, 5] },
  { id: 'ibn_a', kind: 'ibn', x: [2, 6, 4, 4], half: 3 },
  { id: 'relu_add', kind: 'relu_add', x: [2, 3, 4, 4] },
  { id: 'maxpool3_s2_p1', kind: 'maxpool', x: [2, 3, 7, 6] },
  { id: 'relu_maxpool_ties', kind: 'relu_maxpool', x: [2, 3, 8, 7] },
  { id: 'maxpool3_s2_ceil', kind: 'maxpool_ceil', x: [2, 2, 8, 6] },
  // The gradient's phase sub-grids (core/compile/grad/ops/maxpool.ts): one offset per phase, stride 1 (one
  // phase), a kernel smaller than the stride (phases no window reaches), unequal strides with ceil_mode.
  { id: 'maxpool2_s2', kind: 'maxpool_any', x: [2, 3, 8, 7], k: [2, 2], s: [2, 2], p: [0, 0] },
  { id: 'maxpool3_s1_p1', kind: 'maxpool_any', x: [2, 2, 6, 5], k: [3, 3], s: [1, 1], p: [1, 1] },
  { id: 'maxpool2_s3', kind: 'maxpool_any', x: [2, 2, 9, 8], k: [2, 2], s: [3, 3], p: [0, 0] },
  { id: 'maxpool3x2_s2x1_ceil', kind: 'maxpool_any', x: [2, 2, 8, 6], k: [3, 2], s: [2, 1], p: [1, 0], ceil: true },
  // ResNeSt's AvgPool2d forms (fast-reid resnest.py): avd_layer (3, s, 1), average-down (s, s, ceil, pad not counted).
  { id: 'avgpool3_s2_p1', kind: 'avgpool', x: [2, 3, 7, 6], k: 3, s: 2, p: 1, ceil: false, include: true },
  { id: 'avgpool3_s1_p1', kind: 'avgpool', x: [2, 2, 5, 4], k: 3, s: 1, p: 1, ceil: false, include: true },
  { id: 'avgpool2_s2_ceil_excl', kind: 'avgpool', x: [2, 3, 7, 5], k: 2, s: 2, p: 0, ceil: true, include: false },
  { id: 'avgpool3_s2_p1_ceil_excl', kind: 'avgpool', x: [2, 2, 8, 7], k: 3, s: 2, p: 1, ceil: true, include: false },
  { id: 'avgpool3_s3_p1_ceil_incl', kind: 'avgpool', x: [1, 2, 5, 5], k: 3, s: 3, p: 1, ceil: true, include: true },
  // fast-reid's SplAtConv2d (fastreid/layers/splat.py) as splat_conv2d lowers it: grouped conv, bn0, radix pool,
  // fc1 / bn1 / fc2 (groups = cardinality), rSoftMax (softmax over the radix; sigmoid for radix 1).
  { id: 'splat_r2_c1', kind: 'splat', x: [6, 4, 5, 4], radix: 2, card: 1, c: 4, inter: 3 },
  { id: 'splat_r2_c2_s2', kind: 'splat', x: [6, 4, 6, 5], radix: 2, card: 2, c: 4, inter: 4, s: 2 },
  { id: 'splat_r1', kind: 'splat', x: [6, 4, 4, 4], radix: 1, card: 1, c: 4, inter: 3 },
  { id: 'se_gate', kind: 'se', x: [2, 4, 3, 3] },
  { id: 'gem_learnable_p', kind: 'gem', x: [2, 3, 4, 4] },
  { id: 'gap_gemm', kind: 'gap_gemm', x: [2, 3, 4, 4], units: 5 },
  // 2-D MatMuls: the triplet loss's Gram matrix f·fᵀ (step-loss.ts) and a product with a weight.
  { id: 'gram_matmul', kind: 'gram', x: [4, 3] },
];

type Tensor = { shape: number[]; data: number[] };
type Ref = { inputs: Record<string, Tensor>; G: number[]; out: Tensor; grads: Record<string, number[]>; batch_mean?: number[]; batch_var?: number[]; zero_grad_scale?: Record<string, number> };

const ints = (name: string, value: number[]): OnnxAttribute => ({ name, type: 'ints', value });
const int = (name: string, value: number): OnnxAttribute => ({ name, type: 'int', value });
const eps: OnnxAttribute = { name: 'epsilon', type: 'float', value: 1e-5 };

/** The case's ONNX nodes (as core/compile/onnx.ts lowers the layer), reading `t` = input + x. */
function caseNodes(c: Spec, extra: OnnxInitializer[]): OnnxNode[] {
  const n = (opType: string, inputs: string[], outputs: string[], attributes: OnnxAttribute[] = []): OnnxNode => ({ name: outputs[0]!, opType, inputs, outputs, attributes });
  const t = n('Add', ['input', 'x'], ['t']);
  const ch = c.x[1]!;
  const stats = (prefix: string, size: number) => {
    extra.push({ name: `${prefix}rm`, dims: [size], dataType: 'float', data: new Float32Array(size) });
    extra.push({ name: `${prefix}rv`, dims: [size], dataType: 'float', data: new Float32Array(size).fill(1) });
    return [`${prefix}rm`, `${prefix}rv`];
  };
  switch (c.kind) {
    case 'conv': {
      const [k, d] = [c.k as number, (c.d as number | undefined) ?? 1];
      return [t, n('Conv', ['t', 'W', ...(c.bias ? ['B'] : [])], ['out'], [ints('kernel_shape', [k, k]), ints('strides', [c.s as number, c.s as number]), ints('pads', Array(4).fill(c.p)), ints('dilations', [d, d]), int('group', (c.g as number | undefined) ?? 1)])];
    }
    case 'avgpool': {
      const [k, s, p] = [c.k as number, c.s as number, c.p as number];
      return [t, n('AveragePool', ['t'], ['out'], [ints('kernel_shape', [k, k]), ints('strides', [s, s]), ints('pads', [p, p, p, p]), int('ceil_mode', c.ceil ? 1 : 0), int('count_include_pad', c.include ? 1 : 0)])];
    }
    case 'splat':
      return [t, ...splatNodes(c, n, extra, stats)];
    case 'bn_train':
      return [t, n('BatchNormalization', ['t', 'gamma', 'beta', ...stats('', ch)], ['out'], [eps])];
    case 'bn_eval':
      return [t, n('BatchNormalization', ['t', 'gamma', 'beta', 'mean', 'var'], ['out'], [eps])];
    case 'in':
      return [t, n('InstanceNormalization', ['t', 'gamma', 'beta'], ['out'], [eps])];
    case 'ibn': {
      const half = c.half as number;
      extra.push({ name: 'split', dims: [2], dataType: 'int64', data: [half, ch - half] });
      return [
        t,
        n('Split', ['t', 'split'], ['a', 'b'], [int('axis', 1)]),
        n('InstanceNormalization', ['a', 'in_gamma', 'in_beta'], ['ia'], [eps]),
        n('BatchNormalization', ['b', 'bn_gamma', 'bn_beta', ...stats('bn_', ch - half)], ['bb'], [eps]),
        n('Concat', ['ia', 'bb'], ['out'], [int('axis', 1)]),
      ];
    }
    case 'relu_add':
      return [t, n('Relu', ['t'], ['r']), n('Add', ['input', 'y'], ['u']), n('Add', ['r', 'u'], ['out'])];
    case 'maxpool':
      return [t, n('MaxPool', ['t'], ['out'], [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1]), int('ceil_mode', 0)])];
    case 'relu_maxpool':
      // ReLU zeros tie inside a window: PyTorch routes the window's gradient to its first maximum only.
      return [t, n('Relu', ['t'], ['r']), n('MaxPool', ['r'], ['out'], [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1]), int('ceil_mode', 0)])];
    case 'maxpool_any': {
      const [k, st, p] = [c.k as number[], c.s as number[], c.p as number[]];
      return [t, n('MaxPool', ['t'], ['out'], [ints('kernel_shape', k), ints('strides', st), ints('pads', [...p, ...p]), int('ceil_mode', c.ceil ? 1 : 0)])];
    }
    case 'maxpool_ceil':
      return [t, n('MaxPool', ['t'], ['out'], [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [0, 0, 0, 0]), int('ceil_mode', 1)])];
    case 'se': {
      const conv = ints('kernel_shape', [1, 1]);
      return [
        t,
        n('GlobalAveragePool', ['t'], ['pooled']),
        n('Conv', ['pooled', 'W1'], ['h'], [conv]),
        n('Relu', ['h'], ['hr']),
        n('Conv', ['hr', 'W2'], ['z'], [conv]),
        n('Sigmoid', ['z'], ['gate']),
        n('Mul', ['t', 'gate'], ['out']),
      ];
    }
    case 'gem':
      extra.push({ name: 'eps', dims: [], dataType: 'float', data: new Float32Array([1e-6]) });
      return [
        t,
        n('Max', ['t', 'eps'], ['clamped']),
        n('Reciprocal', ['p'], ['inv_p']),
        n('Pow', ['clamped', 'p'], ['powered']),
        n('GlobalAveragePool', ['powered'], ['mean']),
        n('Pow', ['mean', 'inv_p'], ['pooled']),
        n('Flatten', ['pooled'], ['out'], [int('axis', 1)]),
      ];
    case 'gap_gemm':
      return [t, n('GlobalAveragePool', ['t'], ['pooled']), n('Flatten', ['pooled'], ['flat'], [int('axis', 1)]), n('Gemm', ['flat', 'W', 'B'], ['out'], [int('transB', 0)])];
    case 'gram':
      return [t, n('Transpose', ['t'], ['tt'], [ints('perm', [1, 0])]), n('MatMul', ['t', 'tt'], ['gram']), n('MatMul', ['t', 'W'], ['tw']), n('Add', ['gram', 'tw'], ['out'])];
  }
  throw new Error(c.kind);
}

type NodeFn = (opType: string, inputs: string[], outputs: string[], attributes?: OnnxAttribute[]) => OnnxNode;

/** splat_conv2d's lowering (core/registry/kinds/split_attention.ts: conv2d, batch_norm, radix_pool, rsoftmax) on `t`. */
function splatNodes(c: Spec, n: NodeFn, extra: OnnxInitializer[], stats: (prefix: string, size: number) => string[]): OnnxNode[] {
  const [r, g, ch, inter] = [c.radix as number, c.card as number, c.c as number, c.inter as number];
  const s = (c.s as number | undefined) ?? 1;
  const [h, w] = [Math.floor((c.x[2]! + 2 - 3) / s) + 1, Math.floor((c.x[3]! + 2 - 3) / s) + 1];
  const i64 = (name: string, data: number[]) => (extra.push({ name, dims: [data.length], dataType: 'int64', data }), name);
  const conv1 = (name: string, input: string, groups: number) => n('Conv', [input, `${name}_W`, `${name}_B`], [name], [ints('kernel_shape', [1, 1]), int('group', groups)]);
  const nodes = [
    n('Conv', ['t', 'conv_W'], ['conv'], [ints('kernel_shape', [3, 3]), ints('strides', [s, s]), ints('pads', [1, 1, 1, 1]), int('group', r * g)]),
    n('BatchNormalization', ['conv', 'bn0_gamma', 'bn0_beta', ...stats('bn0_', r * ch)], ['bn0'], [eps]),
    n('Relu', ['bn0'], ['splits']),
  ];
  let gap = 'splits';
  if (r > 1) {
    nodes.push(n('Reshape', ['splits', i64('gap_shape', [0, r, ch, h, w])], ['gap_splits']), n('ReduceSum', ['gap_splits', i64('radix_axis', [1])], ['gap_sum'], [int('keepdims', 0)]));
    gap = 'gap_sum';
  }
  nodes.push(
    n('GlobalAveragePool', [gap], ['gap']),
    conv1('fc1', 'gap', g),
    n('BatchNormalization', ['fc1', 'bn1_gamma', 'bn1_beta', ...stats('bn1_', inter)], ['bn1'], [eps]),
    n('Relu', ['bn1'], ['hidden']),
    conv1('fc2', 'hidden', g),
  );
  if (r === 1) return [...nodes, n('Sigmoid', ['fc2'], ['atten']), n('Mul', ['splits', 'atten'], ['out'])];
  return [
    ...nodes,
    n('Reshape', ['fc2', i64('group_shape', [0, g, r, ch / g])], ['groups']),
    n('Softmax', ['groups'], ['softmax'], [int('axis', 2)]),
    n('Transpose', ['softmax'], ['transposed'], [ints('perm', [0, 2, 1, 3])]),
    n('Reshape', ['transposed', i64('weight_shape', [0, r, ch, 1, 1])], ['atten']),
    n('Reshape', ['splits', i64('split_shape', [0, r, ch, h, w])], ['radix_splits']),
    n('Mul', ['radix_splits', 'atten'], ['weighted']),
    n('ReduceSum', ['weighted', i64('sum_axis', [1])], ['out'], [int('keepdims', 0)]),
  ];
}

let refs: Record<string, Ref>;
beforeAll(() => {
  refs = runPython<Record<string, Ref>>('engine/grad_ref.py', CASES);
});

describe('onnx-grad: operator gradients match torch.autograd', () => {
  // Conv cases twice: the portable forms (WebGPU) and the forms for onnxruntime's CPU EP (`cpuForms`).
  for (const [c, cpuForms] of CASES.flatMap((c): [Spec, boolean][] => (c.kind === 'conv' ? [[c, false], [c, true]] : [[c, false]])))
    it(`${c.id}${cpuForms ? ' (CPU forms)' : ''}`, async () => {
      const ort = (await loadOnnxRuntime()).ort!;
      expect(ort, 'onnxruntime-node must be installed for this test').toBeDefined();
      const ref = refs[c.id]!;
      const extra: OnnxInitializer[] = [];
      const nodes = caseNodes(c, extra);
      const params: OnnxInitializer[] = Object.entries(ref.inputs).map(([name, t]) => ({ name, dims: t.shape, dataType: 'float', data: Float32Array.from(t.data) }));
      const base: OnnxModelJs = {
        irVersion: 8,
        opset: 17,
        producerName: 'test',
        producerVersion: '',
        graph: { name: c.id, nodes, initializers: [...params, ...extra], inputs: [{ name: 'input', shape: c.x }], outputs: [{ name: 'out', shape: ref.out.shape }] },
        metadata: {},
      };
      const trainable = new Set(params.map((p) => p.name).filter((p) => !(c.kind === 'bn_eval' && (p === 'mean' || p === 'var'))));
      const weightInits = [...params, ...extra.filter((e) => e.name.endsWith('rm') || e.name.endsWith('rv'))];
      const g = buildTrainingGraph(base, { inputShape: c.x, weights: new Set(weightInits.map((w) => w.name)), trainable, batchStats: () => c.kind !== 'bn_eval', lossInputs: ['out'], cpuForms });
      const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
      const fwd = await ort.InferenceSession.create(serializeOnnx(g.forward), opts);
      const bwd = await ort.InferenceSession.create(serializeOnnx(g.backward), opts);
      const feeds = (names: readonly string[]) => {
        const f: Record<string, InstanceType<typeof ort.Tensor>> = {};
        for (const w of weightInits) if (names.includes(w.name)) f[w.name] = new ort.Tensor('float32', w.data as Float32Array, w.dims);
        return f;
      };
      const input = new ort.Tensor('float32', new Float32Array(c.x.reduce((a, b) => a * b, 1)), c.x);
      const fo = await fwd.run({ input, ...feeds(fwd.inputNames) });
      const saved: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const s of g.saved) saved[s] = s === 'input' ? input : fo[s]!;
      const bo = await bwd.run({ [g.seeds.get('out')!]: new ort.Tensor('float32', Float32Array.from(ref.G), ref.out.shape), ...saved, ...feeds(bwd.inputNames) });
      const failures: string[] = [];
      const check = (what: string, got: ArrayLike<number>, want: number[], scale = 0) => {
        const d = maxDiff(got, want);
        if (!(d.diff <= 2e-4 * Math.max(d.ref, scale, 1e-3))) failures.push(`${what}: max diff ${d.diff.toExponential(2)} (max |ref| ${d.ref.toExponential(2)})`);
      };
      check('output', fo.out!.data as Float32Array, ref.out.data);
      // A gradient that is 0 in exact arithmetic (a bias before a batch-statistics BatchNorm) is judged at the scale
      // of the terms whose sum it is (grad_ref.py's zero_grad_scale).
      for (const name of trainable) check(`∂${name}`, bo[g.grads.get(name)!]!.data as Float32Array, ref.grads[name]!, ref.zero_grad_scale?.[name]);
      if (ref.batch_mean) {
        check('batch mean', fo[g.stats[0]!.mean]!.data as Float32Array, ref.batch_mean);
        check('batch variance (unbiased)', fo[g.stats[0]!.variance]!.data as Float32Array, ref.batch_var!);
      }
      await fwd.release();
      await bwd.release();
      expect(failures).toEqual([]);
      // A 2-D MatMul's adjoints are Gemms with transA / transB, no MatMuls (linear.ts: onnxruntime 1.30 fused the
      // Gram's Add(MatMul, Transpose) into a Gemm whose bias is a Transpose, where its GemmTransposeFusion never settles).
      if (c.kind === 'gram') expect(g.backward.graph.nodes.filter((x) => x.opType === 'MatMul').length).toBe(0);
    });
});
