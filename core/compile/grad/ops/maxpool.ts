/**
 * MaxPool (nn.MaxPool2d; ONNX pads with −∞ like PyTorch). The gradient routes each dY to the FIRST maximum of
 * its window in row-major scan order — PyTorch's argmax (`aten/src/ATen/native/cpu/MaxPoolKernel.cpp`
 * keeps the first of equal values; e.g. a window of ReLU zeros sends its gradient to one cell) — computed
 * without MaxPool's Indices output, which onnxruntime's WebGPU EP does not produce: for each window offset
 * (ky, kx) in scan order, mask = (X̃[s·y + ky, s·x + kx] == Y) and not taken by an earlier offset; dY·mask is
 * spread back to X's grid by zero insertion (Reshape / Pad) and a shift, and the k·k parts are added.
 */
import { intAttr, intsAttr, type OpRule } from '../emitter.js';
import { convOut } from './conv.js';

const NEG_INF = -3.4028234663852886e38;

export const MaxPool: OpRule = {
  shape(n, get) {
    const x = get(n.inputs[0]!);
    const [kh, kw] = intsAttr(n, 'kernel_shape', []);
    const [sh, sw] = intsAttr(n, 'strides', [1, 1]);
    const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
    const ceil = intAttr(n, 'ceil_mode', 0) === 1;
    return [[x[0]!, x[1]!, convOut(x[2]!, kh!, sh!, pads[0]!, ceil), convOut(x[3]!, kw!, sw!, pads[1]!, ceil)]];
  },
  grad(n, dy, _need, e, shapes) {
    const x = n.inputs[0]!;
    const y = n.outputs[0]!;
    const [N, C, H, W] = shapes.get(x)! as [number, number, number, number];
    const [, , Ho, Wo] = shapes.get(y)! as [number, number, number, number];
    const [kh, kw] = intsAttr(n, 'kernel_shape', []) as [number, number];
    const [sh, sw] = intsAttr(n, 'strides', [1, 1]) as [number, number];
    const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
    const [ph, pw] = [pads[0]!, pads[1]!];
    // The grid the windows cover: rows [−ph, (Ho − 1)·sh + kh − ph) of X; X's rows beyond it get no gradient.
    const [Hp, Wp] = [(Ho - 1) * sh + kh, (Wo - 1) * sw + kw];
    const [Hc, Wc] = [Math.min(H, Hp - ph), Math.min(W, Wp - pw)];
    const cropped = Hc < H || Wc < W ? e.one('Slice', [x, e.i64([0, 0]), e.i64([Hc, Wc]), e.i64([2, 3])]) : x;
    const xpad = e.one('Pad', [cropped, e.i64([0, 0, ph, pw, 0, 0, Hp - ph - Hc, Wp - pw - Wc]), e.f32(NEG_INF)]);
    const g = dy(0)!;
    let taken: string | undefined;
    const parts: string[] = [];
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++) {
        const win = e.one('Slice', [xpad, e.i64([ky, kx]), e.i64([ky + sh * (Ho - 1) + 1, kx + sw * (Wo - 1) + 1]), e.i64([2, 3]), e.i64([sh, sw])]);
        const eq = e.one('Cast', [e.one('Equal', [win, y])], [{ name: 'to', type: 'int', value: 1 }]);
        const mask = taken ? e.one('Mul', [eq, e.one('Sub', [e.f32(1), taken])]) : eq;
        taken = taken ? e.one('Add', [taken, mask]) : mask;
        // dY·mask at (s·y, s·x) of an (Ho·s)×(Wo·s) grid, then shifted by (ky, kx) and cut to Hp×Wp.
        let part = e.one('Mul', [g, mask]);
        if (sh > 1 || sw > 1) {
          part = e.one('Pad', [e.reshape(part, [N, C, Ho, 1, Wo, 1]), e.i64([0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1])]);
          part = e.reshape(part, [N, C, Ho * sh, Wo * sw]);
        }
        const [rh, rw] = [Ho * sh + ky, Wo * sw + kx];
        part = e.one('Pad', [part, e.i64([0, 0, ky, kx, 0, 0, Math.max(0, Hp - rh), Math.max(0, Wp - rw)])]);
        if (rh > Hp || rw > Wp) part = e.one('Slice', [part, e.i64([0, 0]), e.i64([Hp, Wp]), e.i64([2, 3])]);
        parts.push(part);
      }
    let dx = e.one('Slice', [e.addAll(parts), e.i64([ph, pw]), e.i64([ph + Hc, pw + Wc]), e.i64([2, 3])], [], `${n.name}.dX`);
    if (Hc < H || Wc < W) dx = e.one('Pad', [dx, e.i64([0, 0, 0, 0, 0, 0, H - Hc, W - Wc])]);
    return [dx];
  },
};
