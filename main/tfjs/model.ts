/**
 * Builds the tfjs model from the compiled Keras-JSON topology (core/compile/keras.ts), sets and reads
 * weights by the slots of core/compile/weight-specs.ts, and runs it in the two modes of RSB's Baseline
 *: training returns (logits, pre-neck global feature), eval returns the neck_feat
 * feature. Shared by the CLI (`embed`), the service and the training engine.
 */
import * as tf from '@tensorflow/tfjs';
import {
  analyze,
  compileToKeras,
  METADATA_KEY,
  tfjsLayerName,
  weightSpecs,
  type Analysis,
  type CompiledModel,
  type Graph,
  type Layer,
  type ModelMetadata,
} from '../../core/index.js';
import { registerCustomLayers } from './layers/index.js';

export interface ReidModel {
  /** All outputs (metadata.outputs order); call with `training` to get the right behaviour. */
  model: tf.LayersModel;
  /** The same layers with the eval feature as the only output (no classifier work at test time). */
  evalModel: tf.LayersModel;
  metadata: ModelMetadata;
}

export class ModelError extends Error {}

function evalSubModel(model: tf.LayersModel, meta: ModelMetadata): tf.LayersModel {
  const out = model.getLayer(tfjsLayerName(meta.roles.evalFeature)).output as tf.SymbolicTensor;
  return tf.model({ inputs: model.inputs, outputs: out, name: `${model.name}_eval` });
}

function wrapModel(model: tf.LayersModel, meta: ModelMetadata): ReidModel {
  // tfjs creates the weights of a layer built with trainable=false as trainable Variables (only the
  // layer's lists exclude them). Re-applying the flag marks the Variables too, so nothing that collects
  // trainable variables engine-wide (tf.variableGrads without a list, optimizer.minimize) can touch them.
  for (const l of model.layers) if (!l.trainable) l.trainable = false;
  model.setUserDefinedMetadata({ [METADATA_KEY]: meta } as unknown as Record<string, unknown>);
  return { model, evalModel: evalSubModel(model, meta), metadata: meta };
}

/** Builds the model (fresh initialisation) from a compiled topology. */
export async function buildFromCompiled(compiled: CompiledModel): Promise<ReidModel> {
  registerCustomLayers();
  const model = await tf.models.modelFromJSON({ modelTopology: compiled.modelTopology as unknown as tf.io.ModelJSON['modelTopology'] });
  return wrapModel(model, compiled.metadata);
}

/** Analyses, compiles and builds a graph. Throws (CompileError) when the graph has errors. */
export async function buildModel(graphOrAnalysis: Graph | Analysis): Promise<{ reid: ReidModel; compiled: CompiledModel; analysis: Analysis }> {
  const analysis = 'layers' in graphOrAnalysis ? graphOrAnalysis : analyze(graphOrAnalysis);
  const compiled = compileToKeras(analysis);
  return { reid: await buildFromCompiled(compiled), compiled, analysis };
}

/** Re-attaches roles to a tfjs model loaded from a model.json this app wrote. */
export function fromLoadedModel(model: tf.LayersModel): ReidModel {
  const meta = (model.getUserDefinedMetadata() as Record<string, unknown> | undefined)?.[METADATA_KEY] as ModelMetadata | undefined;
  if (!meta || meta.format !== 1 || !meta.roles?.evalFeature) throw new ModelError('this model.json was not written by ReID Studio (no reidStudio metadata)');
  return wrapModel(model, meta);
}

function layerOf(reid: ReidModel, l: Layer): tf.layers.Layer | undefined {
  try {
    return reid.model.getLayer(tfjsLayerName(l.name));
  } catch {
    return undefined;
  }
}

/** The tfjs slot name of a layer weight (`base.conv1/kernel` → `kernel`). */
function slotOf(w: tf.LayerVariable, layerName: string): string {
  const n = w.originalName;
  return n.startsWith(`${layerName}/`) ? n.slice(layerName.length + 1) : n;
}

/** The weight slots of a built layer in getWeights() order. */
export function layerSlots(layer: tf.layers.Layer): string[] {
  return layer.weights.map((w) => slotOf(w, layer.name));
}

/**
 * Sets weights from `${layerName}/${slot}` → values (tfjs layout), e.g. `planLoad(...).values`.
 * Slots without a value keep their current value. Returns the keys that were set.
 */
export function setWeightsFromValues(reid: ReidModel, layers: Layer[], values: Map<string, Float32Array>): string[] {
  const set: string[] = [];
  for (const l of layers) {
    const specs = weightSpecs(l);
    if (!specs.length) continue;
    const layer = layerOf(reid, l);
    if (!layer) continue; // not in the model (feeds no output)
    const slots = layerSlots(layer);
    if (slots.length !== specs.length || slots.some((s, i) => s !== specs[i]!.slot))
      throw new ModelError(`${l.name}: tfjs weights [${slots.join(', ')}] do not match the weight specs [${specs.map((s) => s.slot).join(', ')}]`);
    const current = layer.weights;
    specs.forEach((spec, i) => {
      const key = `${l.name}/${spec.slot}`;
      const v = values.get(key);
      if (!v) return;
      const size = spec.shape.reduce((a, b) => a * b, 1);
      if (v.length !== size) throw new ModelError(`${key}: expected ${size} values for shape [${spec.shape.join(', ')}], got ${v.length}`);
      const t = tf.tensor(v, spec.shape, 'float32');
      current[i]!.write(t);
      t.dispose();
      set.push(key);
    });
  }
  return set;
}

/** Every weight slot's values (`${layerName}/${slot}` → tfjs layout), e.g. for `exportStateDict`. */
export async function getWeightValues(reid: ReidModel, layers: Layer[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const l of layers) {
    const layer = layerOf(reid, l);
    if (!layer) continue;
    for (const w of layer.weights) out.set(`${l.name}/${slotOf(w, layer.name)}`, (await w.read().data()) as Float32Array);
  }
  return out;
}

/** The variables a training step updates (the model's trainable weights only; platform-notes.md). */
export function trainableVariables(reid: ReidModel): tf.Variable[] {
  return reid.model.trainableWeights.map((w) => w.read() as tf.Variable);
}

function outputIndex(meta: ModelMetadata, role: 'logits' | 'trainFeature' | 'evalFeature'): number {
  const name = meta.roles[role];
  if (!name) throw new ModelError(`the model has no ${role} output: connect it to the "Model outputs" node`);
  return meta.outputs.indexOf(name);
}

/**
 * Training-mode forward pass: BN layers use (and update) batch statistics unless their statistics are
 * frozen. Returns RSB's (cls_score, global_feat). Call inside `tf.variableGrads` for a training step.
 */
export function forwardTrain(reid: ReidModel, x: tf.Tensor4D, withEvalFeature = false): { logits: tf.Tensor2D; feature: tf.Tensor2D; evalFeature?: tf.Tensor2D } {
  const outs = reid.model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(outs) ? outs : [outs];
  const li = outputIndex(reid.metadata, 'logits');
  const fi = outputIndex(reid.metadata, 'trainFeature');
  const ei = withEvalFeature ? outputIndex(reid.metadata, 'evalFeature') : -1;
  const result: { logits: tf.Tensor2D; feature: tf.Tensor2D; evalFeature?: tf.Tensor2D } = { logits: list[li] as tf.Tensor2D, feature: list[fi] as tf.Tensor2D };
  // With evalFeature: the training-mode neck feature (fast-reid's margin classifiers take it as input).
  if (ei >= 0) result.evalFeature = (ei === li || ei === fi ? list[ei]!.clone() : list[ei]) as tf.Tensor2D;
  for (const [i, t] of list.entries()) if (i !== li && i !== fi && i !== ei) t.dispose();
  return result;
}

/**
 * The classifier weight variable (the layer behind the logits output: Keras Dense kernel, in × classes) and
 * whether its input is the eval feature — as in fast-reid's EmbeddingHead, whose margin classifiers take the
 * neck feature (fastreid/modeling/heads/embedding_head.py).
 */
export function classifierKernel(reid: ReidModel): { kernel: tf.Variable; inputIsEvalFeature: boolean } {
  const layer = reid.model.getLayer(tfjsLayerName(reid.metadata.roles.logits!));
  const evalLayer = reid.model.getLayer(tfjsLayerName(reid.metadata.roles.evalFeature));
  const inbound = (layer.inboundNodes[0]?.inboundLayers ?? []) as tf.layers.Layer[];
  return { kernel: layer.weights[0]!.read() as tf.Variable, inputIsEvalFeature: inbound.length === 1 && inbound[0] === evalLayer };
}

/** Eval-mode forward pass: the retrieval feature (TEST.NECK_FEAT). */
export function forwardEval(reid: ReidModel, x: tf.Tensor4D): tf.Tensor2D {
  return reid.evalModel.apply(x, { training: false }) as tf.Tensor2D;
}

/**
 * Eval features of `count` images stored NHWC in `data` (already normalised), in batches. Returns a
 * [count × dim] Float32Array. Tensors are disposed per batch (never a large array out of tf.tidy).
 */
export async function extractFeatures(reid: ReidModel, data: Float32Array, count: number, batchSize = 16): Promise<{ features: Float32Array; dim: number }> {
  const [h, w, c] = reid.metadata.inputShape as [number, number, number];
  const per = h * w * c;
  if (data.length !== count * per) throw new ModelError(`expected ${count}×${h}×${w}×${c} values, got ${data.length}`);
  let out: Float32Array | undefined;
  let dim = 0;
  for (let i = 0; i < count; i += batchSize) {
    const n = Math.min(batchSize, count - i);
    const x = tf.tensor4d(data.subarray(i * per, (i + n) * per), [n, h, w, c]);
    const f = forwardEval(reid, x);
    const v = (await f.data()) as Float32Array;
    x.dispose();
    f.dispose();
    dim = f.shape[1];
    out ??= new Float32Array(count * dim);
    out.set(v, i * dim);
  }
  return { features: out ?? new Float32Array(0), dim };
}

/** Frees the model's weights. */
export function disposeModel(reid: ReidModel): void {
  // The eval sub-model was made from the same symbolic tensors: disposing the full model frees every layer.
  reid.model.dispose();
}
