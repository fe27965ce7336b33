/**
 * Normalisation layers (closed forms, Ioffe & Szegedy 2015):
 *  - BatchNormalizationTrain (the pseudo-op of a BatchNorm that trains on batch statistics; expanded to
 *    standard operators by `expandBatchNormTrain`): dx = γ·r·(dy − mean(dy) − x̂·mean(dy·x̂)),
 *    dγ = Σ dy·x̂, dβ = Σ dy, r = rsqrt(σ² + ε) over N and the spatial axes;
 *  - BatchNormalization with frozen statistics: dx = γ·r·dy;
 *  - InstanceNormalization: the first form per (sample, channel).
 */
import { CompileError } from '../../keras.js';
import type { OnnxNode } from '../../onnx.js';
import { floatAttr, size, type Emitter, type OpRule, type Shapes } from '../emitter.js';

export const BN_TRAIN = 'BatchNormalizationTrain';

/** Channel axes layout of a norm input: reduction axes over the batch (N and spatial) and a broadcast shape [1, C, 1, …]. */
export function normAxes(x: number[]): { batchAxes: number[]; spatialAxes: number[]; bshape: number[] } {
  const spatialAxes = x.slice(2).map((_, i) => i + 2);
  return { batchAxes: [0, ...spatialAxes], spatialAxes, bshape: [1, x[1]!, ...spatialAxes.map(() => 1)] };
}

/** Names of a training BatchNorm's internal tensors the backward pass reads (batch mean and rstd, [1, C, 1, 1]). */
export const bnMean = (n: OnnxNode) => `${n.outputs[0]}::mean`;
export const bnRstd = (n: OnnxNode) => `${n.outputs[0]}::rstd`;

/**
 * The training-mode BatchNorm as standard operators — PyTorch's training-mode `F.batch_norm`: ReduceMean /
 * Sub / Mul / Sqrt / Reciprocal / BatchNormalization(batch mean, biased variance); it also outputs the batch
 * mean and the *unbiased* variance (what PyTorch folds into running_var, `torch/nn/modules/batchnorm.py`).
 */
export function expandBatchNormTrain(n: OnnxNode, shapes: Shapes, e: Emitter): void {
  const [x, gamma, beta] = n.inputs as [string, string, string];
  const xs = shapes.get(x)!;
  const { batchAxes } = normAxes(xs);
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
  if (n.outputs[1]) e.nodes.push({ name: `${n.name}::batch_mean`, opType: 'Identity', inputs: [mean1], outputs: [n.outputs[1]], attributes: [] });
  if (n.outputs[2]) e.nodes.push({ name: `${n.name}::batch_var`, opType: 'Mul', inputs: [var1, e.f32(count / (count - 1))], outputs: [n.outputs[2]], attributes: [] });
}

/** Gradient of a normalisation over `groupAxes` (null: frozen statistics) given x̂ statistics broadcastable to x. */
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
): (string | undefined)[] {
  const { batchAxes, bshape } = normAxes(xs);
  const c = xs[1]!;
  const a = e.one('Mul', [rstd, e.reshape(gamma, bshape)]);
  const xhat = need.gamma || (need.x && groupAxes) ? e.one('Mul', [e.one('Sub', [x, mean]), rstd]) : undefined;
  const out: (string | undefined)[] = [];
  if (need.x) {
    if (!groupAxes) out[0] = e.one('Mul', [dy, a]);
    else {
      const g = groupAxes.reduce((p, ax) => p * xs[ax]!, 1);
      const k1 = e.one('Mul', [e.reduceSum(dy, groupAxes, true), e.f32(1 / g)]);
      const k2 = e.one('Mul', [e.reduceSum(e.one('Mul', [dy, xhat!]), groupAxes, true), e.f32(1 / g)]);
      out[0] = e.one('Mul', [e.one('Sub', [e.one('Sub', [dy, k1]), e.one('Mul', [xhat!, k2])]), a]);
    }
  }
  if (need.gamma) out[1] = e.reshape(e.reduceSum(e.one('Mul', [dy, xhat!]), batchAxes, false), [c]);
  if (need.beta) out[2] = e.reshape(e.reduceSum(dy, batchAxes, false), [c]);
  return out;
}

const same: OpRule['shape'] = (n, get) => [get(n.inputs[0]!)];

export const BatchNormalizationTrain: OpRule = {
  shape: (n, get) => {
    const x = get(n.inputs[0]!);
    return [x, [x[1]!], [x[1]!]];
  },
  nonDifferentiable: (i) => i > 0,
  grad(n, dy, need, e, shapes) {
    const [x, gamma] = n.inputs as [string, string];
    const xs = shapes.get(x)!;
    return normBackward(e, dy(0)!, x, bnMean(n), bnRstd(n), gamma, xs, normAxes(xs).batchAxes, { x: need(0), gamma: need(1), beta: need(2) });
  },
};

export const BatchNormalization: OpRule = {
  shape: same,
  grad(n, dy, need, e, shapes) {
    const [x, gamma, , mean, variance] = n.inputs as [string, string, string, string, string];
    const xs = shapes.get(x)!;
    const { bshape } = normAxes(xs);
    const rstd = e.one('Reciprocal', [e.one('Sqrt', [e.one('Add', [e.reshape(variance, bshape), e.f32(floatAttr(n, 'epsilon', 1e-5))])])]);
    return normBackward(e, dy(0)!, x, e.reshape(mean, bshape), rstd, gamma, xs, null, { x: need(0), gamma: need(1), beta: need(2) });
  },
};

export const InstanceNormalization: OpRule = {
  shape: same,
  grad(n, dy, need, e, shapes) {
    const [x, gamma] = n.inputs as [string, string];
    const xs = shapes.get(x)!;
    const { spatialAxes } = normAxes(xs);
    const mean = e.reduceMean(x, spatialAxes);
    const d = e.one('Sub', [x, mean]);
    const variance = e.reduceMean(e.one('Mul', [d, d]), spatialAxes);
    const rstd = e.one('Reciprocal', [e.one('Sqrt', [e.one('Add', [variance, e.f32(floatAttr(n, 'epsilon', 1e-5))])])]);
    return normBackward(e, dy(0)!, x, mean, rstd, gamma, xs, spatialAxes, { x: need(0), gamma: need(1), beta: need(2) });
  },
};
