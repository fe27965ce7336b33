/**
 * Grouped and dilated Conv (nn.Conv2d with `groups` > 1 and / or `dilation` > 1: ResNeSt's split-attention
 * conv has groups = radix·cardinality, fast-reid's LAST_STRIDE 1 dilates layer4 by 2), on top of the
 * group-1 rule (conv.ts, which it calls unchanged):
 *  - groups: Y_g = Conv(X_g, W_g) for the G channel slices X_g of X and the G output-channel slices W_g of W
 *    (ONNX Conv `group`, PyTorch's `groups`), so dX = Concat_g dX_g and dW = Concat_g dW_g (axis 0), each
 *    from the group-1 rule on the slice; dB = Σ dY over N, H, W;
 *  - dilation d: a k×k kernel dilated by d is the (d(k − 1) + 1)² kernel W' with W's taps at multiples of d and
 *    zeros between (W' = dilate(W), linear), so Conv(X, W, dilation d) = Conv(X, W') and dX is the group-1 rule's
 *    dX with W'; dW = ∂L/∂W' at the taps (a strided Slice of dW'), the chain rule through the selection.
 * The group-1, undilated form is the group-1 rule itself.
 */
import { CompileError } from '../../keras.js';
import type { OnnxNode } from '../../onnx.js';
import { int, intAttr, intsAttr, ints, type Emitter, type OpRule } from '../emitter.js';
import { Conv as Conv1, convOut } from './conv.js';

/** The dilated kernel size d(k − 1) + 1. */
const dilatedKernel = (k: number, d: number) => d * (k - 1) + 1;

/** W [O, I, k, k] → W' [O, I, k', k'] with W's taps at multiples of d (Reshape, Pad, Reshape, Slice). */
function dilate(e: Emitter, w: string, ws: number[], dh: number, dw: number): string {
  const [o, i, kh, kw] = ws as [number, number, number, number];
  const spread = e.one('Pad', [e.reshape(w, [o, i, kh, 1, kw, 1]), e.i64([0, 0, 0, 0, 0, 0, 0, 0, 0, dh - 1, 0, dw - 1])]);
  return e.one('Slice', [e.reshape(spread, [o, i, kh * dh, kw * dw]), e.i64([0, 0]), e.i64([dilatedKernel(kh, dh), dilatedKernel(kw, dw)]), e.i64([2, 3])]);
}

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
    const dilated = dh > 1 || dw > 1;
    const local = new Map(shapes);
    const xg = need(1) ? parts(e, x, 1, xs[1]!, G) : [];
    const wg = need(0) ? parts(e, w, 0, ws[0]!, G) : [];
    const gg = parts(e, dy(0)!, 1, ys[1]!, G);
    const dX: string[] = [];
    const dW: string[] = [];
    for (let i = 0; i < G; i++) {
      // The group's convolution as a group-1, undilated Conv node (its own names, so its shapes do not clash).
      const id = `${n.name}.g${i}`;
      const gx = xg[i] ?? `${id}.x`;
      const gw = wg[i] ? (dilated ? dilate(e, wg[i]!, [ws[0]! / G, ...ws.slice(1)], dh, dw) : wg[i]!) : `${id}.w`;
      const node: OnnxNode = {
        name: id,
        opType: 'Conv',
        inputs: [gx, gw],
        outputs: [`${id}.y`],
        attributes: [...n.attributes.filter((a) => !['group', 'dilations', 'kernel_shape'].includes(a.name)), ints('kernel_shape', [kh, kw])],
      };
      local.set(gx, [xs[0]!, xs[1]! / G, xs[2]!, xs[3]!]);
      local.set(gw, [ws[0]! / G, ws[1]!, kh, kw]);
      local.set(`${id}.y`, [ys[0]!, ys[1]! / G, ys[2]!, ys[3]!]);
      const [gdx, gdw] = Conv1.grad!(node, () => gg[i], (j) => j < 2 && need(j), e, local, consts);
      if (gdx) dX.push(gdx);
      if (gdw) dW.push(dilated ? e.one('Slice', [gdw, e.i64([0, 0]), e.i64([kh, kw]), e.i64([2, 3]), e.i64([dh, dw])]) : gdw);
    }
    const cat = (list: string[], axis: number, hint: string) => (list.length === 1 ? list[0]! : e.one('Concat', list, [int('axis', axis)], `${n.name}.${hint}`));
    const out: (string | undefined)[] = [];
    if (need(0)) out[0] = cat(dX, 1, 'dX');
    if (need(1)) out[1] = cat(dW, 0, 'dW');
    if (n.inputs[2] && need(2)) out[2] = e.reduceSum(dy(0)!, [0, 2, 3], false);
    return out;
  },
};
