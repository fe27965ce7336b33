/**
 * AveragePool (nn.AvgPool2d: symmetric zero padding, `ceil_mode`, `count_include_pad`; ResNeSt's `avd_layer`
 * AvgPool2d(3, s, 1) and average-down shortcut AvgPool2d(s, s, ceil_mode=True, count_include_pad=False),
 * fast-reid fastreid/modeling/backbones/resnest.py). Y[y, x] = Σ_window X̃ / D[y, x] with PyTorch's divisor
 * (aten/src/ATen/native/cpu/AvgPoolKernel.cpp): the window [s·y − p, s·y − p + k) cut at H + p gives
 * D = its size when count_include_pad, else the size of its part inside [0, H). So
 *   dX = the k×k spread of dY / D: ConvTranspose of dY / D (one channel per N·C) with a k×k kernel of ones at the
 *        pool's stride, cropped to X's rows [p, p + H) (rows the windows never reach get 0).
 * Output size as PyTorch's pooling_output_shape: ceil mode drops a last window that starts in the padding.
 */
import { CompileError } from '../../keras.js';
import { intAttr, intsAttr, ints, type OpRule } from '../emitter.js';

/** PyTorch's pooling_output_shape (aten/src/ATen/native/Pool.h) for one axis. */
export function poolOut(n: number, k: number, s: number, p: number, ceil: boolean): number {
  let out = Math.floor((n + 2 * p - k + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= n + p) out--;
  return out;
}

/** The divisors D of one axis: per output position, the window length PyTorch divides by. */
function divisors(n: number, out: number, k: number, s: number, p: number, includePad: boolean): number[] {
  return Array.from({ length: out }, (_, o) => {
    const start = o * s - p;
    const end = Math.min(start + k, n + p);
    return includePad ? end - start : Math.min(end, n) - Math.max(start, 0);
  });
}

export const AveragePool: OpRule = {
  shape(n, get) {
    const x = get(n.inputs[0]!);
    const [kh, kw] = intsAttr(n, 'kernel_shape', []) as [number, number];
    const [sh, sw] = intsAttr(n, 'strides', [1, 1]) as [number, number];
    const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
    if (x.length !== 4 || pads[0] !== pads[2] || pads[1] !== pads[3] || intsAttr(n, 'dilations', [1, 1]).some((d) => d !== 1))
      throw new CompileError(`onnx-grad: ${n.name}: only 2-D, symmetrically padded, undilated average pooling is supported for training`);
    const ceil = intAttr(n, 'ceil_mode', 0) === 1;
    return [[x[0]!, x[1]!, poolOut(x[2]!, kh, sh, pads[0]!, ceil), poolOut(x[3]!, kw, sw, pads[1]!, ceil)]];
  },
  grad(n, dy, _need, e, shapes) {
    const [N, C, H, W] = shapes.get(n.inputs[0]!)! as [number, number, number, number];
    const [, , Ho, Wo] = shapes.get(n.outputs[0]!)! as [number, number, number, number];
    const [kh, kw] = intsAttr(n, 'kernel_shape', []) as [number, number];
    const [sh, sw] = intsAttr(n, 'strides', [1, 1]) as [number, number];
    const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
    const [ph, pw] = [pads[0]!, pads[1]!];
    const includePad = intAttr(n, 'count_include_pad', 0) === 1;
    const [dh, dw] = [divisors(H, Ho, kh, sh, ph, includePad), divisors(W, Wo, kw, sw, pw, includePad)];
    const inv = new Float32Array(Ho * Wo);
    dh.forEach((a, y) => dw.forEach((b, x) => (inv[y * Wo + x] = 1 / (a * b))));
    const scaled = e.one('Mul', [dy(0)!, e.tensor('avgpool_inv_divisor', [Ho, Wo], inv)]);
    // The windows cover rows [−p, (Ho − 1)·s + k − p) of X: spread there, then cut / zero-extend to [0, H).
    const [Hp, Wp] = [(Ho - 1) * sh + kh, (Wo - 1) * sw + kw];
    const spread = e.one('ConvTranspose', [e.reshape(scaled, [N * C, 1, Ho, Wo]), e.tensor('avgpool_ones', [1, 1, kh, kw], new Float32Array(kh * kw).fill(1))], [
      ints('kernel_shape', [kh, kw]),
      ints('strides', [sh, sw]),
    ]);
    const [Hc, Wc] = [Math.min(H, Hp - ph), Math.min(W, Wp - pw)];
    let dx = e.one('Slice', [spread, e.i64([ph, pw]), e.i64([ph + Hc, pw + Wc]), e.i64([2, 3])]);
    if (Hc < H || Wc < W) dx = e.one('Pad', [dx, e.i64([0, 0, 0, 0, 0, 0, H - Hc, W - Wc])]);
    return [e.one('Reshape', [dx, e.i64([N, C, H, W])], [], `${n.name}.dX`)];
  },
};
