/**
 * Reductions (axes as the `axes` attribute or, for ReduceSum, its second input):
 *   ReduceSum   dx = dy expanded back over the reduced axes;   ReduceMean: the same / count;
 *   ReduceMax / ReduceMin: dy to the entries equal to the extreme (tfjs's max / min gradient; PyTorch's
 *   `max(dim)` picks one index — the same unless two entries tie exactly);
 *   ArgMax: integer output, no gradient.
 */
import { CompileError } from '../../keras.js';
import type { OnnxNode } from '../../onnx.js';
import { intAttr, intsAttr, size, type Emitter, type OpRule } from '../emitter.js';

function axesOf(n: OnnxNode, rank: number, consts: Map<string, number[]>): number[] {
  const a = n.inputs[1] ? consts.get(n.inputs[1]) : intsAttr(n, 'axes', [...Array(rank).keys()]);
  if (!a) throw new CompileError(`onnx-grad: ${n.name}: ${n.opType} needs constant axes`);
  return a.map((x) => (x < 0 ? x + rank : x));
}

const reducedShape = (x: number[], axes: number[], keep: boolean) => (keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i)));

function reduceRule(kind: 'sum' | 'mean' | 'extreme'): OpRule {
  return {
    shape(n, get, consts) {
      const x = get(n.inputs[0]!);
      return [reducedShape(x, axesOf(n, x.length, consts), intAttr(n, 'keepdims', 1) === 1)];
    },
    grad(n, dy, _need, e: Emitter, shapes, consts) {
      const xs = shapes.get(n.inputs[0]!)!;
      const axes = axesOf(n, xs.length, consts);
      let g = e.reshape(dy(0)!, reducedShape(xs, axes, true));
      if (kind === 'mean') g = e.one('Mul', [g, e.f32(1 / size(axes.map((a) => xs[a]!)))]);
      if (kind === 'extreme') {
        const y = intAttr(n, 'keepdims', 1) === 1 ? n.outputs[0]! : e.reshape(n.outputs[0]!, reducedShape(xs, axes, true));
        return [e.one('Where', [e.one('Equal', [n.inputs[0]!, y]), g, e.f32(0)])];
      }
      return [e.one('Expand', [g, e.i64(xs)])];
    },
  };
}

export const ReduceSum = reduceRule('sum');
export const ReduceMean = reduceRule('mean');
export const ReduceMax = reduceRule('extreme');
export const ReduceMin = reduceRule('extreme');
export const ArgMax: OpRule = {
  shape(n, get) {
    const x = get(n.inputs[0]!);
    const axis = intAttr(n, 'axis', 0);
    return [reducedShape(x, [axis < 0 ? axis + x.length : axis], intAttr(n, 'keepdims', 1) === 1)];
  },
  nonDifferentiable: () => true,
};
