/**
 * Grouped and dilated Conv (nn.Conv2d with `groups` > 1 and / or `dilation` > 1: ResNeSt's split-attention
 * conv has groups = radix·cardinality, fast-reid's LAST_STRIDE 1 dilates layer4 by 2), on top of the
 * group-1 rule (conv.ts, which it calls unchanged):
 *  - dX = ConvTranspose(dY, W) with the Conv's group, dilations, strides and pads (output_padding restoring X's
 *    size): the adjoint of the grouped, dilated convolution in one operator (tfjs-core Conv2D_grad.ts's
 *    conv2DBackpropInput, with ONNX's `group`);
 *  - dW off onnxruntime's CPU EP (WebGPU): one grouped Conv of the input with dY as its kernel
 *    (`weightGradOneConv`, below): a few nodes whatever the group count. One Split of SE-ResNeXt's 32 groups
 *    would exceed the storage buffers a WebGPU shader may bind (SwiftShader: "Too many storage buffers in
 *    shader. Current: 13, Max is 12"), and the per-group form emits a dozen nodes per group;
 *  - dW on the CPU EP (`Emitter.cpuForms`): Y_g = Conv(X_g, W_g) for the G channel slices X_g of X and the G output-channel slices W_g of W
 *    (ONNX Conv `group`, PyTorch's `groups`), so dW = Concat_g dW_g (axis 0), each from the group-1 rule on
 *    the slice (its CPU forms); a k×k kernel dilated by d is the (d(k − 1) + 1)² kernel W' with W's taps at multiples of d and
 *    zeros between (W' = dilate(W), linear), so dW = ∂L/∂W' at the taps (a strided Slice of the group-1 rule's
 *    dW' for the dense kernel), the chain rule through the selection;
 *  - dB = Σ dY over N, H, W.
 * The group-1, undilated form is the group-1 rule itself.
 */
import { CompileError } from '../../keras.js';
import type { OnnxNode } from '../../onnx.js';
import { int, intAttr, intsAttr, ints, type Emitter, type OpRule } from '../emitter.js';
import { Conv as Conv1, convOut } from './conv.js';

/** The dilated kernel size d(k − 1) + 1. */
const dilatedKernel = (k: number, d: number) => d * (k - 1) + 1;

/** Splits `t` along `axis` into `g` equal parts (the parts, or `t` itself for one group). */
function parts(e: Emitter, t: string, axis: number, size: number, g: number): string[] {
  return g === 1 ? [t] : e.op('Split', [t, e.i64(Array(g).fill(size / g))], [int('axis', axis)], g);
}

export const Conv: OpRule = {
  shape(n, get, consts) {
    const g = intAttr(n, 'group', 1);
    const [dh, dw] = intsAttr(n, 'dilations', [1, 1]) as [number, number];
    if (g === 1 && dh === 1 && dw === 1) return Conv1.shape(n, get, consts);
    const x = get(n.inputs[0]!);
    const w = get(n.inputs[1]!);
    if (x[1]! !== w[1]! * g || w[0]! % g)
      throw new CompileError(`onnx-grad: ${n.name}: ${x[1]} input channels and weight ${w.join('×')} do not form ${g} groups`);
    const [sh, sw] = intsAttr(n, 'strides', [1, 1]) as [number, number];
    const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
    if (pads[0] !== pads[2] || pads[1] !== pads[3]) throw new CompileError(`onnx-grad: ${n.name}: asymmetrically padded convolutions are not supported for training`);
    return [[x[0]!, w[0]!, convOut(x[2]!, dilatedKernel(w[2]!, dh), sh, pads[0]!), convOut(x[3]!, dilatedKernel(w[3]!, dw), sw, pads[1]!)]];
  },
  grad(n, dy, need, e, shapes, consts) {
    const G = intAttr(n, 'group', 1);
    const [dh, dw] = intsAttr(n, 'dilations', [1, 1]) as [number, number];
    if (G === 1 && dh === 1 && dw === 1) return Conv1.grad!(n, dy, need, e, shapes, consts);
    const [x, w] = n.inputs as [string, string];
    const [xs, ws, ys] = [shapes.get(x)!, shapes.get(w)!, shapes.get(n.outputs[0]!)!];
    const [kh, kw] = [dilatedKernel(ws[2]!, dh), dilatedKernel(ws[3]!, dw)];
    const [sh, sw] = intsAttr(n, 'strides', [1, 1]) as [number, number];
    const pads = intsAttr(n, 'pads', [0, 0, 0, 0]);
    const out: (string | undefined)[] = [];
    if (need(0)) {
      const [oph, opw] = [xs[2]! - ((ys[2]! - 1) * sh + kh - 2 * pads[0]!), xs[3]! - ((ys[3]! - 1) * sw + kw - 2 * pads[1]!)];
      out[0] = e.one('ConvTranspose', [dy(0)!, w], [
        ints('kernel_shape', [ws[2]!, ws[3]!]),
        ints('strides', [sh, sw]),
        ints('pads', pads),
        ints('dilations', [dh, dw]),
        int('group', G),
        ints('output_padding', [oph, opw]),
      ], `${n.name}.dX`);
    }
    if (need(1) && !e.cpuForms) out[1] = weightGradOneConv(e, x, dy(0)!, xs, ws, ys, G, [sh, sw], [pads[0]!, pads[1]!], [dh, dw], `${n.name}.dW`);
    else if (need(1)) {
      const local = new Map(shapes);
      const xg = parts(e, x, 1, xs[1]!, G);
      const gg = parts(e, dy(0)!, 1, ys[1]!, G);
      const dW: string[] = [];
      for (let i = 0; i < G; i++) {
        // The group's convolution as a group-1, undilated Conv node (its own names, so its shapes do not clash);
        // only its weight gradient is asked for, so its weight is never read.
        const id = `${n.name}.g${i}`;
        const node: OnnxNode = {
          name: id,
          opType: 'Conv',
          inputs: [xg[i]!, `${id}.w`],
          outputs: [`${id}.y`],
          attributes: [...n.attributes.filter((a) => !['group', 'dilations', 'kernel_shape'].includes(a.name)), ints('kernel_shape', [kh, kw])],
        };
        local.set(xg[i]!, [xs[0]!, xs[1]! / G, xs[2]!, xs[3]!]);
        local.set(`${id}.w`, [ws[0]! / G, ws[1]!, kh, kw]);
        local.set(`${id}.y`, [ys[0]!, ys[1]! / G, ys[2]!, ys[3]!]);
        const gdw = Conv1.grad!(node, () => gg[i], (j) => j === 1, e, local, consts)[1]!;
        dW.push(dh > 1 || dw > 1 ? e.one('Slice', [gdw, e.i64([0, 0]), e.i64([kh, kw]), e.i64([2, 3]), e.i64([dh, dw])]) : gdw);
      }
      out[1] = dW.length === 1 ? dW[0]! : e.one('Concat', dW, [int('axis', 0)], `${n.name}.dW`);
    }
    if (n.inputs[2] && need(2)) out[2] = e.reduceSum(dy(0)!, [0, 2, 3], false);
    return out;
  },
};

/**
 * The grouped, dilated Conv's weight gradient as ONE grouped Conv (the portable form: a few nodes whatever the
 * group count, where the per-group form emits a dozen per group):
 *   dW[o, c, ky, kx] = Σ_{n,y,x} dY[n, o, y, x]·Xpad[n, g(o)·C_g + c, s·y + d·ky, s·x + d·kx]
 * is a Conv with `group` G and the forward pads of the input laid out [C_g, G·N, H, W] (batch ↔ in-group
 * channel) with dY laid out [C_out, N, Ho, Wo] as the kernel, dilated by the forward stride: its output [C_g, C_out, ·, ·]
 * holds every offset, of which the taps at multiples of the forward dilation d (a strided Slice) are dW
 * transposed.
 */
function weightGradOneConv(e: Emitter, x: string, g: string, xs: number[], ws: number[], ys: number[], G: number, [sh, sw]: [number, number], [ph, pw]: [number, number], [dh, dw]: [number, number], hint: string): string {
  const [n, c, h, w] = xs as [number, number, number, number];
  const [o, cg, kh, kw] = ws as [number, number, number, number];
  const [ho, wo] = [ys[2]!, ys[3]!];
  const xi = e.reshape(e.transpose(e.reshape(x, [n, G, c / G, h, w]), [2, 1, 0, 3, 4]), [cg, G * n, h, w]);
  const k = e.reshape(e.transpose(e.reshape(g, [n, G, o / G, ho, wo]), [1, 2, 0, 3, 4]), [o, n, ho, wo]);
  const all = e.one('Conv', [xi, k], [ints('kernel_shape', [ho, wo]), ints('pads', [ph, pw, ph, pw]), ints('dilations', [sh, sw]), int('group', G)]);
  const taps = e.one('Slice', [all, e.i64([0, 0]), e.i64([dilatedKernel(kh, dh), dilatedKernel(kw, dw)]), e.i64([2, 3]), e.i64([dh, dw])]);
  return e.one('Transpose', [taps], [ints('perm', [1, 0, 2, 3])], hint);
}
