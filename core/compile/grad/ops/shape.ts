/**
 * Operators that move values without arithmetic (each gradient is the inverse move):
 *   Flatten / Reshape: dy reshaped to x's shape;   Transpose: dy transposed by the inverse permutation;
 *   Split: the parts' gradients concatenated (zeros for parts no gradient reaches);   Concat: dy split;
 *   GlobalAveragePool: dy / (H·W) expanded over the spatial axes.
 */
import { CompileError } from '../../keras.js';
import type { OnnxNode } from '../../onnx.js';
import { intAttr, intsAttr, size, type OpRule } from '../emitter.js';

const back: OpRule['grad'] = (n, dy, _need, e, shapes) => [e.reshape(dy(0)!, shapes.get(n.inputs[0]!)!)];

export const Flatten: OpRule = {
  shape(n, get) {
    const x = get(n.inputs[0]!);
    const axis = intAttr(n, 'axis', 1);
    return [[size(x.slice(0, axis)), size(x.slice(axis))]];
  },
  grad: back,
};

export const Reshape: OpRule = {
  shape(n, get, consts) {
    const x = get(n.inputs[0]!);
    const target = consts.get(n.inputs[1]!);
    if (!target) throw new CompileError(`onnx-grad: ${n.name}: Reshape needs a constant shape`);
    const out = target.map((d, i) => (d === 0 ? x[i]! : d));
    const k = out.indexOf(-1);
    if (k >= 0) out[k] = size(x) / -size(out);
    return [out];
  },
  grad: back,
};

export const Transpose: OpRule = {
  shape(n, get) {
    const x = get(n.inputs[0]!);
    const perm = intsAttr(n, 'perm', [...x.keys()].reverse());
    return [perm.map((p) => x[p]!)];
  },
  grad(n, dy, _need, e, shapes) {
    const r = shapes.get(n.inputs[0]!)!.length;
    const perm = intsAttr(n, 'perm', [...Array(r).keys()].reverse());
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [e.transpose(dy(0)!, inv)];
  },
};

/** Split's constant sizes (its second input). */
function splitSizes(n: OnnxNode, consts: Map<string, number[]>): number[] {
  const s = consts.get(n.inputs[1] ?? '');
  if (!s) throw new CompileError(`onnx-grad: ${n.name}: Split needs constant split sizes`);
  return s;
}

export const Split: OpRule = {
  shape(n, get, consts) {
    const x = get(n.inputs[0]!);
    const axis = intAttr(n, 'axis', 0);
    return splitSizes(n, consts).map((s) => x.map((d, i) => (i === axis ? s : d)));
  },
  grad(n, dy, _need, e, shapes) {
    const parts = n.outputs.map((o, i) => dy(i) ?? e.zeros(shapes.get(o)!));
    return [e.one('Concat', parts, [{ name: 'axis', type: 'int', value: intAttr(n, 'axis', 0) }])];
  },
};

export const Concat: OpRule = {
  shape(n, get) {
    const axis = intAttr(n, 'axis', 0);
    const all = n.inputs.map(get);
    return [all[0]!.map((d, i) => (i === axis ? all.reduce((a, s) => a + s[i]!, 0) : d))];
  },
  grad(n, dy, need, e, shapes) {
    const axis = intAttr(n, 'axis', 0);
    const sizes = n.inputs.map((i) => shapes.get(i)![axis]!);
    const outs = e.op('Split', [dy(0)!, e.i64(sizes)], [{ name: 'axis', type: 'int', value: axis }], n.inputs.length);
    return outs.map((o, i) => (need(i) ? o : undefined));
  },
};

export const GlobalAveragePool: OpRule = {
  shape(n, get) {
    const x = get(n.inputs[0]!);
    return [[x[0]!, x[1]!, ...x.slice(2).map(() => 1)]];
  },
  grad(n, dy, _need, e, shapes) {
    const xs = shapes.get(n.inputs[0]!)!;
    return [e.one('Expand', [e.one('Mul', [dy(0)!, e.f32(1 / size(xs.slice(2)))]), e.i64(xs)])];
  },
};
