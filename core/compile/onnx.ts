import type { Layer } from '../graph/evaluate.js';
import { getKind } from '../registry/index.js';
import { CompileError, inChannels, type OnnxAttribute, type OnnxInitializer, type OnnxNode } from '../registry/lowering.js';
import { ACTMAP_OUTPUT_NAME, featureMapLayer } from './actmap.js';
import type { CompiledModel } from './keras.js';
import { weightSpecs } from './weight-specs.js';

export type { OnnxAttribute, OnnxInitializer, OnnxNode } from '../registry/lowering.js';

/**
 * Lowers the compiled (expanded, PyTorch-named) model to an ONNX graph of standard operators: the
 * eval-mode feature path only (what fast-reid's `tools/deploy/onnx_export.py` exports: the model in
 * `eval()`, output = the head's eval feature, i.e. BNNeck's `neck_feat` after / before, or the pooled
 * feature without a neck). A plain JS object model: main/onnx serialises it to protobuf.
 *
 * Layout: input `input` NCHW float32 [batch, 3, H, W] with a symbolic batch dimension; output `feat`
 * [batch, D]. Each layer lowers through its kind's `lower.onnx` hook (core/registry/kinds/*). Operator
 * semantics follow PyTorch's modules (opset 17):
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
  /**
   * Adds the optional output ACTMAP_OUTPUT_NAME [batch, h, w]: the last feature map's squared activations
   * summed over channels (torchreid's activation map before its normalisation; core/compile/actmap.ts).
   * Throws CompileError when the eval feature is not pooled from a spatial map.
   */
  actmap?: boolean;
}

/** Weight slot value in tfjs layout, keyed `${layer}/${slot}` (as `getWeightValues` gives them). */
export type WeightValues = Map<string, Float32Array>;

/**
 * Where `lowerToOnnx` reads the weights: `get`, tfjs layout by `${layer}/${slot}` (a WeightValues map);
 * optionally `torch`, the same slot in PyTorch layout (main/weights/store.ts holds that), taken where the ONNX
 * initializer IS the PyTorch tensor — same dims, and either no relayout or an OIHW kernel the hook maps
 * from HWIO — so no tfjs copy is made and mapped back.
 */
export interface OnnxWeightSource {
  get(id: string): Float32Array | undefined;
  torch?(id: string): Float32Array | undefined;
}

/** The layers feeding `output` (itself included), in the compiled (topological) order: what the ONNX feature graph holds. */
export function featurePath(layers: Layer[], output: string): Layer[] {
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
export function lowerToOnnx(compiled: CompiledModel, weights: OnnxWeightSource, opts: OnnxLowerOptions): OnnxModelJs {
  const layers = featurePath(compiled.layers, compiled.metadata.roles.evalFeature);
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  const node = (opType: string, name: string, inputs: string[], outputs: string[], attributes: OnnxAttribute[] = []) =>
    nodes.push({ name, opType, inputs, outputs, attributes });
  const weight = (l: Layer, slot: string, dims: number[], map?: (w: Float32Array) => Float32Array): string => {
    const spec = weights.torch && weightSpecs(l).find((s) => s.slot === slot);
    const asTorch = !!spec && spec.torchShape.length === dims.length && spec.torchShape.every((d, i) => d === dims[i]) && (map ? spec.transform === 'oihw_to_hwio' : spec.transform === 'none');
    const t = asTorch ? weights.torch!(`${l.name}/${slot}`) : undefined;
    if (t) {
      if (t.length !== dims.reduce((a, b) => a * b, 1)) throw new CompileError(`weight ${l.name}/${slot} has ${t.length} values, expected ${dims.join('×')}`);
      inits.push({ name: `${l.name}.${slot}`, dims, dataType: 'float', data: t });
      return `${l.name}.${slot}`;
    }
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
  const int64 = (name: string, data: number[]): string => {
    inits.push({ name, dims: [data.length], dataType: 'int64', data });
    return name;
  };

  let inputLayer: Layer | undefined;
  for (const l of layers) {
    const k = getKind(l.kind);
    if (k?.primitive !== true) throw new CompileError(`${l.name}: no ONNX lowering for layer kind "${l.kind}"`);
    if (k.imageInput) inputLayer = l;
    const w = (slot: string, dims: number[], map?: (w: Float32Array) => Float32Array) => weight(l, slot, dims, map);
    k.lower.onnx({
      layer: l,
      x: l.inputs[0]!,
      ins: l.inputs,
      cin: inChannels(l),
      node,
      weight: w,
      scalar,
      int64,
      batchNorm: (prefix, c, x, y) =>
        node('BatchNormalization', `${l.name}${prefix ? '.' + prefix.slice(0, -1) : ''}`, [x, ...['gamma', 'beta', 'moving_mean', 'moving_variance'].map((s) => w(prefix + s, [c]))], [y], [
          { name: 'epsilon', type: 'float', value: l.params.eps as number },
        ]),
    });
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
  const outputs: OnnxValueInfo[] = [{ name: ONNX_OUTPUT_NAME, shape: [ONNX_BATCH_DIM, evalFeature.shape[0]!] }];
  if (opts.actmap) {
    const fm = featureMapLayer(layers, evalFeature.name);
    if (taken.has(ACTMAP_OUTPUT_NAME)) throw new CompileError(`a layer named "${ACTMAP_OUTPUT_NAME}" clashes with the ONNX graph's activation-map output name; rename it`);
    node('ReduceSumSquare', `${ACTMAP_OUTPUT_NAME}.reduce`, [fm.name === inputLayer.name ? ONNX_INPUT_NAME : fm.name], [ACTMAP_OUTPUT_NAME], [
      { name: 'axes', type: 'ints', value: [1] },
      { name: 'keepdims', type: 'int', value: 0 },
    ]);
    outputs.push({ name: ACTMAP_OUTPUT_NAME, shape: [ONNX_BATCH_DIM, fm.shape[0]!, fm.shape[1]!] });
  }
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
      outputs,
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
