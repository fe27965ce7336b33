/**
 * Binary elementwise operators with NumPy broadcasting; each input's gradient is summed over the axes it
 * was broadcast along (`unbroadcast`):
 *   Add  da = dy, db = dy;           Sub  da = dy, db = −dy;
 *   Mul  da = dy·b, db = dy·a;       Div  da = dy / b, db = −dy·y / b;
 *   Max(x, c) with a constant c (fast-reid GeM's clamp, the distances' clamp): dx = dy where x ≥ c
 *        (PyTorch's clamp_backward passes the gradient at equality);
 *   Pow(a, b)  da = dy·b·a^(b−1), db = Σ dy·y·ln a.
 */
import { CompileError } from '../../keras.js';
import type { OnnxNode } from '../../onnx.js';
import { broadcastShape, size, unbroadcast, type Emitter, type OpRule, type Shapes } from '../emitter.js';

const bshape: OpRule['shape'] = (n, get) => [broadcastShape(get(n.inputs[0]!), get(n.inputs[1]!), n.name)];

/** Gradient `g` (of the output's shape) brought to input i's shape. */
function toInput(n: OnnxNode, i: number, g: string, e: Emitter, shapes: Shapes): string {
  return unbroadcast(e, g, shapes.get(n.outputs[0]!)!, shapes.get(n.inputs[i]!)!);
}

export const Add: OpRule = {
  shape: bshape,
  grad: (n, dy, need, e, s) => [need(0) ? toInput(n, 0, dy(0)!, e, s) : undefined, need(1) ? toInput(n, 1, dy(0)!, e, s) : undefined],
};

export const Sub: OpRule = {
  shape: bshape,
  grad: (n, dy, need, e, s) => [need(0) ? toInput(n, 0, dy(0)!, e, s) : undefined, need(1) ? toInput(n, 1, e.one('Neg', [dy(0)!]), e, s) : undefined],
};

export const Mul: OpRule = {
  shape: bshape,
  grad(n, dy, need, e, s) {
    const [a, b] = n.inputs as [string, string];
    const g = dy(0)!;
    return [need(0) ? toInput(n, 0, e.one('Mul', [g, b]), e, s) : undefined, need(1) ? toInput(n, 1, e.one('Mul', [g, a]), e, s) : undefined];
  },
};

export const Div: OpRule = {
  shape: bshape,
  grad(n, dy, need, e, s) {
    const b = n.inputs[1]!;
    const g = dy(0)!;
    const ga = e.one('Div', [g, b]);
    return [need(0) ? toInput(n, 0, ga, e, s) : undefined, need(1) ? toInput(n, 1, e.one('Neg', [e.one('Mul', [ga, n.outputs[0]!])]), e, s) : undefined];
  },
};

export const Max: OpRule = {
  shape: bshape,
  grad(n, dy, need, e, s) {
    const [x, c] = n.inputs as [string, string];
    if (size(s.get(c)!) !== 1 || need(1)) throw new CompileError(`onnx-grad: ${n.name}: only Max(x, constant) is supported for training`);
    return [e.one('Where', [e.one('GreaterOrEqual', [x, c]), dy(0)!, e.f32(0)])];
  },
};

export const Pow: OpRule = {
  shape(n, get) {
    const x = get(n.inputs[0]!);
    const y = get(n.inputs[1]!);
    if (size(y) !== 1 && y.join() !== x.join()) throw new CompileError(`onnx-grad: ${n.name}: broadcasting Pow of ${x.join('×')} and ${y.join('×')} is not supported`);
    return [size(x) >= size(y) ? x : y];
  },
  grad(n, dy, need, e, shapes) {
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
};

/** Where(cond, a, b): da = dy where cond, db = dy elsewhere (cond carries no gradient). */
export const Where: OpRule = {
  shape: (n, get) => [broadcastShape(broadcastShape(get(n.inputs[0]!), get(n.inputs[1]!), n.name), get(n.inputs[2]!), n.name)],
  grad(n, dy, need, e, s) {
    const [cond] = n.inputs as [string];
    const g = dy(0)!;
    const zero = e.f32(0);
    return [
      undefined,
      need(1) ? toInput(n, 1, e.one('Where', [cond, g, zero]), e, s) : undefined,
      need(2) ? toInput(n, 2, e.one('Where', [cond, zero, g]), e, s) : undefined,
    ];
  },
};

/** Comparisons: boolean outputs, no gradient. */
export const compare: OpRule = { shape: bshape, nonDifferentiable: () => true };
