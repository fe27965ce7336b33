import type { Analysis } from '../graph/analyze.js';
import type { Layer } from '../graph/evaluate.js';
import { getKind } from '../registry/index.js';
import { AUX_SEPARATOR, CompileError, inboundRef, inChannels, tfjsLayerName, type KerasLayerJson } from '../registry/lowering.js';
import { weightSpecs } from './weight-specs.js';

export { AUX_SEPARATOR, auxLayerName, CompileError, CUSTOM_LAYER_CLASSES, kerasInitializer, tfjsLayerName, type InboundRef, type KerasLayerJson } from '../registry/lowering.js';

/**
 * Lowers the analysed (expanded, shape-inferred) graph to a Keras-JSON functional topology: the
 * `modelTopology` of a tfjs `model.json`. Pure data, no tfjs: main/tfjs/ registers the custom classes
 * below and deserialises this with tfjs-layers.
 * Each layer lowers through its kind's `lower.keras` hook (core/registry/kinds/*).
 *
 * Porting notes (in the kind files):
 * - PyTorch pads symmetrically; tfjs 'same' pads the extra row/column at the bottom/right for stride 2.
 *   Convolutions therefore get an explicit ZeroPadding2D + 'valid' unless the padding is exactly what
 *   'same' does (stride 1, odd kernel, padding (k−1)/2) or there is none.
 * - Max pooling pads with −∞ (a custom layer): RSB's plain-ResNet stem has no ReLU before the pool.
 * - Norm layers are custom (tfjs BatchNormalization ignores `trainable` in `call`, throws without a
 *   shift, and uses Keras momentum/eps conventions): eps as given (1e-5), momentum stored the Keras way
 *   (1 − PyTorch momentum: 0.1 ↔ 0.9).
 */

export const KERAS_MODEL_NAME = 'reid_studio';
/** Key of the app's entry in tfjs model artifacts' `userDefinedMetadata`. */
export const METADATA_KEY = 'reidStudio';

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
  /**
   * The loss heads of a multi-head model (graph/analyze.ts LossHead, without node ids): absent for a
   * one-head model (the logits and train feature above). When present, training sums every head's terms
   * and the roles above (if set) are one more head with factors 1.
   */
  heads?: { logits?: string; feature?: string; ceFactor: number; tripletFactor: number }[];
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

/** The core layer a tfjs layer belongs to (itself, or the layer an auxiliary layer was added for). */
export function coreLayerName(tfjsName: string): string {
  const i = tfjsName.indexOf(AUX_SEPARATOR);
  return i < 0 ? tfjsName : tfjsName.slice(0, i);
}

/** The tfjs layer(s) of one primitive layer: its kind's `lower.keras` hook. */
function lowerLayer(l: Layer, inbound: string[]): KerasLayerJson[] {
  const k = getKind(l.kind);
  if (k?.primitive !== true) throw new CompileError(`${l.name}: no tfjs lowering for layer kind "${l.kind}"`);
  const name = tfjsLayerName(l.name);
  const trainable = !l.frozen;
  const nodes = [inbound.map(inboundRef)];
  const make = (class_name: string, config: Record<string, unknown>, n = name, ins = nodes): KerasLayerJson => ({
    name: n,
    class_name,
    config: { ...config, name: n, trainable },
    inbound_nodes: ins,
  });
  return k.lower.keras({ layer: l, name, specs: weightSpecs(l), cin: inChannels(l), make, inbound: nodes });
}

/** Model output layers (unique, in role order logits, trainFeature, evalFeature) and their roles. */
function outputRoles(a: Analysis): { roles: OutputRoles; outputs: string[] } {
  const evalFeature = a.outputs.evalFeature;
  if (!evalFeature) throw new CompileError('the model has no eval feature: connect one to the "Model outputs" node');
  const roles: OutputRoles = { evalFeature };
  if (a.outputs.logits) roles.logits = a.outputs.logits;
  if (a.outputs.trainFeature) roles.trainFeature = a.outputs.trainFeature;
  if (a.outputs.heads?.length)
    roles.heads = a.outputs.heads.map((h) => ({
      ...(h.logits ? { logits: h.logits } : {}),
      ...(h.feature ? { feature: h.feature } : {}),
      ceFactor: h.ceFactor,
      tripletFactor: h.tripletFactor,
    }));
  const headLayers = (roles.heads ?? []).flatMap((h) => [h.logits, h.feature]);
  const outputs = [...new Set([roles.logits, roles.trainFeature, roles.evalFeature, ...headLayers].filter((x): x is string => !!x))];
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
  const inputs = layers.filter((l) => getKind(l.kind)?.imageInput);
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
