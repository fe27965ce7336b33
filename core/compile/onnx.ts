import type { Layer } from '../graph/evaluate.js';
import { ibnHalf } from '../registry/index.js';
import { CompileError, type CompiledModel } from './keras.js';
import { weightSpecs } from './weight-specs.js';

/**
 * Lowers the compiled (expanded, PyTorch-named) model to an ONNX graph of standard operators: the
 * eval-mode feature path only (what fast-reid's `tools/deploy/onnx_export.py` exports: the model in
 * `eval()`, output = the head's eval feature, i.e. BNNeck's `neck_feat` after / before, or the pooled
 * feature without a neck). A plain JS object model: main/onnx serialises it to protobuf.
 *
 * Layout: input `input` NCHW float32 [batch, 3, H, W] with a symbolic batch dimension; output `feat`
 * [batch, D]. Operator semantics follow PyTorch's modules (opset 17):
 * - nn.Conv2d → Conv with symmetric `pads` [p, p, p, p] (PyTorch pads symmetrically).
 * - nn.BatchNorm2d / BatchNorm1d in eval → BatchNormalization with the running statistics, eps as given.
 * - nn.InstanceNorm2d(affine=True) → InstanceNormalization.
 * - IBN-a (Pan et al., ECCV 2018; IBN-Net `ibnnet/modules.py` class IBN): the FIRST floor(C·ratio)
 *   channels through affine InstanceNorm, the rest through BatchNorm, concatenated IN first → Split /
 *   InstanceNormalization / BatchNormalization / Concat.
 * - nn.MaxPool2d → MaxPool: ONNX excludes padded cells from the max, i.e. pads with −∞ like PyTorch.
 * - fast-reid GeneralizedMeanPooling (`fastreid/layers/pooling.py`): x.clamp(min=eps).pow(p), average,
 *   pow(1/p) → Max(x, eps) / Pow / GlobalAveragePool / Pow(1/p) / Flatten.
 * - Global average pooling → GlobalAveragePool + Flatten; nn.Linear → Gemm (weight [in, out], transB = 0).
 */

export const ONNX_OPSET = 17;
/** IR version 8 goes with opset 17 (ONNX `docs/Versioning.md`). */
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'feat';
export const ONNX_BATCH_DIM = 'batch';

export type OnnxAttribute =
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'ints'; value: number[] }
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'string'; value: string };

export interface OnnxNode {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

export type OnnxInitializer = { name: string; dims: number[]; dataType: 'float'; data: Float32Array } | { name: string; dims: number[]; dataType: 'int64'; data: number[] };

/** A float32 graph input / output; a string dimension is symbolic (dim_param). */
export interface OnnxValueInfo {
  name: string;
  shape: (number | string)[];
  /** Element type (default float). */
  elemType?: 'float' | 'int64';
}

export interface OnnxModelJs {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  graph: { name: string; nodes: OnnxNode[]; initializers: OnnxInitializer[]; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] };
  /** ModelProto.metadata_props. */
  metadata: Record<string, string>;
}

/** Test-time preprocessing the model expects (written to metadata_props). */
export interface OnnxPreprocessing {
  /** [height, width] in pixels. */
  inputSize: [number, number];
  /** Per RGB channel, applied after scaling pixels to [0, 1]. */
  mean: readonly number[];
  std: readonly number[];
  /** PIL filter name of the resize (RSB `T.Resize`: bilinear; fast-reid `interpolation=3`: bicubic). */
  interpolation: string;
}

export interface OnnxLowerOptions {
  preprocessing: OnnxPreprocessing;
  producerVersion?: string;
  /** Graph name (e.g. the document's title). */
  name?: string;
}

/** Weight slot value in tfjs layout, keyed `${layer}/${slot}` (as `getWeightValues` gives them). */
export type WeightValues = Map<string, Float32Array>;

/** HWIO [k, k, cin, cout] → OIHW [cout, cin, k, k]. */
function hwioToOihw(w: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < k; y++)
    for (let x = 0; x < k; x++)
      for (let i = 0; i < cin; i++) {
        const src = ((y * k + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * k + y) * k + x] = w[src + o]!;
      }
  return out;
}

/** The layers feeding `output`, in the compiled (topological) order. */
function featurePath(layers: Layer[], output: string): Layer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const keep = new Set<string>();
  const stack = [output];
  while (stack.length) {
    const n = stack.pop()!;
    if (keep.has(n)) continue;
    const l = byName.get(n);
    if (!l) throw new CompileError(`layer ${n} is not in the compiled model`);
    keep.add(n);
    stack.push(...l.inputs);
  }
  return layers.filter((l) => keep.has(l.name));
}

/**
 * The ONNX model of the compiled model's eval feature with the given weights (every slot of the feature
 * path must have a value: CompileError names the first missing one). Pure: no I/O.
 */
export function lowerToOnnx(compiled: CompiledModel, weights: WeightValues, opts: OnnxLowerOptions): OnnxModelJs {
  const layers = featurePath(compiled.layers, compiled.metadata.roles.evalFeature);
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  const node = (opType: string, name: string, inputs: string[], outputs: string[], attributes: OnnxAttribute[] = []) =>
    nodes.push({ name, opType, inputs, outputs, attributes });
  const weight = (l: Layer, slot: string, dims: number[], map?: (w: Float32Array) => Float32Array): string => {
    const w = weights.get(`${l.name}/${slot}`);
    if (!w) throw new CompileError(`no value for weight ${l.name}/${slot}`);
    const size = dims.reduce((a, b) => a * b, 1);
    if (w.length !== size) throw new CompileError(`weight ${l.name}/${slot} has ${w.length} values, expected ${size} (${dims.join('×')})`);
    const name = `${l.name}.${slot}`;
    inits.push({ name, dims, dataType: 'float', data: map ? map(w) : w });
    return name;
  };
  const scalar = (name: string, v: number): string => {
    inits.push({ name, dims: [], dataType: 'float', data: new Float32Array([v]) });
    return name;
  };
  const bn = (l: Layer, prefix: string, c: number, x: string, y: string) =>
    node('BatchNormalization', `${l.name}${prefix ? '.' + prefix.slice(0, -1) : ''}`, [x, ...['gamma', 'beta', 'moving_mean', 'moving_variance'].map((s) => weight(l, prefix + s, [c]))], [y], [
      { name: 'epsilon', type: 'float', value: l.params.eps as number },
    ]);
  const cinOf = (l: Layer) => l.inputShapes[0]![l.inputShapes[0]!.length - 1]!;
  const spatial = (l: Layer) => l.inputShapes[0]!.length === 3;
  const flattenPooled = (l: Layer, pooled: string) => node('Flatten', `${l.name}.flatten`, [pooled], [l.name], [{ name: 'axis', type: 'int', value: 1 }]);

  let inputLayer: Layer | undefined;
  for (const l of layers) {
    const p = l.params;
    const x = l.inputs[0]!;
    switch (l.kind) {
      case 'input':
        inputLayer = l;
        break;
      case 'conv2d': {
        const k = p.kernel as number;
        const cin = cinOf(l);
        const f = p.filters as number;
        const ins = [x, weight(l, 'kernel', [f, cin, k, k], (w) => hwioToOihw(w, k, cin, f))];
        if (p.bias) ins.push(weight(l, 'bias', [f]));
        const pad = p.padding as number;
        node('Conv', l.name, ins, [l.name], [
          { name: 'kernel_shape', type: 'ints', value: [k, k] },
          { name: 'strides', type: 'ints', value: [p.stride as number, p.stride as number] },
          { name: 'pads', type: 'ints', value: [pad, pad, pad, pad] },
          { name: 'dilations', type: 'ints', value: [1, 1] },
          { name: 'group', type: 'int', value: 1 },
        ]);
        break;
      }
      case 'batch_norm':
        bn(l, '', cinOf(l), x, l.name);
        break;
      case 'instance_norm': {
        const c = cinOf(l);
        node('InstanceNormalization', l.name, [x, weight(l, 'gamma', [c]), weight(l, 'beta', [c])], [l.name], [{ name: 'epsilon', type: 'float', value: p.eps as number }]);
        break;
      }
      case 'ibn_a': {
        const c = cinOf(l);
        const half = ibnHalf(c, p.ratio as number);
        const split = `${l.name}.split`;
        inits.push({ name: split, dims: [2], dataType: 'int64', data: [half, c - half] });
        const [a, b] = [`${l.name}.IN.in`, `${l.name}.BN.in`];
        node('Split', split, [x, split], [a, b], [{ name: 'axis', type: 'int', value: 1 }]);
        node('InstanceNormalization', `${l.name}.IN`, [a, weight(l, 'in_gamma', [half]), weight(l, 'in_beta', [half])], [`${l.name}.IN`], [{ name: 'epsilon', type: 'float', value: p.eps as number }]);
        bn(l, 'bn_', c - half, b, `${l.name}.BN`);
        node('Concat', `${l.name}.concat`, [`${l.name}.IN`, `${l.name}.BN`], [l.name], [{ name: 'axis', type: 'int', value: 1 }]);
        break;
      }
      case 'relu':
        node('Relu', l.name, [x], [l.name]);
        break;
      case 'max_pool': {
        const k = p.kernel as number;
        const s = p.stride as number;
        const pad = p.padding as number;
        node('MaxPool', l.name, [x], [l.name], [
          { name: 'kernel_shape', type: 'ints', value: [k, k] },
          { name: 'strides', type: 'ints', value: [s, s] },
          { name: 'pads', type: 'ints', value: [pad, pad, pad, pad] },
          { name: 'ceil_mode', type: 'int', value: p.ceilMode ? 1 : 0 },
        ]);
        break;
      }
      case 'add':
        node('Add', l.name, [l.inputs[0]!, l.inputs[1]!], [l.name]);
        break;
      case 'global_avg_pool':
        node('GlobalAveragePool', `${l.name}.pool`, [x], [`${l.name}.pooled`]);
        flattenPooled(l, `${l.name}.pooled`);
        break;
      case 'gem_pool': {
        const clamped = `${l.name}.clamped`;
        node('Max', `${l.name}.clamp`, [x, scalar(`${l.name}.eps`, p.eps as number)], [clamped]);
        let exponent: string;
        let inverse: string;
        if (p.learnable) {
          exponent = weight(l, 'p', [1]);
          inverse = `${l.name}.inv_p`;
          node('Reciprocal', inverse, [exponent], [inverse]);
        } else {
          exponent = scalar(`${l.name}.p`, p.p as number);
          inverse = scalar(`${l.name}.inv_p`, 1 / (p.p as number));
        }
        node('Pow', `${l.name}.pow`, [clamped, exponent], [`${l.name}.powered`]);
        node('GlobalAveragePool', `${l.name}.pool`, [`${l.name}.powered`], [`${l.name}.mean`]);
        node('Pow', `${l.name}.root`, [`${l.name}.mean`, inverse], [`${l.name}.pooled`]);
        flattenPooled(l, `${l.name}.pooled`);
        break;
      }
      case 'linear': {
        if (spatial(l)) throw new CompileError(`${l.name}: a linear layer on a spatial input has no ONNX lowering`);
        const cin = cinOf(l);
        const u = p.units as number;
        const ins = [x, weight(l, 'kernel', [cin, u])];
        if (p.bias) ins.push(weight(l, 'bias', [u]));
        node('Gemm', l.name, ins, [l.name], [{ name: 'transB', type: 'int', value: 0 }]);
        break;
      }
      default:
        throw new CompileError(`${l.name}: no ONNX lowering for layer kind "${l.kind}"`);
    }
    // Every slot the layer has must have been used (a kind with weights missing here would be a bug).
    const used = new Set(inits.map((i) => i.name));
    const unused = weightSpecs(l).filter((s) => !used.has(`${l.name}.${s.slot}`));
    if (unused.length) throw new CompileError(`${l.name}: weight slot ${unused[0]!.slot} has no ONNX counterpart`);
  }
  if (!inputLayer) throw new CompileError('the eval feature does not depend on the image input');
  const [h, w, c] = inputLayer.shape as [number, number, number];
  const evalFeature = layers[layers.length - 1]!;
  if (evalFeature.shape.length !== 1) throw new CompileError(`the eval feature ${evalFeature.name} is not a vector (shape ${evalFeature.shape.join('×')}); pool it first`);
  // Tensor names are core layer names, except the graph's input and output, which get fixed names.
  const taken = new Set(nodes.flatMap((n) => n.outputs));
  for (const fixed of [ONNX_INPUT_NAME, ONNX_OUTPUT_NAME])
    if (taken.has(fixed) && fixed !== evalFeature.name) throw new CompileError(`a layer named "${fixed}" clashes with the ONNX graph's ${fixed === ONNX_INPUT_NAME ? 'input' : 'output'} name; rename it`);
  for (const n of nodes) {
    n.inputs = n.inputs.map((i) => (i === inputLayer!.name ? ONNX_INPUT_NAME : i));
    n.outputs = n.outputs.map((o) => (o === evalFeature.name ? ONNX_OUTPUT_NAME : o));
  }
  for (const n of nodes) n.inputs = n.inputs.map((i) => (i === evalFeature.name ? ONNX_OUTPUT_NAME : i));
  const pre = opts.preprocessing;
  return {
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producerName: 'ReID Studio',
    producerVersion: opts.producerVersion ?? '',
    graph: {
      name: opts.name ?? 'reid_studio',
      nodes,
      initializers: inits,
      inputs: [{ name: ONNX_INPUT_NAME, shape: [ONNX_BATCH_DIM, c, h, w] }],
      outputs: [{ name: ONNX_OUTPUT_NAME, shape: [ONNX_BATCH_DIM, evalFeature.shape[0]!] }],
    },
    metadata: {
      input_layout: 'NCHW, RGB, float32',
      input_size: `${pre.inputSize[0]}x${pre.inputSize[1]}`,
      input_height: String(pre.inputSize[0]),
      input_width: String(pre.inputSize[1]),
      pixel_scale: '1/255',
      pixel_mean: JSON.stringify(pre.mean),
      pixel_std: JSON.stringify(pre.std),
      interpolation: pre.interpolation,
      preprocessing: `RGB, resize to ${pre.inputSize[0]}x${pre.inputSize[1]} (${pre.interpolation}), /255, (x - mean) / std per channel, NCHW`,
      feature: `eval feature of layer ${evalFeature.name} (${evalFeature.kind}), dimension ${evalFeature.shape[0]}`,
    },
  };
}
