/**
 * Grouped and dilated Conv (nn.Conv2d with `groups` > 1 and / or `dilation` > 1: ResNeSt's split-attention
 * conv has groups = radix·cardinality, fast-reid's LAST_STRIDE 1 dilates layer4 by 2), on top of the
 * group-1 rule (conv.ts, which it calls unchanged):
 *  - dX = ConvTranspose(dY, W) with the Conv's group, dilations, strides and pads (output_padding restoring X's
 *    size): the adjoint of the grouped, dilated convolution in one operator (tfjs-core Conv2D_grad.ts's
 *    conv2DBackpropInput, with ONNX's `group`);
 *  - dW: Y_g = Conv(X_g, W_g) for the G channel slices X_g of X and the G output-channel slices W_g of W
 *    (ONNX Conv `group`, PyTorch's `groups`), so dW = Concat_g dW_g (axis 0), each from the group-1 rule on
 *    the slice (off the CPU EP, the Split and the Concat are trees of at most MAX_GPU_PARTS parts each); a k×k kernel dilated by d is the (d(k − 1) + 1)² kernel W' with W's taps at multiples of d and
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

/**
 * The most parts one Split or Concat of this rule has off onnxruntime's CPU EP: the WebGPU EP binds each part
 * as a storage buffer, WebGPU guarantees 8 per shader stage (SwiftShader gives 12), and onnxruntime 1.30's
 * Split binds up to that many outputs plus its input, so SE-ResNeXt's 32 groups in one Split fail there
 * ("Too many storage buffers in shader. Current: 13, Max is 12"). 7 parts + 1 stays within 8.
 */
export const MAX_GPU_PARTS = 7;

/** Chunks of at most `max` consecutive items (⌈n / max⌉ items each, the last fewer): the levels of a Split / Concat tree. */
function chunks<T>(items: T[], max: number): T[][] {
  const per = Math.ceil(items.length / max);
  return Array.from({ length: Math.ceil(items.length / per) }, (_, i) => items.slice(i * per, (i + 1) * per));
}

/**
 * Splits `t` along `axis` into `g` equal parts (the parts, or `t` itself for one group): one Split on the CPU
 * EP, else a tree of Splits of at most MAX_GPU_PARTS parts each (chunks of whole groups, split again).
 */
function parts(e: Emitter, t: string, axis: number, size: number, g: number): string[] {
  const max = e.cpuForms ? Infinity : MAX_GPU_PARTS;
  const split = (x: string, sizes: number[]) => (sizes.length === 1 ? [x] : e.op('Split', [x, e.i64(sizes)], [int('axis', axis)], sizes.length));
  const tree = (x: string, groups: number): string[] => {
    if (groups <= max) return split(x, Array(groups).fill(size / g));
    const cs = chunks(Array.from({ length: groups }, (_, i) => i), max).map((c) => c.length);
    return split(x, cs.map((n) => (n * size) / g)).flatMap((part, i) => tree(part, cs[i]!));
  };
  return tree(t, g);
}

/** Concat of `ts` along `axis`: one Concat on the CPU EP, else a tree of Concats of at most MAX_GPU_PARTS inputs each. */
function concat(e: Emitter, ts: string[], axis: number, hint: string): string {
  const max = e.cpuForms ? Infinity : MAX_GPU_PARTS;
  if (ts.length === 1) return ts[0]!;
  if (ts.length <= max) return e.one('Concat', ts, [int('axis', axis)], hint);
  return concat(e, chunks(ts, max).map((c) => concat(e, c, axis, hint)), axis, hint);
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
    if (need(1)) {
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
      out[1] = concat(e, dW, 0, `${n.name}.dW`);
    }
    if (n.inputs[2] && need(2)) out[2] = e.reduceSum(dy(0)!, [0, 2, 3], false);
    return out;
  },
};
