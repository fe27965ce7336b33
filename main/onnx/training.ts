/**
 * Training on onnxruntime (CPU execution provider, all cores): the compiled model's training graph
 * (core/compile/onnx-grad.ts) as two sessions —
 *  1. forward (training mode): images → logits, metric-loss feature, BatchNorm batch statistics and the
 *     activations the backward pass reads;
 *  2. backward: ∂L/∂logits, ∂L/∂feature (computed by the caller's loss, small tensors) + those activations
 *     → the gradients of every trainable weight.
 * The whole P×K batch goes through in one pass, so BatchNorm sees every sample (as in PyTorch). The
 * weights live here in ONNX layout (conv OIHW as PyTorch, linear [in, out]) and are graph inputs, so the
 * optimizer updates them in place between steps; they come from and go back to the weight store in PyTorch
 * layout keyed by state_dict key (`create` takes the store's tensors where the ONNX initializer is the
 * PyTorch tensor; `weightValues` / `setWeightValues` transpose only the Linear kernels). Running statistics follow PyTorch's
 * `_BatchNorm.forward`: running ← (1 − momentum)·running + momentum·batch, with the unbiased batch variance.
 */
import type * as Ort from 'onnxruntime-node';
import { buildTrainingGraph, lowerLayers, weightSpecs, type CompiledModel, type Layer, type OnnxModelJs, type OnnxWeightSource, type TrainingGraph, type WeightSpec } from '../../core/index.js';
import { toTfjs, toTorch } from '../weights/index.js';
import { loadOnnxRuntime, nhwcToNchw, OnnxRuntimeError, ortSessionOptions } from './runtime.js';
import { serializeOnnx } from './serialize.js';

/** One weight slot as the training graph holds it. */
export interface TrainingWeight {
  /** PyTorch state_dict key (checkpoint and optimizer key). */
  key: string;
  /** `${layer}/${slot}` (the lowering's name for it). */
  id: string;
  /** Graph input name. */
  name: string;
  spec: WeightSpec;
  layer: Layer;
  /** Values in the graph's layout (updated in place by the optimizer). */
  data: Float32Array;
  /** Graph layout dims. */
  dims: number[];
  trainable: boolean;
}

const sameDims = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Whether a slot's ONNX initializer is the PyTorch tensor itself: vectors and other untransformed slots, and
 * conv kernels the lowering takes as OIHW (core/registry/lowering.ts OnnxCtx.weight: a `map` of an
 * `oihw_to_hwio` slot gives PyTorch's OIHW). Otherwise (Linear kernels, lowered as MatMul's [in, out]) the
 * initializer holds the tfjs layout.
 */
export function graphIsTorch(w: { spec: WeightSpec; dims: number[] }): boolean {
  return w.spec.transform === 'none' || (w.spec.transform === 'oihw_to_hwio' && sameDims(w.dims, w.spec.torchShape));
}

/** Graph layout → PyTorch layout: the same array where the initializer is the PyTorch tensor, else a transpose. */
export function graphToTorch(w: { spec: WeightSpec; dims: number[] }, data: Float32Array): Float32Array {
  return graphIsTorch(w) ? data : toTorch(data, w.spec.torchShape, w.spec.transform);
}

/** PyTorch layout → graph layout (inverse of graphToTorch; the same array where they agree). */
export function torchToGraph(w: { spec: WeightSpec; dims: number[] }, data: Float32Array): Float32Array {
  return graphIsTorch(w) ? data : toTfjs(data, w.spec.torchShape, w.spec.transform);
}

/** A weight slot of the lowered training graph (before its values are placed). */
export interface TrainingSlot {
  /** PyTorch state_dict key. */
  key: string;
  /** `${layer}/${slot}`. */
  id: string;
  name: string;
  spec: WeightSpec;
  layer: Layer;
  dims: number[];
  trainable: boolean;
  /** The lowered graph's initializer holding its values. */
  init: { data: ArrayLike<number> };
}

/**
 * onnxruntime, and the compiled model lowered for training (the logits and the metric-loss feature) with
 * the weight slots among its initializers. `weights`: the weight store's `tfjsLookup()` (its PyTorch tensors
 * become the initializers where they are the ONNX ones, no copy) or tfjs-layout values by `${layer}/${slot}`.
 * Throws OnnxRuntimeError when onnxruntime is unavailable or the model lacks those outputs, CompileError when
 * it has no ONNX form.
 */
export async function trainingSlots(compiled: CompiledModel, weights: OnnxWeightSource): Promise<{ ort: typeof Ort; base: OnnxModelJs; slots: TrainingSlot[] }> {
  const { ort, status } = await loadOnnxRuntime();
  if (!ort) throw new OnnxRuntimeError(`the onnxruntime engine is not available: ${status.message}`);
  const { logits, trainFeature, heads } = compiled.metadata.roles;
  // A multi-head model (fast-reid MGN) trains on every head's logits and feature.
  const lossOutputs = [logits, trainFeature, ...(heads ?? []).flatMap((h) => [h.logits, h.feature])].filter((x): x is string => !!x);
  if (!heads?.length && (!logits || !trainFeature)) throw new OnnxRuntimeError('training needs the logits and the metric-loss feature outputs');
  const base = lowerLayers(compiled, weights, [...new Set(lossOutputs)]);
  const byInit = new Map<string, { layer: Layer; spec: WeightSpec }>();
  for (const layer of compiled.layers) for (const spec of weightSpecs(layer)) byInit.set(`${layer.name}.${spec.slot}`, { layer, spec });
  const slots: TrainingSlot[] = [];
  for (const i of base.graph.initializers) {
    const ws = byInit.get(i.name);
    if (!ws || i.dataType !== 'float') continue;
    slots.push({ key: ws.spec.torchKey, id: `${ws.layer.name}/${ws.spec.slot}`, name: i.name, spec: ws.spec, layer: ws.layer, dims: i.dims, trainable: ws.spec.trainable && !ws.spec.buffer, init: i });
  }
  return { ort, base, slots };
}

export interface ForwardResult {
  batch: number;
  logits: Float32Array;
  feature: Float32Array;
  /** Forward outputs the backward pass needs (released by `backward`). */
  saved: Record<string, Ort.Tensor>;
}

interface BatchSessions {
  graph: TrainingGraph;
  fwd: Ort.InferenceSession;
  bwd: Ort.InferenceSession;
}

export class OnnxTrainingSession {
  /** Sessions per batch size (the shuffle sampler's last batch may be short). */
  private sessions = new Map<number, Promise<BatchSessions>>();
  private byName: Map<string, TrainingWeight>;
  private momentum = new Map<string, number>();

  private constructor(
    private ort: typeof Ort,
    private compiled: CompiledModel,
    readonly weights: TrainingWeight[],
    readonly threads: number,
  ) {
    this.byName = new Map(weights.map((w) => [w.name, w]));
  }

  /**
   * A training session of the compiled model with the given weights (the weight store's `tfjsLookup()`, or
   * tfjs-layout values by `${layer}/${slot}`; copied, the optimizer updates its own arrays), its graph built
   * for batches of `batch` images (other sizes are built when they come). Throws CompileError when the
   * graph has no training form on this engine, and OnnxRuntimeError when onnxruntime is unavailable or
   * rejects it.
   */
  static async create(compiled: CompiledModel, source: OnnxWeightSource, opts: { batch: number; threads: number }): Promise<OnnxTrainingSession> {
    const { ort, base, slots } = await trainingSlots(compiled, source);
    const weights: TrainingWeight[] = slots.map((w) => ({ ...w, data: Float32Array.from(w.init.data as Float32Array) }));
    const session = new OnnxTrainingSession(ort, compiled, weights, opts.threads);
    await session.sessionsFor(opts.batch);
    return session;
  }

  /** The forward / backward sessions for batches of `batch`. */
  private sessionsFor(batch: number): Promise<BatchSessions> {
    let s = this.sessions.get(batch);
    if (!s) {
      s = this.build(batch);
      this.sessions.set(batch, s);
      s.catch(() => this.sessions.delete(batch));
    }
    return s;
  }

  private async build(batch: number): Promise<BatchSessions> {
    const { logits, trainFeature } = this.compiled.metadata.roles as { logits: string; trainFeature: string };
    // The session's own arrays, in the layout each initializer has (graphIsTorch: PyTorch's, else tfjs's).
    const byId = new Map(this.weights.map((x) => [x.id, x]));
    const source: OnnxWeightSource = { get: (id) => byId.get(id)?.data, torch: (id) => byId.get(id)?.data };
    const base = lowerLayers(this.compiled, source, [...new Set([logits, trainFeature])]);
    const [h, w, c] = this.compiled.metadata.inputShape as [number, number, number];
    const graph = buildTrainingGraph(base, {
      inputShape: [batch, c, h, w],
      weights: new Set(this.weights.map((x) => x.name)),
      trainable: new Set(this.weights.filter((x) => x.trainable).map((x) => x.name)),
      batchStats: (n) => !this.byName.get(n.inputs[3] ?? '')?.layer.statsFrozen,
      lossInputs: [...new Set([logits, trainFeature])],
    });
    for (const s of graph.stats) this.momentum.set(s.node, this.byName.get(s.runningMean)!.layer.params.momentum as number);
    // Idle pool threads sleep instead of spinning: training ops are long, and spinning threads take CPU from
    // the data workers (measured: less CPU per step and no slower, resnet18 batch 16 on 2 cores).
    const options = ortSessionOptions('cpu', { threads: this.threads, allowSpinning: false, ...(process.env.REID_ORT_PROFILE ? { profileFilePrefix: process.env.REID_ORT_PROFILE } : {}) });
    try {
      const fwd = await this.ort.InferenceSession.create(serializeOnnx(graph.forward), options);
      const bwd = await this.ort.InferenceSession.create(serializeOnnx(graph.backward), options);
      return { graph, fwd, bwd };
    } catch (e) {
      throw new OnnxRuntimeError(`onnxruntime rejected the training graph: ${(e as Error).message}`);
    }
  }

  private weightFeeds(names: readonly string[]): Record<string, Ort.Tensor> {
    const feeds: Record<string, Ort.Tensor> = {};
    const wanted = new Set(names);
    for (const w of this.weights) if (wanted.has(w.name)) feeds[w.name] = new this.ort.Tensor('float32', w.data, w.dims);
    return feeds;
  }

  /**
   * Training-mode forward pass of NHWC normalised images ([batch, H, W, C]); updates the BatchNorm
   * running statistics (PyTorch updates them in the forward pass too).
   */
  async forward(nhwc: Float32Array): Promise<ForwardResult> {
    const [h, w, c] = this.compiled.metadata.inputShape as [number, number, number];
    const n = nhwc.length / (h * w * c);
    if (!Number.isInteger(n) || n < 1) throw new OnnxRuntimeError(`expected a multiple of ${h}×${w}×${c} image values, got ${nhwc.length}`);
    const { graph, fwd } = await this.sessionsFor(n);
    const x = new this.ort.Tensor('float32', nhwcToNchw(nhwc, n, h, w, c), [n, c, h, w]);
    const inputName = graph.forward.graph.inputs[0]!.name;
    const out = await fwd.run({ [inputName]: x, ...this.weightFeeds(fwd.inputNames) });
    for (const s of graph.stats) {
      const m = this.momentum.get(s.node)!;
      for (const [running, batch] of [
        [s.runningMean, s.mean],
        [s.runningVar, s.variance],
      ] as const) {
        const r = this.byName.get(running)!.data;
        const b = out[batch]!.data as Float32Array;
        for (let i = 0; i < r.length; i++) r[i] = (1 - m) * r[i]! + m * b[i]!;
      }
    }
    const saved: Record<string, Ort.Tensor> = {};
    for (const t of graph.saved) saved[t] = t === inputName ? x : out[t]!;
    const { logits, trainFeature } = this.compiled.metadata.roles as { logits: string; trainFeature: string };
    return { batch: n, logits: out[logits]!.data as Float32Array, feature: out[trainFeature]!.data as Float32Array, saved };
  }

  /** Gradients of the trainable weights (graph layout, by key) given ∂L/∂logits and ∂L/∂feature ([batch, D] each). */
  async backward(f: ForwardResult, gLogits: Float32Array, gFeature: Float32Array): Promise<Map<string, Float32Array>> {
    const { graph, bwd } = await this.sessionsFor(f.batch);
    const { logits, trainFeature } = this.compiled.metadata.roles as { logits: string; trainFeature: string };
    const seeds: Record<string, Ort.Tensor> = {};
    const add = (layer: string, g: Float32Array) => {
      const name = graph.seeds.get(layer)!;
      const shape = graph.shapes.get(layer)!;
      const prev = seeds[name];
      if (prev) {
        const sum = Float32Array.from(prev.data as Float32Array);
        for (let i = 0; i < sum.length; i++) sum[i]! += g[i]!;
        seeds[name] = new this.ort.Tensor('float32', sum, shape);
      } else seeds[name] = new this.ort.Tensor('float32', g, shape);
    };
    add(logits, gLogits);
    add(trainFeature, gFeature);
    const out = await bwd.run({ ...seeds, ...f.saved, ...this.weightFeeds(bwd.inputNames) });
    const grads = new Map<string, Float32Array>();
    for (const w of this.weights) {
      const g = graph.grads.get(w.name);
      if (g) grads.set(w.key, out[g]!.data as Float32Array);
    }
    for (const t of Object.values(f.saved)) t.dispose();
    return grads;
  }

  /** Every weight of the training graph in PyTorch layout by state_dict key (copies: the optimizer updates the session's arrays in place). */
  weightValues(): Map<string, Float32Array> {
    return new Map(this.weights.map((w) => [w.key, graphIsTorch(w) ? w.data.slice() : graphToTorch(w, w.data)]));
  }

  /** Sets weights from PyTorch-layout values by state_dict key (weights without a value keep theirs). */
  setWeightValues(values: Map<string, Float32Array>): void {
    for (const w of this.weights) {
      const v = values.get(w.key);
      if (!v) continue;
      if (v.length !== w.data.length) throw new OnnxRuntimeError(`${w.key}: expected ${w.data.length} values, got ${v.length}`);
      w.data.set(torchToGraph(w, v));
    }
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) {
      const { fwd, bwd } = await s.catch(() => ({ fwd: undefined, bwd: undefined }));
      await fwd?.release();
      await bwd?.release();
    }
    this.sessions.clear();
  }
}
