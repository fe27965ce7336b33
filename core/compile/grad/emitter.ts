/**
 * The pieces every gradient rule shares (core/compile/grad/ops/*): tensor shapes, attribute readers, the
 * node emitter with unique names and cached constants, and NumPy broadcasting (ONNX's multidirectional
 * broadcasting, `docs/Broadcasting.md`) with its adjoint — the sum of the upstream gradient over the
 * broadcast axes. Pure: no I/O.
 */
import { CompileError } from '../keras.js';
import type { OnnxAttribute, OnnxInitializer, OnnxNode } from '../onnx.js';

export type Shapes = Map<string, number[]>;

export const attr = (n: OnnxNode, name: string): OnnxAttribute | undefined => n.attributes.find((a) => a.name === name);
export const intAttr = (n: OnnxNode, name: string, dflt: number): number => {
  const a = attr(n, name);
  return a && a.type === 'int' ? a.value : dflt;
};
export const intsAttr = (n: OnnxNode, name: string, dflt: number[]): number[] => {
  const a = attr(n, name);
  return a && a.type === 'ints' ? a.value : dflt;
};
export const floatAttr = (n: OnnxNode, name: string, dflt: number): number => {
  const a = attr(n, name);
  return a && a.type === 'float' ? a.value : dflt;
};
export const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
export const ints = (name: string, value: number[]): OnnxAttribute => ({ name, type: 'ints', value });
export const int = (name: string, value: number): OnnxAttribute => ({ name, type: 'int', value });

/** Node emitter with unique names and cached constants. */
export class Emitter {
  nodes: OnnxNode[] = [];
  inits: OnnxInitializer[] = [];
  private count = 0;
  private consts = new Map<string, string>();
  /**
   * Whether rules may emit the forms measured fastest on onnxruntime's CPU EP where they differ from the
   * portable ones (the Conv weight gradient, core/compile/grad/ops/conv.ts); off for WebGPU.
   */
  cpuForms = false;
  constructor(private prefix: string) {}
  op(opType: string, inputs: string[], attributes: OnnxAttribute[] = [], outputs = 1, hint = ''): string[] {
    const id = `${this.prefix}${++this.count}${hint ? '.' + hint : ''}`;
    const outs = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? id : `${id}:${i}`));
    this.nodes.push({ name: id, opType, inputs, outputs: outs, attributes });
    return outs;
  }
  one(opType: string, inputs: string[], attributes: OnnxAttribute[] = [], hint = ''): string {
    return this.op(opType, inputs, attributes, 1, hint)[0]!;
  }
  /** A node with a chosen output name. */
  named(output: string, opType: string, inputs: string[], attributes: OnnxAttribute[] = []): string {
    this.nodes.push({ name: output, opType, inputs, outputs: [output], attributes });
    return output;
  }
  i64(values: number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `${this.prefix}const.i64[${values.join(',')}]`;
      this.inits.push({ name, dims: [values.length], dataType: 'int64', data: values });
      this.consts.set(key, name);
    }
    return name;
  }
  f32(v: number): string {
    const key = `f32:${v}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `${this.prefix}const.f32[${v}]`;
      this.inits.push({ name, dims: [], dataType: 'float', data: new Float32Array([v]) });
      this.consts.set(key, name);
    }
    return name;
  }
  /** A float constant tensor of the given shape and values. */
  tensor(hint: string, dims: number[], data: Float32Array): string {
    const name = `${this.prefix}const.${hint}.${++this.count}`;
    this.inits.push({ name, dims, dataType: 'float', data });
    return name;
  }
  zeros(shape: number[]): string {
    return this.one('ConstantOfShape', [this.i64(shape)]);
  }
  reshape(x: string, shape: number[]): string {
    return this.one('Reshape', [x, this.i64(shape)]);
  }
  transpose(x: string, perm: number[]): string {
    return this.one('Transpose', [x], [ints('perm', perm)]);
  }
  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    return this.one('ReduceSum', [x, this.i64(axes)], [int('keepdims', keepdims ? 1 : 0)]);
  }
  reduceMean(x: string, axes: number[], keepdims = true): string {
    return this.one('ReduceMean', [x], [ints('axes', axes), int('keepdims', keepdims ? 1 : 0)]);
  }
  /**
   * The sum of several tensors of one shape as a chain of Add — not `Sum`, which onnxruntime's WebGPU EP
   * has no kernel for (its nodes fall back to the CPU).
   */
  addAll(list: string[]): string {
    return list.slice(1).reduce((acc, t) => this.one('Add', [acc, t]), list[0]!);
  }
}

/** NumPy broadcast of two shapes; throws CompileError when they do not broadcast. */
export function broadcastShape(a: number[], b: number[], what: string): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new CompileError(`onnx-grad: ${what}: shapes ${a.join('×')} and ${b.join('×')} do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** The adjoint of broadcasting `shape` to `gShape`: g summed over the broadcast axes, reshaped to `shape`. */
export function unbroadcast(e: Emitter, g: string, gShape: number[], shape: number[]): string {
  if (gShape.join() === shape.join()) return g;
  const lead = gShape.length - shape.length;
  const axes: number[] = [];
  gShape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const summed = axes.length ? e.reduceSum(g, axes, true) : g;
  return e.reshape(summed, shape.length ? shape : []);
}

/**
 * One operator's training rule: the output shapes from the input shapes and the graph's constant int64
 * tensors (throws CompileError for a form it cannot train), and the gradients of its inputs given the gradients of its outputs (`dy(i)`, undefined =
 * no gradient reaches output i) for the inputs that need one (`need(i)`).
 */
export interface OpRule {
  shape(n: OnnxNode, get: (t: string) => number[], consts: Map<string, number[]>): number[][];
  grad?(n: OnnxNode, dy: (i: number) => string | undefined, need: (i: number) => boolean, e: Emitter, shapes: Shapes, consts: Map<string, number[]>): (string | undefined)[];
  /** Outputs that carry no gradient (integer or statistics outputs). */
  nonDifferentiable?: (i: number) => boolean;
}
