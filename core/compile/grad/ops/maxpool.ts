/**
 * MaxPool (nn.MaxPool2d; ONNX pads with −∞ like PyTorch). The gradient routes each dY to the FIRST maximum of
 * its window in row-major scan order — PyTorch's argmax (`aten/src/ATen/native/cpu/MaxPoolKernel.cpp`
 * keeps the first of equal values; e.g. a window of ReLU zeros sends its gradient to one cell) — computed
 * without MaxPool's Indices output, which onnxruntime's WebGPU EP does not produce: for each window offset
 * (ky, kx) in scan order, mask = (X̃[s·y + ky, s·x + kx] == Y) and not taken by an earlier offset; dY·mask is
 * added on the sub-grid of X̃ its offset's phase (ky mod s, kx mod s) reaches, and the s·s sub-grids are
 * interleaved into X̃'s grid.
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
    // The window offsets by phase (ky mod sh, kx mod sw): offset (ky, kx) = (a + sh·my, b + sw·mx) puts
    // output (y, x) at X̃ row sh·(y + my) + a, column sw·(x + mx) + b — on phase (a, b)'s sub-grid of
    // Hq×Wq cells, shifted by (my, mx). Each phase's parts are added on its sub-grid (1/(sh·sw) of X̃), and the
    // phases are interleaved into X̃'s grid once (Concat + Reshape), instead of padding every part to X̃'s
    // size with inserted zeros (that form's 9 full-size Pads and Adds cost ≈ 4–6 % of a resnet50 step).
    const [Hq, Wq] = [Math.ceil(Hp / sh), Math.ceil(Wp / sw)];
    const phase: string[][][] = Array.from({ length: sh }, () => Array.from({ length: sw }, () => []));
    let taken: string | undefined;
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++) {
        const win = e.one('Slice', [xpad, e.i64([ky, kx]), e.i64([ky + sh * (Ho - 1) + 1, kx + sw * (Wo - 1) + 1]), e.i64([2, 3]), e.i64([sh, sw])]);
        const eq = e.one('Cast', [e.one('Equal', [win, y])], [{ name: 'to', type: 'int', value: 1 }]);
        const mask = taken ? e.one('Mul', [eq, e.one('Sub', [e.f32(1), taken])]) : eq;
        taken = taken ? e.one('Add', [taken, mask]) : mask;
        const [my, mx] = [Math.floor(ky / sh), Math.floor(kx / sw)];
        const part = e.one('Mul', [g, mask]);
        phase[ky % sh]![kx % sw]!.push(my || mx || Hq > Ho || Wq > Wo ? e.one('Pad', [part, e.i64([0, 0, my, mx, 0, 0, Hq - Ho - my, Wq - Wo - mx])]) : part);
      }
    const sub = (list: string[]) => (list.length ? e.addAll(list) : e.zeros([N, C, Hq, Wq]));
    const cat = (list: string[], axis: number) => (list.length === 1 ? list[0]! : e.one('Concat', list, [{ name: 'axis', type: 'int', value: axis }]));
    const grid =
      sh === 1 && sw === 1
        ? sub(phase[0]![0]!)
        : e.reshape(cat(phase.map((row) => cat(row.map((p) => e.reshape(sub(p), [N, C, Hq, 1, Wq, 1])), 5)), 3), [N, C, Hq * sh, Wq * sw]);
    let dx = e.one('Slice', [grid, e.i64([ph, pw]), e.i64([ph + Hc, pw + Wc]), e.i64([2, 3])], [], `${n.name}.dX`);
    if (Hc < H || Wc < W) dx = e.one('Pad', [dx, e.i64([0, 0, 0, 0, 0, 0, H - Hc, W - Wc])]);
    return [dx];
  },
};
