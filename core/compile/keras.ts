import type { Analysis } from '../graph/analyze.js';
import type { Layer } from '../graph/evaluate.js';
import { weightSpecs, type WeightSpec } from './weight-specs.js';

/**
 * Lowers the analysed (expanded, shape-inferred) graph to a Keras-JSON functional topology: the
 * `modelTopology` of a tfjs `model.json`. Pure data, no tfjs: main/tfjs/ registers the custom classes
 * below and deserialises this with tfjs-layers.
 *
 * Porting notes:
 * - PyTorch pads symmetrically; tfjs 'same' pads the extra row/column at the bottom/right for stride 2.
 *   Convolutions therefore get an explicit ZeroPadding2D + 'valid' unless the padding is exactly what
 *   'same' does (stride 1, odd kernel, padding (k−1)/2) or there is none.
 * - Max pooling pads with −∞ (a custom layer): RSB's plain-ResNet stem has no ReLU before the pool.
 * - Norm layers are custom (tfjs BatchNormalization ignores `trainable` in `call`, throws without a
 *   shift, and uses Keras momentum/eps conventions): eps as given (1e-5), momentum stored the Keras way
 *   (1 − PyTorch momentum: 0.1 ↔ 0.9).
 */

/** Custom tfjs layer classes (registered in main/tfjs/layers). Persisted in model.json: never rename. */
export const CUSTOM_LAYER_CLASSES = {
  batchNorm: 'ReidBatchNorm',
  instanceNorm: 'ReidInstanceNorm',
  ibnA: 'ReidIBNa',
  maxPool: 'ReidMaxPool2D',
  gemPool: 'ReidGeMPool',
} as const;

export const KERAS_MODEL_NAME = 'reid_studio';
/** Key of the app's entry in tfjs model artifacts' `userDefinedMetadata`. */
export const METADATA_KEY = 'reidStudio';

export type InboundRef = [string, number, number, Record<string, unknown>];

export interface KerasLayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown> & { name: string };
  inbound_nodes: InboundRef[][];
}

export interface KerasModelJson {
  class_name: 'Model';
  config: {
    name: string;
    layers: KerasLayerJson[];
    input_layers: [string, number, number][];
    output_layers: [string, number, number][];
  };
  keras_version: string;
  backend: string;
}

/** Which model output is which (layer names are core `Layer.name`s). */
export interface OutputRoles {
  logits?: string;
  trainFeature?: string;
  evalFeature: string;
}

/** What main/ needs besides the topology; saved as `userDefinedMetadata[METADATA_KEY]`. */
export interface ModelMetadata {
  format: 1;
  roles: OutputRoles;
  /** Output layer names in model output order (unique). */
  outputs: string[];
  inputShape: number[];
}

export interface CompiledModel {
  modelTopology: KerasModelJson;
  metadata: ModelMetadata;
  /** The primitive layers kept in the model (those that feed an output), in topological order. */
  layers: Layer[];
}

export class CompileError extends Error {}

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
/** The core layer a tfjs layer belongs to (itself, or the layer an auxiliary layer was added for). */
export function coreLayerName(tfjsName: string): string {
  const i = tfjsName.indexOf(AUX_SEPARATOR);
  return i < 0 ? tfjsName : tfjsName.slice(0, i);
}

function initializer(spec: WeightSpec, fanIn: number): Record<string, unknown> {
  switch (spec.init) {
    case 'ones':
      return { class_name: 'Ones', config: {} };
    case 'zeros':
      return { class_name: 'Zeros', config: {} };
    case 'const_3':
      return { class_name: 'Constant', config: { value: 3 } };
    case 'normal_0.001':
      return { class_name: 'RandomNormal', config: { mean: 0, stddev: 0.001, seed: null } };
    case 'he_normal_fan_out':
      // Porting note: tfjs draws 'normal' variance scaling from a truncated normal; torch's kaiming_normal_ does not.
      return { class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_out', distribution: 'normal', seed: null } };
    case 'torch_default': {
      if (spec.slot === 'kernel') {
        // nn.Conv2d / nn.Linear reset_parameters: kaiming_uniform_(a=√5) = U(±sqrt(1/fan_in)) = VarianceScaling(1/3, fan_in, uniform).
        return { class_name: 'VarianceScaling', config: { scale: 1 / 3, mode: 'fan_in', distribution: 'uniform', seed: null } };
      }
      const b = 1 / Math.sqrt(Math.max(fanIn, 1));
      return { class_name: 'RandomUniform', config: { minval: -b, maxval: b, seed: null } };
    }
  }
}

const ref = (name: string): InboundRef => [name, 0, 0, {}];

function lowerLayer(l: Layer, inbound: string[]): KerasLayerJson[] {
  const p = l.params;
  const name = tfjsLayerName(l.name);
  const trainable = !l.frozen;
  const nodes = [inbound.map(ref)];
  const make = (class_name: string, config: Record<string, unknown>, n = name, ins = nodes): KerasLayerJson => ({
    name: n,
    class_name,
    config: { ...config, name: n, trainable },
    inbound_nodes: ins,
  });
  const specs = weightSpecs(l);
  const cin = l.inputShapes[0]?.[l.inputShapes[0].length - 1] ?? 0;
  switch (l.kind) {
    case 'input': {
      const config = { batch_input_shape: [null, ...l.shape], dtype: 'float32', sparse: false, name };
      return [{ name, class_name: 'InputLayer', config, inbound_nodes: [] }];
    }
    case 'conv2d': {
      const k = p.kernel as number;
      const s = p.stride as number;
      const pad = p.padding as number;
      const fanIn = k * k * cin;
      const kernel = specs.find((w) => w.slot === 'kernel')!;
      const bias = specs.find((w) => w.slot === 'bias');
      const sameIsSymmetric = s === 1 && k % 2 === 1 && pad === (k - 1) / 2;
      const out: KerasLayerJson[] = [];
      let ins = nodes;
      let padding = 'valid';
      if (pad > 0 && sameIsSymmetric) padding = 'same';
      else if (pad > 0) {
        const padName = auxLayerName(l.name, 'pad');
        out.push(make('ZeroPadding2D', { padding: [[pad, pad], [pad, pad]], data_format: 'channels_last' }, padName));
        ins = [[ref(padName)]];
      }
      out.push(
        make(
          'Conv2D',
          {
            filters: p.filters,
            kernel_size: [k, k],
            strides: [s, s],
            padding,
            data_format: 'channels_last',
            dilation_rate: [1, 1],
            activation: 'linear',
            use_bias: !!p.bias,
            kernel_initializer: initializer(kernel, fanIn),
            bias_initializer: bias ? initializer(bias, fanIn) : { class_name: 'Zeros', config: {} },
            kernel_regularizer: null,
            bias_regularizer: null,
            activity_regularizer: null,
            kernel_constraint: null,
            bias_constraint: null,
          },
          name,
          ins,
        ),
      );
      return out;
    }
    case 'linear': {
      const kernel = specs.find((w) => w.slot === 'kernel')!;
      const bias = specs.find((w) => w.slot === 'bias');
      return [
        make('Dense', {
          units: p.units,
          activation: 'linear',
          use_bias: !!p.bias,
          kernel_initializer: initializer(kernel, cin),
          bias_initializer: bias ? initializer(bias, cin) : { class_name: 'Zeros', config: {} },
          kernel_regularizer: null,
          bias_regularizer: null,
          activity_regularizer: null,
          kernel_constraint: null,
          bias_constraint: null,
        }),
      ];
    }
    case 'batch_norm':
      return [
        make(CUSTOM_LAYER_CLASSES.batchNorm, {
          epsilon: p.eps,
          momentum: 1 - (p.momentum as number),
          freeze_shift: !!p.freezeShift,
          stats_frozen: l.statsFrozen,
        }),
      ];
    case 'ibn_a':
      return [
        make(CUSTOM_LAYER_CLASSES.ibnA, {
          ratio: p.ratio,
          epsilon: p.eps,
          momentum: 1 - (p.momentum as number),
          stats_frozen: l.statsFrozen,
        }),
      ];
    case 'instance_norm':
      return [make(CUSTOM_LAYER_CLASSES.instanceNorm, { epsilon: p.eps })];
    case 'relu':
      return [make('Activation', { activation: 'relu' })];
    case 'max_pool': {
      const k = p.kernel as number;
      const s = p.stride as number;
      if ((p.padding as number) === 0 && !p.ceilMode)
        return [make('MaxPooling2D', { pool_size: [k, k], strides: [s, s], padding: 'valid', data_format: 'channels_last' })];
      return [make(CUSTOM_LAYER_CLASSES.maxPool, { pool_size: k, strides: s, padding: p.padding, ceil_mode: !!p.ceilMode })];
    }
    case 'add':
      return [make('Add', {})];
    case 'global_avg_pool':
      return [make('GlobalAveragePooling2D', { data_format: 'channels_last' })];
    case 'gem_pool':
      return [make(CUSTOM_LAYER_CLASSES.gemPool, { p: p.p, learnable: !!p.learnable, epsilon: p.eps })];
    default:
      throw new CompileError(`${l.name}: no tfjs lowering for layer kind "${l.kind}"`);
  }
}

/** Model output layers (unique, in role order logits, trainFeature, evalFeature) and their roles. */
function outputRoles(a: Analysis): { roles: OutputRoles; outputs: string[] } {
  const evalFeature = a.outputs.evalFeature;
  if (!evalFeature) throw new CompileError('the model has no eval feature: connect one to the "Model outputs" node');
  const roles: OutputRoles = { evalFeature };
  if (a.outputs.logits) roles.logits = a.outputs.logits;
  if (a.outputs.trainFeature) roles.trainFeature = a.outputs.trainFeature;
  const outputs = [...new Set([roles.logits, roles.trainFeature, roles.evalFeature].filter((x): x is string => !!x))];
  return { roles, outputs };
}

/**
 * The Keras-JSON topology of the analysed graph. Layers that feed no model output are left out (a
 * functional model could not hold them anyway). Throws CompileError when the graph has errors.
 */
export function compileToKeras(a: Analysis): CompiledModel {
  const errors = a.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new CompileError(`the graph has ${errors.length} problem(s): ${errors.map((d) => `[${d.code}] ${d.message}`).join('; ')}`);
  const { roles, outputs } = outputRoles(a);
  const byName = new Map(a.layers.map((l) => [l.name, l]));
  const keep = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const n = stack.pop()!;
    if (keep.has(n)) continue;
    const l = byName.get(n);
    if (!l) throw new CompileError(`output layer ${n} does not exist`);
    keep.add(n);
    stack.push(...l.inputs);
  }
  const layers = a.layers.filter((l) => keep.has(l.name));
  const inputs = layers.filter((l) => l.kind === 'input');
  if (inputs.length !== 1) throw new CompileError(`the model needs exactly one image input (found ${inputs.length})`);
  const keras = layers.flatMap((l) => lowerLayer(l, l.inputs.map(tfjsLayerName)));
  return {
    modelTopology: {
      class_name: 'Model',
      config: {
        name: KERAS_MODEL_NAME,
        layers: keras,
        input_layers: [[tfjsLayerName(inputs[0]!.name), 0, 0]],
        output_layers: outputs.map((n) => [tfjsLayerName(n), 0, 0]),
      },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    metadata: { format: 1, roles, outputs, inputShape: inputs[0]!.shape },
    layers,
  };
}
