/**
 * Training on onnxruntime (CPU execution provider, all cores): the compiled model's training graph
 * (core/compile/onnx-grad.ts) as two sessions —
 *  1. forward (training mode): images → logits, metric-loss feature, BatchNorm batch statistics and the
 *     activations the backward pass reads;
 *  2. backward: ∂L/∂logits, ∂L/∂feature (computed by the caller's loss, small tensors) + those activations
 *     → the gradients of every trainable weight.
 * The whole P×K batch goes through in one pass, so BatchNorm sees every sample (as in PyTorch). The
 * weights live here in ONNX layout (conv OIHW as PyTorch, linear [in, out]) and are graph inputs, so the
 * optimizer updates them in place between steps; `weightValues` converts to the tfjs layout
 * (`${layer}/${slot}`) that checkpoints and the tfjs model use. Running statistics follow PyTorch's
 * `_BatchNorm.forward`: running ← (1 − momentum)·running + momentum·batch, with the unbiased batch variance.
 */
import type * as Ort from 'onnxruntime-node';
import { buildTrainingGraph, lowerLayers, weightSpecs, type CompiledModel, type Layer, type TrainingGraph, type WeightSpec } from '../../core/index.js';
import { loadOnnxRuntime, nhwcToNchw, OnnxRuntimeError } from './runtime.js';
import { serializeOnnx } from './serialize.js';

/** One weight slot as the training graph holds it. */
export interface TrainingWeight {
  /** `${layer}/${slot}` (checkpoint and optimizer key). */
  key: string;
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

/** Permutes a row-major 4-D array: out[perm-ordered index] = x[index]. */
function permute4(x: Float32Array, dims: number[], perm: number[]): Float32Array {
  const out = new Float32Array(x.length);
  const od = perm.map((p) => dims[p]!);
  const stride = [dims[1]! * dims[2]! * dims[3]!, dims[2]! * dims[3]!, dims[3]!, 1];
  const ps = perm.map((p) => stride[p]!);
  let o = 0;
  for (let a = 0; a < od[0]!; a++)
    for (let b = 0; b < od[1]!; b++)
      for (let c = 0; c < od[2]!; c++) {
        const base = a * ps[0]! + b * ps[1]! + c * ps[2]!;
        for (let d = 0; d < od[3]!; d++) out[o++] = x[base + d * ps[3]!]!;
      }
  return out;
}

/** Graph layout → tfjs layout (conv kernels OIHW → HWIO; everything else is stored alike). */
export function toTfjsLayout(w: { spec: WeightSpec; dims: number[] }, data: Float32Array): Float32Array {
  return w.spec.transform === 'oihw_to_hwio' && w.dims.join() !== w.spec.shape.join() ? permute4(data, w.dims, [2, 3, 1, 0]) : data;
}

/** tfjs layout → graph layout. */
export function toGraphLayout(w: { spec: WeightSpec; dims: number[] }, data: Float32Array): Float32Array {
  return w.spec.transform === 'oihw_to_hwio' && w.dims.join() !== w.spec.shape.join() ? permute4(data, w.spec.shape, [3, 2, 0, 1]) : data;
}

export interface ForwardResult {
  logits: Float32Array;
  feature: Float32Array;
  /** Forward outputs the backward pass needs (released by `backward`). */
  saved: Record<string, Ort.Tensor>;
}

export class OnnxTrainingSession {
  private constructor(
    private ort: typeof Ort,
    private fwd: Ort.InferenceSession,
    private bwd: Ort.InferenceSession,
    readonly graph: TrainingGraph,
    readonly weights: TrainingWeight[],
    readonly batch: number,
    readonly threads: number,
    private logitsName: string,
    private featureName: string,
    private inputShape: [number, number, number],
    private momentum: Map<string, number>,
  ) {}

  /**
   * Builds the sessions for batches of `batch` images of the compiled model with the given weights
   * (tfjs layout). Throws CompileError when the graph has no training form on this engine, and
   * OnnxRuntimeError when onnxruntime is unavailable or rejects it.
   */
  static async create(compiled: CompiledModel, values: Map<string, Float32Array>, opts: { batch: number; threads: number }): Promise<OnnxTrainingSession> {
    const { ort, status } = await loadOnnxRuntime();
    if (!ort) throw new OnnxRuntimeError(`the onnxruntime engine is not available: ${status.message}`);
    const { logits, trainFeature } = compiled.metadata.roles;
    if (!logits || !trainFeature) throw new OnnxRuntimeError('training needs the logits and the metric-loss feature outputs');
    const base = lowerLayers(compiled, values, [...new Set([logits, trainFeature])]);
    const byInit = new Map<string, { layer: Layer; spec: WeightSpec }>();
    for (const layer of compiled.layers) for (const spec of weightSpecs(layer)) byInit.set(`${layer.name}.${spec.slot}`, { layer, spec });
    const weights: TrainingWeight[] = [];
    for (const i of base.graph.initializers) {
      const ws = byInit.get(i.name);
      if (!ws || i.dataType !== 'float') continue;
      weights.push({ key: `${ws.layer.name}/${ws.spec.slot}`, name: i.name, spec: ws.spec, layer: ws.layer, data: Float32Array.from(i.data), dims: i.dims, trainable: ws.spec.trainable && !ws.spec.buffer });
    }
    const byName = new Map(weights.map((w) => [w.name, w]));
    const [h, w, c] = compiled.metadata.inputShape as [number, number, number];
    const graph = buildTrainingGraph(base, {
      inputShape: [opts.batch, c, h, w],
      weights: new Set(weights.map((x) => x.name)),
      trainable: new Set(weights.filter((x) => x.trainable).map((x) => x.name)),
      batchStats: (n) => !byName.get(n.inputs[3] ?? '')?.layer.statsFrozen,
      lossInputs: [...new Set([logits, trainFeature])],
    });
    const momentum = new Map(graph.stats.map((s) => [s.node, byName.get(s.runningMean)!.layer.params.momentum as number]));
    const options: Ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: opts.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', ...(process.env.REID_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.REID_ORT_PROFILE } : {}) };
    let fwd: Ort.InferenceSession;
    let bwd: Ort.InferenceSession;
    try {
      fwd = await ort.InferenceSession.create(serializeOnnx(graph.forward), options);
      bwd = await ort.InferenceSession.create(serializeOnnx(graph.backward), options);
    } catch (e) {
      throw new OnnxRuntimeError(`onnxruntime rejected the training graph: ${(e as Error).message}`);
    }
    return new OnnxTrainingSession(ort, fwd, bwd, graph, weights, opts.batch, opts.threads, logits, trainFeature, [h, w, c], momentum);
  }

  private weightFeeds(names: readonly string[]): Record<string, Ort.Tensor> {
    const feeds: Record<string, Ort.Tensor> = {};
    const wanted = new Set(names);
    for (const w of this.weights) if (wanted.has(w.name)) feeds[w.name] = new this.ort.Tensor('float32', w.data, w.dims);
    return feeds;
  }

  /**
   * Training-mode forward pass of `batch` NHWC normalised images; updates the BatchNorm running
   * statistics (PyTorch updates them in the forward pass too).
   */
  async forward(nhwc: Float32Array): Promise<ForwardResult> {
    const [h, w, c] = this.inputShape;
    const n = this.batch;
    if (nhwc.length !== n * h * w * c) throw new OnnxRuntimeError(`expected ${n}×${h}×${w}×${c} image values, got ${nhwc.length}`);
    const x = new this.ort.Tensor('float32', nhwcToNchw(nhwc, n, h, w, c), [n, c, h, w]);
    const inputName = this.graph.forward.graph.inputs[0]!.name;
    const out = await this.fwd.run({ [inputName]: x, ...this.weightFeeds(this.fwd.inputNames) });
    const byName = new Map(this.weights.map((x) => [x.name, x]));
    for (const s of this.graph.stats) {
      const m = this.momentum.get(s.node)!;
      for (const [running, batch] of [
        [s.runningMean, s.mean],
        [s.runningVar, s.variance],
      ] as const) {
        const r = byName.get(running)!.data;
        const b = out[batch]!.data as Float32Array;
        for (let i = 0; i < r.length; i++) r[i] = (1 - m) * r[i]! + m * b[i]!;
      }
    }
    const saved: Record<string, Ort.Tensor> = {};
    for (const t of this.graph.saved) saved[t] = t === inputName ? x : out[t]!;
    return { logits: out[this.logitsName]!.data as Float32Array, feature: out[this.featureName]!.data as Float32Array, saved };
  }

  /** Gradients of the trainable weights (graph layout, by key) given ∂L/∂logits and ∂L/∂feature ([batch, D] each). */
  async backward(f: ForwardResult, gLogits: Float32Array, gFeature: Float32Array): Promise<Map<string, Float32Array>> {
    const seeds: Record<string, Ort.Tensor> = {};
    const add = (layer: string, g: Float32Array) => {
      const name = this.graph.seeds.get(layer)!;
      const shape = this.graph.shapes.get(layer)!;
      const prev = seeds[name];
      if (prev) {
        const sum = Float32Array.from(prev.data as Float32Array);
        for (let i = 0; i < sum.length; i++) sum[i]! += g[i]!;
        seeds[name] = new this.ort.Tensor('float32', sum, shape);
      } else seeds[name] = new this.ort.Tensor('float32', g, shape);
    };
    add(this.logitsName, gLogits);
    add(this.featureName, gFeature);
    const out = await this.bwd.run({ ...seeds, ...f.saved, ...this.weightFeeds(this.bwd.inputNames) });
    const grads = new Map<string, Float32Array>();
    for (const w of this.weights) {
      const g = this.graph.grads.get(w.name);
      if (g) grads.set(w.key, out[g]!.data as Float32Array);
    }
    for (const t of Object.values(f.saved)) t.dispose();
    return grads;
  }

  /** Every weight slot in tfjs layout (`${layer}/${slot}`). */
  weightValues(): Map<string, Float32Array> {
    return new Map(this.weights.map((w) => [w.key, toTfjsLayout(w, w.data)]));
  }

  /** Sets weight slots from tfjs-layout values (slots without a value keep theirs). */
  setWeightValues(values: Map<string, Float32Array>): void {
    for (const w of this.weights) {
      const v = values.get(w.key);
      if (!v) continue;
      if (v.length !== w.data.length) throw new OnnxRuntimeError(`${w.key}: expected ${w.data.length} values, got ${v.length}`);
      w.data.set(toGraphLayout(w, v));
    }
  }

  async release(): Promise<void> {
    await this.fwd.release();
    await this.bwd.release();
  }
}
