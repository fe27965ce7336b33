/**
 * Conv (nn.Conv2d, group 1, no dilation, symmetric pads):
 *   dX = Conv(dY, W transposed and flipped, pads k − 1 − p) at stride 1, else ConvTranspose(dY, W) (same
 *        strides / pads, output_padding restoring X's size);
 *   dW = on onnxruntime CPU (`Emitter.cpuForms`) one of three forms, chosen by shape (`weightGradDirect`;
 *        measured per resnet50 layer shape with bench/_conv-dw.ts): a per-image batched MatMul (1×1 kernels on large maps), a Conv over the batch
 *        (narrow inputs such as the stem), else GEMMs of dY [C_out, N·Ho·Wo] with the k·k strided windows of
 *        the padded input in [C_in, N, H, W] layout (im2col by Slice); dB = Σ dY.
 */
import { CompileError } from '../../keras.js';
import { intAttr, ints, intsAttr, type Emitter, type OpRule } from '../emitter.js';

export function convOut(n: number, k: number, s: number, p: number, ceil = false): number {
  return (ceil ? Math.ceil : Math.floor)((n + 2 * p - k) / s) + 1;
}

export const Conv: OpRule = {
  shape(n, get) {
    const x = get(n.inputs[0]!);
    const w = get(n.inputs[1]!);
    const [kh, kw] = [w[2]!, w[3]!];
    const [sh, sw] = intsAttr(n, 'strides', [1, 1]);
    const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
    if (intAttr(n, 'group', 1) !== 1 || intsAttr(n, 'dilations', [1, 1]).some((d) => d !== 1) || pads[0] !== pads[2] || pads[1] !== pads[3])
      throw new CompileError(`onnx-grad: ${n.name}: grouped, dilated or asymmetrically padded convolutions are not supported for training`);
    return [[x[0]!, w[0]!, convOut(x[2]!, kh, sh!, pads[0]!), convOut(x[3]!, kw, sw!, pads[1]!)]];
  },
  grad(n, dy, need, e, shapes) {
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
    if (need(1) && e.cpuForms) out[1] = weightGradDirect(e, x, g, xs, ws, ys, [sh, sw], [ph, pw], `${n.name}.dW`);
    if (need(1) && !out[1]) {
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
  }
};


/**
 * Where `weightGradDirect` applies: a 1×1 kernel's dW as a per-image MatMul when the map has at least
 * `matmulMinPositions` output positions (Ho·Wo); a k×k kernel's dW as a Conv over the batch when the input
 * has fewer than `convMaxChannels` channels (the stem's 3). bench/_conv-dw.ts sets them to compare forms.
 */
export const CONV_DW_FORMS = { matmulMinPositions: 512, convMaxChannels: 32 };

/**
 * The group-1 Conv's weight gradient dW [C_out, C_in, kh, kw] in the forms that beat the im2col GEMMs on
 * onnxruntime CPU (bench/_conv-dw.ts, resnet50 at 256×128, batch 16, 1 thread: the 1×1 layers on 64×32 maps
 * 1.3–2× faster, the 7×7 stem 2× faster), or undefined for the other shapes (the caller's im2col GEMMs):
 * - 1×1 kernel, no padding, Ho·Wo ≥ matmulMinPositions: dW = Σ_n dY_n [C_out, Ho·Wo] · X_nᵀ [Ho·Wo, C_in]
 *   as a MatMul batched over the images, then ReduceSum over them (X strided by Slice first when the stride
 *   is > 1). Only dY's own layout: no transpose of the N·H·W-long operands into [C, N·H·W]; onnxruntime
 *   fuses X's Transpose into the MatMul. On small maps the [N, C_out, C_in] partial sums cost more than they save.
 * - k×k kernel on fewer than convMaxChannels input channels: dW is the cross-correlation of the input
 *   with dY taken over the batch — Conv(X laid out [C_in, N, H, W], kernel dY laid out [C_out, N, Ho, Wo],
 *   dilations = strides, pads = p) = dWᵀ [C_in, C_out, k′, k′] with k′ = k + (H + 2p − k) mod s (the rows
 *   past k are the positions no output reached, sliced off) — so onnxruntime's own im2col serves the
 *   reduction (cuDNN's and PyTorch's "backward weight as a convolution" identity).
 * `x` [N, C_in, H, W], `g` = dY [N, C_out, Ho, Wo].
 */
function weightGradDirect(e: Emitter, x: string, g: string, xs: number[], ws: number[], ys: number[], [sh, sw]: [number, number], [ph, pw]: [number, number], hint: string): string | undefined {
  const [n, co, ho, wo] = ys as [number, number, number, number];
  const [ci, h, w] = [xs[1]!, xs[2]!, xs[3]!];
  const [kh, kw] = [ws[2]!, ws[3]!];
  if (kh === 1 && kw === 1 && ph === 0 && pw === 0 && ho * wo >= CONV_DW_FORMS.matmulMinPositions) {
    const strided = sh === 1 && sw === 1 ? x : e.one('Slice', [x, e.i64([0, 0]), e.i64([sh * (ho - 1) + 1, sw * (wo - 1) + 1]), e.i64([2, 3]), e.i64([sh, sw])]);
    const xt = e.transpose(e.reshape(strided, [n, ci, ho * wo]), [0, 2, 1]);
    const perImage = e.one('MatMul', [e.reshape(g, [n, co, ho * wo]), xt], [], hint);
    return e.reshape(e.reduceSum(perImage, [0], false), [co, ci, 1, 1]);
  }
  if ((kh > 1 || kw > 1) && ci < CONV_DW_FORMS.convMaxChannels) {
    let c = e.one('Conv', [e.transpose(x, [1, 0, 2, 3]), e.transpose(g, [1, 0, 2, 3])], [ints('kernel_shape', [ho, wo]), ints('dilations', [sh, sw]), ints('pads', [ph, pw, ph, pw])], hint);
    if (h + 2 * ph - sh * (ho - 1) !== kh || w + 2 * pw - sw * (wo - 1) !== kw) c = e.one('Slice', [c, e.i64([0, 0]), e.i64([kh, kw]), e.i64([2, 3])]);
    return e.transpose(c, [1, 0, 2, 3]);
  }
  return undefined;
}
