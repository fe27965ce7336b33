import type { Layer } from '../graph/evaluate.js';

/**
 * What a primitive kind declares about how it lowers: its weights (tfjs slots ↔ PyTorch state_dict keys),
 * its Keras-JSON layer(s) for tfjs, its ONNX nodes and its PyTorch module source. The compilers
 * (core/compile/*) and exporters (main/export/*) walk the registry through these hooks; they never switch
 * on a kind id. Pure data and strings: no tfjs, no node:*.
 */

/** A graph that cannot be lowered (to Keras-JSON or ONNX). */
export class CompileError extends Error {}

// ---------------------------------------------------------------- weights

/** Porting notes: conv OIHW → HWIO; Linear [out, in] → [in, out]. */
export type WeightTransform = 'none' | 'oihw_to_hwio' | 'transpose2d';

export interface WeightSpec {
  /** tfjs-side slot name, unique within the layer. */
  slot: string;
  /** tfjs layout. */
  shape: number[];
  torchKey: string;
  torchShape: number[];
  transform: WeightTransform;
  /** A running statistic (PyTorch buffer), not a parameter. */
  buffer: boolean;
  trainable: boolean;
  /** How a freshly built layer initialises this slot when the checkpoint lacks it. */
  init: 'zeros' | 'ones' | 'he_normal_fan_out' | 'torch_default' | 'normal_0.001' | 'const_3';
}

/** Channels of the layer's first input (channels-last), 0 when it has none. */
export function inChannels(l: Layer): number {
  const s = l.inputShapes[0] ?? [];
  return s[s.length - 1] ?? 0;
}

/** One parameter / buffer slot whose tfjs and PyTorch shapes agree. */
export function plainSpec(slot: string, torchKey: string, shape: number[], init: WeightSpec['init'], trainable: boolean, buffer = false): WeightSpec {
  return { slot, shape, torchKey, torchShape: shape, transform: 'none', buffer, trainable: buffer ? false : trainable, init };
}

/** nn.BatchNorm weight/bias/running_mean/running_var → gamma/beta/moving_mean/moving_variance. */
export function bnSpecs(prefix: string, slotPrefix: string, c: number, layer: Layer, freezeShift = false): WeightSpec[] {
  const p = !layer.frozen;
  return [
    plainSpec(`${slotPrefix}gamma`, `${prefix}.weight`, [c], 'ones', p),
    plainSpec(`${slotPrefix}beta`, `${prefix}.bias`, [c], 'zeros', p && !freezeShift),
    plainSpec(`${slotPrefix}moving_mean`, `${prefix}.running_mean`, [c], 'zeros', false, true),
    plainSpec(`${slotPrefix}moving_variance`, `${prefix}.running_var`, [c], 'ones', false, true),
  ];
}

// ---------------------------------------------------------------- Keras-JSON (tfjs)

/** Custom tfjs layer classes (registered in main/tfjs/layers). Persisted in model.json: never rename. */
export const CUSTOM_LAYER_CLASSES = {
  batchNorm: 'ReidBatchNorm',
  instanceNorm: 'ReidInstanceNorm',
  ibnA: 'ReidIBNa',
  maxPool: 'ReidMaxPool2D',
  gemPool: 'ReidGeMPool',
  groupConv: 'ReidGroupConv2D',
  seModule: 'ReidSEModule',
  nonLocalAttention: 'ReidNonLocalAttention',
  avgPool: 'ReidAvgPool2D',
  radixPool: 'ReidRadixPool',
  rSoftMax: 'ReidRSoftMax',
} as const;

export type InboundRef = [string, number, number, Record<string, unknown>];

export interface KerasLayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown> & { name: string };
  inbound_nodes: InboundRef[][];
}

/**
 * Layer names. Core names are PyTorch-style dotted names (`base.layer1.0.conv1`); tfjs accepts dots, so a
 * core layer keeps its name. Helper layers the lowering adds get a `__<role>` suffix, which no core
 * name contains (core names are dotted module paths). This is the only place names are mapped.
 */
export const AUX_SEPARATOR = '__';
export function tfjsLayerName(coreName: string): string {
  return coreName;
}
export function auxLayerName(coreName: string, role: string): string {
  return `${coreName}${AUX_SEPARATOR}${role}`;
}

export const inboundRef = (name: string): InboundRef => [name, 0, 0, {}];

/** What a kind's `keras` hook gets: the layer, its weight specs and a layer factory. */
export interface KerasCtx {
  layer: Layer;
  /** tfjs name of the layer (its core name). */
  name: string;
  specs: WeightSpec[];
  /** Channels of the first input. */
  cin: number;
  /**
   * A Keras layer JSON with `name` / `trainable` filled in; by default named after the layer and fed by
   * the layer's inputs (`ins`: inbound node lists, e.g. `[[inboundRef(aux)]]`).
   */
  make(className: string, config: Record<string, unknown>, name?: string, ins?: InboundRef[][]): KerasLayerJson;
  /** Inbound nodes of the layer (its inputs). */
  inbound: InboundRef[][];
}

/** The Keras initializer JSON that draws a slot the way PyTorch initialises it (see WeightSpec.init). */
export function kerasInitializer(spec: WeightSpec | undefined, fanIn: number): Record<string, unknown> {
  switch (spec?.init) {
    case undefined:
    case 'zeros':
      return { class_name: 'Zeros', config: {} };
    case 'ones':
      return { class_name: 'Ones', config: {} };
    case 'const_3':
      return { class_name: 'Constant', config: { value: 3 } };
    case 'normal_0.001':
      return { class_name: 'RandomNormal', config: { mean: 0, stddev: 0.001, seed: null } };
    case 'he_normal_fan_out':
      // Porting note: tfjs draws 'normal' variance scaling from a truncated normal; torch's kaiming_normal_ does not.
      return { class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_out', distribution: 'normal', seed: null } };
    case 'torch_default': {
      if (spec!.slot === 'kernel') {
        // nn.Conv2d / nn.Linear reset_parameters: kaiming_uniform_(a=√5) = U(±sqrt(1/fan_in)) = VarianceScaling(1/3, fan_in, uniform).
        return { class_name: 'VarianceScaling', config: { scale: 1 / 3, mode: 'fan_in', distribution: 'uniform', seed: null } };
      }
      const b = 1 / Math.sqrt(Math.max(fanIn, 1));
      return { class_name: 'RandomUniform', config: { minval: -b, maxval: b, seed: null } };
    }
  }
}

/** Kernel / bias initializers and the null regularizers / constraints of a Dense or Conv2D config. */
export function kernelBiasConfig(specs: WeightSpec[], fanIn: number, useBias: boolean): Record<string, unknown> {
  return {
    use_bias: useBias,
    kernel_initializer: kerasInitializer(specs.find((w) => w.slot === 'kernel'), fanIn),
    bias_initializer: kerasInitializer(specs.find((w) => w.slot === 'bias'), fanIn),
    kernel_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    bias_constraint: null,
  };
}

// ---------------------------------------------------------------- ONNX

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
  /**
   * The operator set domain; absent = the default ONNX domain. `com.microsoft.nchwc` (onnxruntime's CPU
   * EP's blocked-layout kernels, contrib_ops/cpu/nchwc_ops.cc) is the one other domain the serializer imports.
   */
  domain?: string;
}

export type OnnxInitializer = { name: string; dims: number[]; dataType: 'float'; data: Float32Array } | { name: string; dims: number[]; dataType: 'int64'; data: number[] };

/**
 * What a kind's `onnx` hook gets. Tensor names are core layer names: the hook reads `x` (its first input's
 * tensor; `ins` all of them) and must produce the tensor named `layer.name`.
 */
export interface OnnxCtx {
  layer: Layer;
  x: string;
  ins: string[];
  cin: number;
  node(opType: string, name: string, inputs: string[], outputs: string[], attributes?: OnnxAttribute[]): void;
  /**
   * Registers the layer's weight slot as an initializer named `<layer>.<slot>`, optionally re-laid-out by `map`
   * from the tfjs layout. A `map` of an `oihw_to_hwio` slot must give the PyTorch OIHW tensor (`hwioToOihw`):
   * a weight source holding PyTorch layout hands that tensor over directly (core/compile/onnx.ts OnnxWeightSource).
   */
  weight(slot: string, dims: number[], map?: (w: Float32Array) => Float32Array): string;
  /** A float scalar initializer. */
  scalar(name: string, v: number): string;
  /** An int64 initializer. */
  int64(name: string, data: number[]): string;
  /** BatchNormalization (eval: running statistics) over slots `<slotPrefix>gamma …`. */
  batchNorm(slotPrefix: string, c: number, x: string, y: string): void;
}

/** HWIO [k, k, cin, cout] → OIHW [cout, cin, k, k]. */
export function hwioToOihw(w: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < k; y++)
    for (let x = 0; x < k; x++)
      for (let i = 0; i < cin; i++) {
        const src = ((y * k + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * k + y) * k + x] = w[src + o]!;
      }
  return out;
}

// ---------------------------------------------------------------- PyTorch source

/** Raised when a layer cannot be written as PyTorch source. */
export class TorchSourceError extends Error {}

/** A Python float literal. */
export function pyFloat(x: number): string {
  if (!Number.isFinite(x)) throw new TorchSourceError(`cannot write the number ${x} to Python`);
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}
export const pyInt = (x: unknown): string => String(Math.trunc(x as number));
export const pyBool = (x: unknown): string => (x ? 'True' : 'False');
/** JSON string escapes are valid Python for layer names. */
export const pyStr = (s: string): string => JSON.stringify(s);

/** How a kind appears in the exported `model.py`. */
export interface TorchSource {
  /**
   * The module constructor registered under the layer's dotted name (so state_dict keys are its weight
   * specs' torch keys), or null for pure data flow (the image input, add).
   */
  module(l: Layer): string | null;
  /** A forward expression for data-flow kinds without a module (`ins`: the input variables; `x` is the model input). */
  expr?(ins: string[]): string;
  /** Extra `__init__` lines after registering the module (`ref` is the `self.get_submodule(...)` expression). */
  initLines?(l: Layer, ref: string): string[];
  /** Python class definitions the module expression needs (module-level source, written once per model.py). */
  classes?: string;
}

/** The lowering hooks of a primitive kind. */
export interface Lowering {
  /** Weight slots in tfjs `getWeights()` order with their PyTorch counterparts; none when absent. */
  weights?(l: Layer): WeightSpec[];
  keras(ctx: KerasCtx): KerasLayerJson[];
  onnx(ctx: OnnxCtx): void;
  torch: TorchSource;
}
