/**
 * Linear algebra (adjoints of matrix products):
 *   Gemm(x, w, b) without transposes or scaling (nn.Linear, weight [in, out]): dx = dy·wᵀ, dw = xᵀ·dy, db = Σ dy;
 *   MatMul(a, b) of 2-D, or batched 3-D/4-D with equal batch dims (fast-reid's non-local block, the losses'
 *   Gram matrices): da = dy·bᵀ, db = aᵀ·dy.
 * A 2-D MatMul's adjoints are Gemms with transA / transB rather than MatMuls of Transpose nodes. With the
 * Transpose form, the Gram matrix's df = dy·f + (fᵀ·dy)ᵀ (the triplet loss's distances, step-loss.ts) became
 * Add(MatMul, Transpose), which onnxruntime 1.30 fuses into a Gemm whose bias C is a Transpose; its
 * GemmTransposeFusion rule then matches that Gemm (it looks at every input) but can fuse only A and B, so it
 * rebuilds the same Gemm on every pass and the level-1 optimizer never settles: all ten passes over the whole
 * training graph ran (mgn_R50-ibn: 27 s of the session's 28 s creation, 1 thread; with Gemms it settles in two).
 */
import { CompileError } from '../../keras.js';
import { floatAttr, intAttr, type OpRule } from '../emitter.js';

export const Gemm: OpRule = {
  shape(n, get) {
    if (intAttr(n, 'transA', 0) || intAttr(n, 'transB', 0) || floatAttr(n, 'alpha', 1) !== 1 || floatAttr(n, 'beta', 1) !== 1)
      throw new CompileError(`onnx-grad: ${n.name}: only Gemm without transposes or scaling is supported for training`);
    return [[get(n.inputs[0]!)[0]!, get(n.inputs[1]!)[1]!]];
  },
  grad(n, dy, need, e) {
    const [x, w] = n.inputs as [string, string];
    const g = dy(0)!;
    return [
      need(0) ? e.one('Gemm', [g, w], [{ name: 'transB', type: 'int', value: 1 }]) : undefined,
      need(1) ? e.one('Gemm', [x, g], [{ name: 'transA', type: 'int', value: 1 }]) : undefined,
      n.inputs[2] && need(2) ? e.reduceSum(g, [0], false) : undefined,
    ];
  },
};

export const MatMul: OpRule = {
  shape(n, get) {
    const a = get(n.inputs[0]!);
    const b = get(n.inputs[1]!);
    if (a.length !== b.length || a.length < 2 || a.slice(0, -2).join() !== b.slice(0, -2).join() || a[a.length - 1] !== b[b.length - 2])
      throw new CompileError(`onnx-grad: ${n.name}: MatMul of ${a.join('×')} and ${b.join('×')} is not supported for training (equal ranks and batch dimensions only)`);
    return [[...a.slice(0, -1), b[b.length - 1]!]];
  },
  grad(n, dy, need, e, shapes) {
    const [a, b] = n.inputs as [string, string];
    const r = shapes.get(a)!.length;
    const perm = [...Array(r - 2).keys(), r - 1, r - 2];
    const g = dy(0)!;
    if (r === 2) return [need(0) ? e.one('Gemm', [g, b], [{ name: 'transB', type: 'int', value: 1 }]) : undefined, need(1) ? e.one('Gemm', [a, g], [{ name: 'transA', type: 'int', value: 1 }]) : undefined];
    return [need(0) ? e.one('MatMul', [g, e.transpose(b, perm)]) : undefined, need(1) ? e.one('MatMul', [e.transpose(a, perm), g]) : undefined];
  },
};
