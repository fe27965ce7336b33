import { lowerToOnnx, ONNX_OUTPUT_NAME, type OnnxAttribute, type OnnxInitializer, type OnnxModelJs, type OnnxNode, type OnnxValueInfo, type WeightValues } from './onnx.js';
import { CompileError, type CompiledModel } from './keras.js';

/**
 * Reverse-mode differentiation over an ONNX node list (the operators core/compile/onnx.ts lowers a
 * compiled model to), producing a training graph of standard operators (opset 17) in two parts:
 *  - forward: the training-mode forward pass. Every BatchNormalization that trains with batch statistics
 *    is expanded to ReduceMean / Sub / Mul / Sqrt / Reciprocal / BatchNormalization(batch mean, biased
 *    variance) — PyTorch's training-mode `F.batch_norm` — and also outputs the batch mean and the
 *    *unbiased* variance (what PyTorch folds into running_var, `torch/nn/modules/batchnorm.py`).
 *    MaxPool also outputs its argmax Indices. The tensors the backward pass reads are forward outputs.
 *  - backward: the gradients of the trainable parameters given the gradients of the loss with respect to
 *    chosen forward tensors (the logits and the metric-loss feature), by the chain rule, from the saved
 *    forward tensors. Per operator:
 *      Conv        dX = Conv(dY, W transposed and flipped, pads k − 1 − p) at stride 1, else
 *                  ConvTranspose(dY, W) (same strides / pads, output_padding restoring X's size);
 *                  dW = GEMMs of dY [C_out, N·Ho·Wo] with the k·k strided windows of the padded
 *                  input in [C_in, N, H, W] layout (im2col by Slice); dB = Σ dY.
 *      BatchNorm   closed form (Ioffe & Szegedy 2015): dx = γ·r·(dy − mean(dy) − x̂·mean(dy·x̂)),
 *                  dγ = Σ dy·x̂, dβ = Σ dy; with frozen statistics dx = γ·r·dy (r = rsqrt(σ² + ε)).
 *      InstanceNormalization  the same per (sample, channel).
 *      Relu        dy where y > 0;  Max(x, eps) (fast-reid GeM's clamp): dy where x ≥ eps
 *                  (PyTorch's clamp_backward).
 *      MaxPool     dY scattered-added to the argmax indices (ScatterElements, reduction add).
 *      Pow(a, b)   da = dy·b·a^(b−1), db = Σ dy·y·ln a;  Reciprocal: dx = −dy·y².
 *      GlobalAveragePool / Flatten / Gemm / Add / Split / Concat: the linear-algebra adjoints.
 * Only tensors that depend on a trainable parameter get gradients (a frozen backbone costs no backward
 * convolutions). Shapes are concrete (one batch size per graph). Pure: no I/O.
 */

export type Shapes = Map<string, number[]>;

/** A BatchNormalization that trains on batch statistics: what the forward pass reports for the running-stat update. */
export interface BatchStatOutputs {
  /** The BatchNormalization node's name. */
  node: string;
  /** Initializer names of the node's running statistics. */
  runningMean: string;
  runningVar: string;
  /** Forward outputs: batch mean [C] and unbiased batch variance [C]. */
  mean: string;
  variance: string;
}

export interface TrainingGraphOptions {
  /** Concrete input shape [N, C, H, W]. */
  inputShape: number[];
  /** Initializer names that become graph inputs (every weight slot: they change between steps). */
  weights: Set<string>;
  /** Of those, the trainable ones (gradients are produced for these). */
  trainable: Set<string>;
  /** Whether a BatchNormalization node trains with batch statistics (false: its statistics are frozen). */
  batchStats: (node: OnnxNode) => boolean;
  /** Forward tensors the loss reads (their gradients are the backward graph's seeds). */
  lossInputs: string[];
}

export interface TrainingGraph {
  forward: OnnxModelJs;
  backward: OnnxModelJs;
  /** Backward-graph input holding ∂L/∂t for each loss input t. */
  seeds: Map<string, string>;
  /** Backward-graph output holding ∂L/∂w for each trainable weight w. */
  grads: Map<string, string>;
  /** Forward outputs the backward graph reads (the caller passes them on), besides the weights. */
  saved: string[];
  stats: BatchStatOutputs[];
  shapes: Shapes;
}

const BN_TRAIN = 'BatchNormalizationTrain';

const attr = (n: OnnxNode, name: string): OnnxAttribute | undefined => n.attributes.find((a) => a.name === name);
const intAttr = (n: OnnxNode, name: string, dflt: number): number => {
  const a = attr(n, name);
  return a && a.type === 'int' ? a.value : dflt;
};
const intsAttr = (n: OnnxNode, name: string, dflt: number[]): number[] => {
  const a = attr(n, name);
  return a && a.type === 'ints' ? a.value : dflt;
};
const floatAttr = (n: OnnxNode, name: string, dflt: number): number => {
  const a = attr(n, name);
  return a && a.type === 'float' ? a.value : dflt;
};
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function convOut(n: number, k: number, s: number, p: number, ceil = false): number {
  return (ceil ? Math.ceil : Math.floor)((n + 2 * p - k) / s) + 1;
}

/**
 * Output shapes of the supported operators, in node order, from the given input / initializer shapes.
 * Throws CompileError for an operator with no training rule (the engine then falls back to tfjs).
 */
export function inferShapes(nodes: OnnxNode[], known: Shapes): Shapes {
  const shapes = new Map(known);
  const get = (t: string) => {
    const s = shapes.get(t);
    if (!s) throw new CompileError(`onnx-grad: no shape for tensor ${t}`);
    return s;
  };
  for (const n of nodes) {
    const x = n.inputs[0] ? get(n.inputs[0]) : [];
    let outs: number[][];
    switch (n.opType) {
      case 'Conv': {
        const w = get(n.inputs[1]!);
        const [kh, kw] = [w[2]!, w[3]!];
        const [sh, sw] = intsAttr(n, 'strides', [1, 1]);
        const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
        if (intAttr(n, 'group', 1) !== 1 || intsAttr(n, 'dilations', [1, 1]).some((d) => d !== 1) || pads[0] !== pads[2] || pads[1] !== pads[3])
          throw new CompileError(`onnx-grad: ${n.name}: grouped, dilated or asymmetrically padded convolutions are not supported for training`);
        outs = [[x[0]!, w[0]!, convOut(x[2]!, kh, sh!, pads[0]!), convOut(x[3]!, kw, sw!, pads[1]!)]];
        break;
      }
      case 'MaxPool': {
        const [kh, kw] = intsAttr(n, 'kernel_shape', []);
        const [sh, sw] = intsAttr(n, 'strides', [1, 1]);
        const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
        const ceil = intAttr(n, 'ceil_mode', 0) === 1;
        const o = [x[0]!, x[1]!, convOut(x[2]!, kh!, sh!, pads[0]!, ceil), convOut(x[3]!, kw!, sw!, pads[1]!, ceil)];
        outs = [o, o];
        break;
      }
      case 'Relu':
      case 'Reciprocal':
      case 'InstanceNormalization':
      case 'BatchNormalization':
        outs = [x];
        break;
      case BN_TRAIN:
        outs = [x, [x[1]!], [x[1]!]];
        break;
      case 'Add':
      case 'Max':
      case 'Pow': {
        const y = get(n.inputs[1]!);
        if (size(y) !== 1 && y.join() !== x.join()) throw new CompileError(`onnx-grad: ${n.name}: broadcasting ${n.opType} of ${x.join('×')} and ${y.join('×')} is not supported`);
        outs = [size(x) >= size(y) ? x : y];
        break;
      }
      case 'GlobalAveragePool':
        outs = [[x[0]!, x[1]!, ...x.slice(2).map(() => 1)]];
        break;
      case 'Flatten': {
        const axis = intAttr(n, 'axis', 1);
        outs = [[size(x.slice(0, axis)), size(x.slice(axis))]];
        break;
      }
      case 'Gemm': {
        if (intAttr(n, 'transA', 0) || intAttr(n, 'transB', 0) || floatAttr(n, 'alpha', 1) !== 1 || floatAttr(n, 'beta', 1) !== 1)
          throw new CompileError(`onnx-grad: ${n.name}: only Gemm without transposes or scaling is supported for training`);
        outs = [[x[0]!, get(n.inputs[1]!)[1]!]];
        break;
      }
      case 'Split': {
        const axis = intAttr(n, 'axis', 0);
        const sizes = splitSizes(n);
        outs = sizes.map((s) => x.map((d, i) => (i === axis ? s : d)));
        break;
      }
      case 'Concat': {
        const axis = intAttr(n, 'axis', 0);
        const all = n.inputs.map(get);
        outs = [x.map((d, i) => (i === axis ? all.reduce((a, s) => a + s[i]!, 0) : d))];
        break;
      }
      default:
        throw new CompileError(`onnx-grad: operator ${n.opType} (${n.name}) has no gradient rule`);
    }
    n.outputs.forEach((o, i) => o && shapes.set(o, outs[i]!));
  }
  return shapes;
}

let splitTable: Map<string, number[]> = new Map();
function splitSizes(n: OnnxNode): number[] {
  const s = splitTable.get(n.inputs[1] ?? '');
  if (!s) throw new CompileError(`onnx-grad: ${n.name}: Split needs constant split sizes`);
  return s;
}

/** Node emitter with unique names and cached constants. */
class Emitter {
  nodes: OnnxNode[] = [];
  inits: OnnxInitializer[] = [];
  private count = 0;
  private consts = new Map<string, string>();
  constructor(private prefix: string) {}
  op(opType: string, inputs: string[], attributes: OnnxAttribute[] = [], outputs = 1, hint = ''): string[] {
    const id = `${this.prefix}${++this.count}${hint ? '.' + hint : ''}`;
    const outs = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? id : `${id}:${i}`));
    this.nodes.push({ name: id, opType, inputs, outputs: outs, attributes });
    return outs;
  }
  one(opType: string, inputs: string[], attributes: OnnxAttribute[] = [], hint = ''): string {
    return this.op(opType, inputs, attributes, 1, hint)[0]!;
  }
  i64(values: number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `${this.prefix}const.i64[${values.join(',')}]`;
      this.inits.push({ name, dims: [values.length], dataType: 'int64', data: values });
      this.consts.set(key, name);
    }
    return name;
  }
  f32(v: number): string {
    const key = `f32:${v}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `${this.prefix}const.f32[${v}]`;
      this.inits.push({ name, dims: [], dataType: 'float', data: new Float32Array([v]) });
      this.consts.set(key, name);
    }
    return name;
  }
  reshape(x: string, shape: number[]): string {
    return this.one('Reshape', [x, this.i64(shape)]);
  }
  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    return this.one('ReduceSum', [x, this.i64(axes)], [{ name: 'keepdims', type: 'int', value: keepdims ? 1 : 0 }]);
  }
  reduceMean(x: string, axes: number[]): string {
    return this.one('ReduceMean', [x], [
      { name: 'axes', type: 'ints', value: axes },
      { name: 'keepdims', type: 'int', value: 1 },
    ]);
  }
}

/** Channel axes layout of a norm input: reduction axes over the batch (N and spatial) and a broadcast shape [1, C, 1, …]. */
function normAxes(x: number[]): { batchAxes: number[]; spatialAxes: number[]; bshape: number[] } {
  const spatialAxes = x.slice(2).map((_, i) => i + 2);
  return { batchAxes: [0, ...spatialAxes], spatialAxes, bshape: [1, x[1]!, ...spatialAxes.map(() => 1)] };
}

/** Names of a training BatchNorm's internal tensors the backward pass reads (batch mean and rstd, [1, C, 1, 1]). */
const bnMean = (n: OnnxNode) => `${n.outputs[0]}::mean`;
const bnRstd = (n: OnnxNode) => `${n.outputs[0]}::rstd`;

/** The training-mode BatchNorm as standard operators (see the module comment). */
function expandBatchNormTrain(n: OnnxNode, shapes: Shapes, e: Emitter): void {
  const [x, gamma, beta] = n.inputs as [string, string, string];
  const xs = shapes.get(x)!;
  const { batchAxes, bshape } = normAxes(xs);
  const c = xs[1]!;
  const count = size(xs) / c;
  if (count < 2) throw new CompileError(`Expected more than 1 value per channel when training, got input size [${xs.join(', ')}]`);
  const eps = floatAttr(n, 'epsilon', 1e-5);
  const mean = e.reduceMean(x, batchAxes);
  const d = e.one('Sub', [x, mean]);
  const variance = e.reduceMean(e.one('Mul', [d, d]), batchAxes);
  const std = e.one('Sqrt', [e.one('Add', [variance, e.f32(eps)])]);
  e.nodes.push({ name: `${n.name}::rstd`, opType: 'Reciprocal', inputs: [std], outputs: [bnRstd(n)], attributes: [] });
  e.nodes.push({ name: `${n.name}::mean`, opType: 'Identity', inputs: [mean], outputs: [bnMean(n)], attributes: [] });
  const mean1 = e.reshape(mean, [c]);
  const var1 = e.reshape(variance, [c]);
  e.nodes.push({ name: n.name, opType: 'BatchNormalization', inputs: [x, gamma, beta, mean1, var1], outputs: [n.outputs[0]!], attributes: [{ name: 'epsilon', type: 'float', value: eps }] });
  e.nodes.push({ name: `${n.name}::batch_mean`, opType: 'Identity', inputs: [mean1], outputs: [n.outputs[1]!], attributes: [] });
  e.nodes.push({ name: `${n.name}::batch_var`, opType: 'Mul', inputs: [var1, e.f32(count / (count - 1))], outputs: [n.outputs[2]!], attributes: [] });
  void bshape;
}

type GradRule = (n: OnnxNode, dy: (i: number) => string | undefined, need: (i: number) => boolean, e: Emitter, shapes: Shapes) => (string | undefined)[];

/** Gradient of a normalisation over `axes` given x̂ statistics (mean, rstd broadcastable to x) — shared by BN and IN. */
function normBackward(
  e: Emitter,
  dy: string,
  x: string,
  mean: string,
  rstd: string,
  gamma: string,
  xs: number[],
  groupAxes: number[] | null,
  need: { x: boolean; gamma: boolean; beta: boolean },
): { dx?: string; dgamma?: string; dbeta?: string } {
  const { batchAxes, bshape } = normAxes(xs);
  const c = xs[1]!;
  const out: { dx?: string; dgamma?: string; dbeta?: string } = {};
  const gamma4 = e.reshape(gamma, bshape);
  const a = e.one('Mul', [rstd, gamma4]);
  const xhat = need.gamma || (need.x && groupAxes) ? e.one('Mul', [e.one('Sub', [x, mean]), rstd]) : undefined;
  if (need.beta) out.dbeta = e.reshape(e.reduceSum(dy, batchAxes, false), [c]);
  if (need.gamma) out.dgamma = e.reshape(e.reduceSum(e.one('Mul', [dy, xhat!]), batchAxes, false), [c]);
  if (need.x) {
    if (!groupAxes) out.dx = e.one('Mul', [dy, a]);
    else {
      const g = groupAxes.reduce((p, ax) => p * xs[ax]!, 1);
      const k1 = e.one('Mul', [e.reduceSum(dy, groupAxes, true), e.f32(1 / g)]);
      const k2 = e.one('Mul', [e.reduceSum(e.one('Mul', [dy, xhat!]), groupAxes, true), e.f32(1 / g)]);
      const centred = e.one('Sub', [e.one('Sub', [dy, k1]), e.one('Mul', [xhat!, k2])]);
      out.dx = e.one('Mul', [centred, a]);
    }
  }
  return out;
}

const RULES: Record<string, GradRule> = {
  Conv(n, dy, need, e, shapes) {
    const [x, w] = n.inputs as [string, string];
    const g = dy(0)!;
    const xs = shapes.get(x)!;
    const ws = shapes.get(w)!;
    const ys = shapes.get(n.outputs[0]!)!;
    const [sh, sw] = intsAttr(n, 'strides', [1, 1]) as [number, number];
    const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
    const [ph, pw] = [pads[0]!, pads[1]!];
    const [kh, kw] = [ws[2]!, ws[3]!];
    const out: (string | undefined)[] = [];
    if (need(0)) {
      if (sh === 1 && sw === 1 && ph <= kh - 1 && pw <= kw - 1) {
        // Stride 1: the adjoint is a convolution of dY with W transposed (C_in ↔ C_out) and flipped, padded k − 1 − p.
        const wt = e.one('Transpose', [w], [{ name: 'perm', type: 'ints', value: [1, 0, 2, 3] }]);
        const flipped = kh === 1 && kw === 1 ? wt : e.one('Slice', [wt, e.i64([kh - 1, kw - 1]), e.i64([-kh - 1, -kw - 1]), e.i64([2, 3]), e.i64([-1, -1])]);
        const [qh, qw] = [kh - 1 - ph, kw - 1 - pw];
        out[0] = e.one('Conv', [g, flipped], [
          { name: 'kernel_shape', type: 'ints', value: [kh, kw] },
          { name: 'pads', type: 'ints', value: [qh, qw, qh, qw] },
        ], `${n.name}.dX`);
      } else {
        const oph = xs[2]! - ((ys[2]! - 1) * sh + kh - 2 * ph);
        const opw = xs[3]! - ((ys[3]! - 1) * sw + kw - 2 * pw);
        out[0] = e.one('ConvTranspose', [g, w], [
          { name: 'kernel_shape', type: 'ints', value: [kh, kw] },
          { name: 'strides', type: 'ints', value: [sh, sw] },
          { name: 'pads', type: 'ints', value: [ph, pw, ph, pw] },
          { name: 'output_padding', type: 'ints', value: [oph, opw] },
        ], `${n.name}.dX`);
      }
    }
    if (need(1)) {
      // dW[o, i, ky, kx] = Σ_{n,y,x} dY[n, o, y, x]·Xpad[n, i, s·y + ky, s·x + kx]: GEMMs over N·Ho·Wo of dY
      // with the k·k strided windows of the padded input laid out [C_in, N, H, W] (im2col by Slice).
      const perm = (t: string, p: number[]) => e.one('Transpose', [t], [{ name: 'perm', type: 'ints', value: p }]);
      let xt = perm(x, [1, 0, 2, 3]);
      if (ph || pw) xt = e.one('Pad', [xt, e.i64([0, 0, ph, pw, 0, 0, ph, pw])]);
      const rows = ys[0]! * ys[2]! * ys[3]!;
      const windows: string[] = [];
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++)
          windows.push(
            kh === 1 && kw === 1 && sh === 1 && sw === 1
              ? xt
              : e.one('Slice', [xt, e.i64([ky, kx]), e.i64([ky + sh * (ys[2]! - 1) + 1, kx + sw * (ys[3]! - 1) + 1]), e.i64([2, 3]), e.i64([sh, sw])]),
          );
      const gt = e.reshape(perm(g, [1, 0, 2, 3]), [ys[1]!, rows]);
      const gemm = (cols: string, c: number) => e.one('Gemm', [gt, e.reshape(cols, [c, rows])], [{ name: 'transB', type: 'int', value: 1 }], `${n.name}.dW`);
      // Wide inputs: one GEMM per window (no im2col copy); narrow ones (the stem): one GEMM over all windows.
      const dw =
        windows.length > 1 && xs[1]! >= 32
          ? e.one('Concat', windows.map((win) => gemm(win, xs[1]!)), [{ name: 'axis', type: 'int', value: 1 }])
          : gemm(windows.length === 1 ? windows[0]! : e.one('Concat', windows, [{ name: 'axis', type: 'int', value: 0 }]), kh * kw * xs[1]!);
      out[1] = perm(e.reshape(dw, [ws[0]!, kh, kw, xs[1]!]), [0, 3, 1, 2]);
    }
    if (n.inputs[2] && need(2)) out[2] = e.reduceSum(g, [0, 2, 3], false);
    return out;
  },
  [BN_TRAIN](n, dy, need, e, shapes) {
    const [x, gamma] = n.inputs as [string, string];
    const xs = shapes.get(x)!;
    const r = normBackward(e, dy(0)!, x, bnMean(n), bnRstd(n), gamma, xs, normAxes(xs).batchAxes, { x: need(0), gamma: need(1), beta: need(2) });
    return [r.dx, r.dgamma, r.dbeta];
  },
  BatchNormalization(n, dy, need, e, shapes) {
    // Frozen statistics: the running mean / variance are constants.
    const [x, gamma, , mean, variance] = n.inputs as [string, string, string, string, string];
    const xs = shapes.get(x)!;
    const { bshape } = normAxes(xs);
    const rstd = e.one('Reciprocal', [e.one('Sqrt', [e.one('Add', [e.reshape(variance, bshape), e.f32(floatAttr(n, 'epsilon', 1e-5))])])]);
    const r = normBackward(e, dy(0)!, x, e.reshape(mean, bshape), rstd, gamma, xs, null, { x: need(0), gamma: need(1), beta: need(2) });
    return [r.dx, r.dgamma, r.dbeta];
  },
  InstanceNormalization(n, dy, need, e, shapes) {
    const [x, gamma] = n.inputs as [string, string];
    const xs = shapes.get(x)!;
    const { spatialAxes } = normAxes(xs);
    const mean = e.reduceMean(x, spatialAxes);
    const d = e.one('Sub', [x, mean]);
    const variance = e.reduceMean(e.one('Mul', [d, d]), spatialAxes);
    const rstd = e.one('Reciprocal', [e.one('Sqrt', [e.one('Add', [variance, e.f32(floatAttr(n, 'epsilon', 1e-5))])])]);
    const r = normBackward(e, dy(0)!, x, mean, rstd, gamma, xs, spatialAxes, { x: need(0), gamma: need(1), beta: need(2) });
    return [r.dx, r.dgamma, r.dbeta];
  },
  Relu(n, dy, _need, e) {
    return [e.one('Where', [e.one('Greater', [n.outputs[0]!, e.f32(0)]), dy(0)!, e.f32(0)], [], `${n.name}.dX`)];
  },
  Max(n, dy, need, e, shapes) {
    const [x, eps] = n.inputs as [string, string];
    if (size(shapes.get(eps)!) !== 1 || need(1)) throw new CompileError(`onnx-grad: ${n.name}: only Max(x, constant) is supported for training`);
    return [e.one('Where', [e.one('GreaterOrEqual', [x, eps]), dy(0)!, e.f32(0)])];
  },
  MaxPool(n, dy, _need, e, shapes) {
    const x = n.inputs[0]!;
    const xs = shapes.get(x)!;
    const zeros = e.one('ConstantOfShape', [e.i64([size(xs)])]);
    const scattered = e.one('ScatterElements', [zeros, e.reshape(n.outputs[1]!, [-1]), e.reshape(dy(0)!, [-1])], [
      { name: 'axis', type: 'int', value: 0 },
      { name: 'reduction', type: 'string', value: 'add' },
    ], `${n.name}.dX`);
    return [e.reshape(scattered, xs)];
  },
  Add(_n, dy, need) {
    return [need(0) ? dy(0) : undefined, need(1) ? dy(0) : undefined];
  },
  Pow(n, dy, need, e, shapes) {
    const [a, b] = n.inputs as [string, string];
    const g = dy(0)!;
    const out: (string | undefined)[] = [];
    if (need(0)) out[0] = e.one('Mul', [e.one('Mul', [g, e.one('Pow', [a, e.one('Sub', [b, e.f32(1)])])]), b]);
    if (need(1)) {
      const total = e.one('ReduceSum', [e.one('Mul', [g, e.one('Mul', [n.outputs[0]!, e.one('Log', [a])])])], [{ name: 'keepdims', type: 'int', value: 0 }]);
      out[1] = e.reshape(total, shapes.get(b)!);
    }
    return out;
  },
  Reciprocal(n, dy, _need, e) {
    const y = n.outputs[0]!;
    return [e.one('Neg', [e.one('Mul', [dy(0)!, e.one('Mul', [y, y])])])];
  },
  GlobalAveragePool(n, dy, _need, e, shapes) {
    const xs = shapes.get(n.inputs[0]!)!;
    return [e.one('Expand', [e.one('Mul', [dy(0)!, e.f32(1 / size(xs.slice(2)))]), e.i64(xs)])];
  },
  Flatten(n, dy, _need, e, shapes) {
    return [e.reshape(dy(0)!, shapes.get(n.inputs[0]!)!)];
  },
  Gemm(n, dy, need, e) {
    const [x, w] = n.inputs as [string, string];
    const g = dy(0)!;
    return [
      need(0) ? e.one('Gemm', [g, w], [{ name: 'transB', type: 'int', value: 1 }]) : undefined,
      need(1) ? e.one('Gemm', [x, g], [{ name: 'transA', type: 'int', value: 1 }]) : undefined,
      n.inputs[2] && need(2) ? e.reduceSum(g, [0], false) : undefined,
    ];
  },
  Split(n, dy, _need, e, shapes) {
    const parts = n.outputs.map((o, i) => dy(i) ?? e.one('ConstantOfShape', [e.i64(shapes.get(o)!)]));
    return [e.one('Concat', parts, [{ name: 'axis', type: 'int', value: intAttr(n, 'axis', 0) }])];
  },
  Concat(n, dy, need, e, shapes) {
    const axis = intAttr(n, 'axis', 0);
    const sizes = n.inputs.map((i) => shapes.get(i)![axis]!);
    const outs = e.op('Split', [dy(0)!, e.i64(sizes)], [{ name: 'axis', type: 'int', value: axis }], n.inputs.length);
    return outs.map((o, i) => (need(i) ? o : undefined));
  },
};

/** Tensors whose value depends on one of `sources` (integer outputs such as MaxPool's indices excluded). */
function dependents(nodes: OnnxNode[], sources: Set<string>): Set<string> {
  const dep = new Set(sources);
  for (const n of nodes)
    if (n.inputs.some((i) => dep.has(i)))
      n.outputs.forEach((o, i) => {
        if (!(n.opType === 'MaxPool' && i === 1) && !(n.opType === BN_TRAIN && i > 0)) dep.add(o);
      });
  return dep;
}

/**
 * The forward and backward ONNX models of a lowered model (`base`, e.g. merged from `lowerToOnnx` for the
 * logits and the feature). The weights (`opts.weights`) become inputs of both graphs under their
 * initializer names; the image input keeps its name; see TrainingGraph for the rest.
 * Throws CompileError for operators without a gradient rule or shapes it cannot handle.
 */
export function buildTrainingGraph(base: OnnxModelJs, opts: TrainingGraphOptions): TrainingGraph {
  const g = base.graph;
  const inputName = g.inputs[0]!.name;
  const constInits = g.initializers.filter((i) => !opts.weights.has(i.name));
  splitTable = new Map(constInits.filter((i) => i.dataType === 'int64').map((i) => [i.name, i.data as number[]]));
  const known: Shapes = new Map([[inputName, opts.inputShape]]);
  for (const i of g.initializers) known.set(i.name, i.dims);

  // Training-mode forward node list (pseudo-op for batch-statistics BatchNorm; MaxPool with indices).
  const stats: BatchStatOutputs[] = [];
  const fwd: OnnxNode[] = g.nodes.map((n) => {
    if (n.opType === 'BatchNormalization' && opts.batchStats(n)) {
      const [x, gamma, beta, rm, rv] = n.inputs as [string, string, string, string, string];
      const s = { node: n.name, runningMean: rm, runningVar: rv, mean: `${n.outputs[0]}::batch_mean`, variance: `${n.outputs[0]}::batch_var` };
      stats.push(s);
      return { ...n, opType: BN_TRAIN, inputs: [x, gamma, beta], outputs: [n.outputs[0]!, s.mean, s.variance] };
    }
    if (n.opType === 'MaxPool') return { ...n, outputs: [n.outputs[0]!, `${n.outputs[0]}::indices`] };
    return n;
  });
  const shapes = inferShapes(fwd, known);
  for (const t of opts.lossInputs) if (!shapes.has(t)) throw new CompileError(`onnx-grad: the loss input ${t} is not computed by the graph`);

  // Backward.
  const be = new Emitter('∇');
  const requires = dependents(fwd, opts.trainable);
  const contributions = new Map<string, string[]>();
  const add = (t: string, gname: string) => {
    const list = contributions.get(t) ?? [];
    list.push(gname);
    contributions.set(t, list);
  };
  const seeds = new Map<string, string>();
  const seedInfos: OnnxValueInfo[] = [];
  for (const t of opts.lossInputs) {
    const name = `∂${t}`;
    seeds.set(t, name);
    seedInfos.push({ name, shape: shapes.get(t)! });
    add(t, name);
  }
  const total = (t: string): string | undefined => {
    const list = contributions.get(t);
    if (!list?.length) return undefined;
    if (list.length === 1) return list[0];
    const s = be.one('Sum', list);
    contributions.set(t, [s]);
    return s;
  };
  for (let k = fwd.length - 1; k >= 0; k--) {
    const n = fwd[k]!;
    const dys = n.outputs.map((o) => total(o));
    if (dys.every((d) => !d)) continue;
    if (!n.inputs.some((i) => requires.has(i))) continue;
    const rule = RULES[n.opType];
    if (!rule) throw new CompileError(`onnx-grad: operator ${n.opType} (${n.name}) has no gradient rule`);
    const dins = rule(n, (i) => dys[i], (i) => !!n.inputs[i] && requires.has(n.inputs[i]!), be, shapes);
    dins.forEach((d, i) => {
      if (d && requires.has(n.inputs[i]!)) add(n.inputs[i]!, d);
    });
  }
  const grads = new Map<string, string>();
  const gradOutputs: OnnxValueInfo[] = [];
  for (const w of opts.trainable) {
    const t = total(w);
    if (!t) continue;
    const name = `∂${w}`;
    be.nodes.push({ name: `${name}.out`, opType: 'Identity', inputs: [t], outputs: [name], attributes: [] });
    grads.set(w, name);
    gradOutputs.push({ name, shape: shapes.get(w)! });
  }

  // Forward graph: expand the pseudo-ops.
  const fe = new Emitter('fwd/');
  for (const n of fwd) {
    if (n.opType === BN_TRAIN) expandBatchNormTrain(n, shapes, fe);
    else fe.nodes.push(n);
  }
  // Saved tensors: forward values the backward nodes read (not weights, constants or the backward's own).
  const produced = new Set(be.nodes.flatMap((n) => n.outputs));
  const constNames = new Set([...constInits.map((i) => i.name), ...be.inits.map((i) => i.name)]);
  const saved = [...new Set(be.nodes.flatMap((n) => n.inputs))].filter((t) => t && !produced.has(t) && !constNames.has(t) && !opts.weights.has(t) && ![...seeds.values()].includes(t));
  const savedForward = saved.filter((t) => t !== inputName);
  const savedShape = (t: string) => shapes.get(t) ?? normAxes(shapes.get(fwd.find((n) => t.startsWith(n.outputs[0]! + '::'))!.inputs[0]!)!).bshape;

  const weightInfos: OnnxValueInfo[] = g.initializers.filter((i) => opts.weights.has(i.name)).map((i) => ({ name: i.name, shape: i.dims }));
  const intOutputs = new Set(fwd.filter((n) => n.opType === 'MaxPool').map((n) => n.outputs[1]!));
  const info = (t: string): OnnxValueInfo => ({ name: t, shape: savedShape(t), ...(intOutputs.has(t) ? { elemType: 'int64' as const } : {}) });
  const forwardOutputs = [...new Set([...opts.lossInputs, ...stats.flatMap((s) => [s.mean, s.variance]), ...savedForward])];
  const usedByForward = new Set(fe.nodes.flatMap((n) => n.inputs));
  const usedByBackward = new Set(be.nodes.flatMap((n) => n.inputs));
  const model = (name: string, nodes: OnnxNode[], inits: OnnxInitializer[], inputs: OnnxValueInfo[], outputs: OnnxValueInfo[]): OnnxModelJs => ({
    ...base,
    graph: { name, nodes, initializers: inits, inputs, outputs },
    metadata: {},
  });
  const forward = model(
    `${g.name}_train_forward`,
    fe.nodes,
    [...constInits, ...fe.inits].filter((i) => usedByForward.has(i.name)),
    [{ name: inputName, shape: opts.inputShape }, ...weightInfos.filter((w) => usedByForward.has(w.name))],
    forwardOutputs.map(info),
  );
  const backward = model(
    `${g.name}_train_backward`,
    be.nodes,
    [...constInits.filter((i) => usedByBackward.has(i.name)), ...be.inits],
    [...seedInfos, ...saved.map((t) => (t === inputName ? { name: t, shape: opts.inputShape } : info(t))), ...weightInfos.filter((w) => usedByBackward.has(w.name))],
    gradOutputs,
  );
  return { forward, backward, seeds, grads, saved, stats, shapes };
}

/**
 * The lowered ONNX graph computing several layers of the compiled model at once (training needs the
 * logits and the metric-loss feature): `lowerToOnnx` per output, merged by node and initializer name, each
 * output named after its layer. Input `input` [N, 3, H, W]. Throws CompileError like lowerToOnnx.
 */
export function lowerLayers(compiled: CompiledModel, weights: WeightValues, layerNames: string[]): OnnxModelJs {
  const [h, w] = compiled.metadata.inputShape as [number, number, number];
  const pre = { inputSize: [h, w] as [number, number], mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bilinear' };
  const nodes = new Map<string, OnnxNode>();
  const inits = new Map<string, OnnxInitializer>();
  let first: OnnxModelJs | undefined;
  const outputs: OnnxValueInfo[] = [];
  for (const name of layerNames) {
    const m = lowerToOnnx({ ...compiled, metadata: { ...compiled.metadata, roles: { ...compiled.metadata.roles, evalFeature: name } } }, weights, { preprocessing: pre });
    first ??= m;
    const rename = (t: string) => (t === ONNX_OUTPUT_NAME ? name : t);
    for (const n of m.graph.nodes) if (!nodes.has(n.name)) nodes.set(n.name, { ...n, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) });
    for (const i of m.graph.initializers) if (!inits.has(i.name)) inits.set(i.name, i);
    outputs.push({ name, shape: m.graph.outputs[0]!.shape });
  }
  if (!first) throw new CompileError('onnx-grad: no layer to lower');
  // Node order: a topological order of the union (each part is topological; re-sort by dependencies).
  const ready = new Set<string>([first.graph.inputs[0]!.name, ...inits.keys()]);
  const pending = [...nodes.values()];
  const ordered: OnnxNode[] = [];
  while (pending.length) {
    const k = pending.findIndex((n) => n.inputs.every((i) => !i || ready.has(i)));
    if (k < 0) throw new CompileError('onnx-grad: the lowered graph has a cycle');
    const [n] = pending.splice(k, 1);
    ordered.push(n!);
    n!.outputs.forEach((o) => ready.add(o));
  }
  return { ...first, graph: { ...first.graph, nodes: ordered, initializers: [...inits.values()], outputs } };
}
