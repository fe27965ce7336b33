/**
 * Training engines: what runs one optimisation step of a run. Both have the same losses (ReidLoss on the
 * whole P×K batch), optimizer semantics (optimizer.ts) and checkpoint contents (weights in tfjs layout
 * keyed `${layer}/${slot}`, optimizer moments keyed alike, center-loss centers), so a checkpoint written
 * by one resumes on the other.
 *  - `onnxruntime`: the compiled model's ONNX training graph (main/onnx/training.ts) on onnxruntime-node's
 *    CPU engine with every core; the whole batch in one pass (BatchNorm sees every sample, as in PyTorch).
 *  - a tfjs backend (step.ts): micro-batches where the backend's memory needs them.
 * `auto` picks onnxruntime when it is installed and the graph has a training form on it, tfjs otherwise
 * (the reason is recorded).
 */
import * as tf from '@tensorflow/tfjs';
import { CompileError, ONNXRUNTIME_BACKEND, type Analysis, type CompiledModel } from '../../../core/index.js';
import { OnnxRuntimeError, onnxRuntimeStatus } from '../../onnx/runtime.js';
import { OnnxTrainingSession, toGraphLayout, toTfjsLayout } from '../../onnx/training.js';
import { BackendError, getWeightValues, setWeightsFromValues, trainableVariables, type ReidModel } from '../../tfjs/index.js';
import type { ReidLoss } from '../losses/index.js';
import { ArrayOptimizer } from './array-optimizer.js';
import { planMicroBatch, type DeviceMemory } from './memory.js';
import { ModelOptimizer, type OptimizerConfig, type OptimizerState } from './optimizer.js';
import { computeGradients, lossGradients, type StepResult } from './step.js';

export interface TrainingEngine {
  /** `onnxruntime` or the tfjs backend. */
  name: string;
  /** onnxruntime's intra-op threads. */
  threads?: number;
  /** Images per forward pass and why (the whole batch on onnxruntime). */
  microBatch: number;
  microBatchReason: string;
  /** Why this engine runs (and why onnxruntime did not, when it did not). */
  reason: string;
  /**
   * One step on a batch of NHWC normalised images: gradients, optimizer update, center-loss update. With
   * `freezeBackbone` the `base.*` weights get no update and their BatchNorm running statistics are kept
   * (fast-reid's LayerFreeze hook, fastreid/engine/hooks.py, while iteration < SOLVER.FREEZE_ITERS).
   */
  step(images: Float32Array, labels: Int32Array, lr: number, opts?: { freezeBackbone?: boolean }): Promise<StepResult>;
  /** Every weight slot (tfjs layout), as checkpoints store them. */
  weightValues(): Promise<Map<string, Float32Array>>;
  setWeightValues(values: Map<string, Float32Array>): Promise<void>;
  optimizerState(): Promise<OptimizerState>;
  setOptimizerState(state: OptimizerState): void;
  /** Writes the engine's current weights into the tfjs model (before evaluating it). */
  syncModel(): Promise<void>;
  dispose(): Promise<void>;
}

export interface EngineContext {
  reid: ReidModel;
  compiled: CompiledModel;
  analysis: Analysis;
  loss: ReidLoss;
  optimizer: OptimizerConfig;
  batch: number;
  /** The tfjs backend in use. */
  tfjsBackend: string;
  /** The tfjs backend's device memory: the micro-batch plan's budget. */
  memory: DeviceMemory;
  microBatchOverride?: number;
  /** Settings the onnxruntime engine does not implement yet (then `auto` trains on tfjs and says why). */
  onnxUnsupported?: string;
}

function tfjsEngine(ctx: EngineContext, reason: string): TrainingEngine {
  const { reid, analysis, loss } = ctx;
  const vars = trainableVariables(reid);
  // Stable per-weight keys (layer/slot) so optimizer state restores in another process.
  const keys = reid.model.trainableWeights.map((w) => w.originalName);
  const opt = new ModelOptimizer(ctx.optimizer, vars, keys);
  const mb = planMicroBatch(analysis, ctx.batch, ctx.memory, ctx.microBatchOverride);
  // fast-reid's `backbone` module = the app's `base.*` layers (MODEL.FREEZE_LAYERS [backbone]).
  const backboneVar = keys.map((k) => k.startsWith('base.'));
  const backboneStats = reid.model.nonTrainableWeights.filter((w) => w.originalName.startsWith('base.')).map((w) => w.read() as tf.Variable);
  return {
    name: ctx.tfjsBackend,
    microBatch: mb.microBatch,
    microBatchReason: mb.reason,
    reason,
    async step(images, labels, lr, opts) {
      const frozen = opts?.freezeBackbone === true;
      const stats = frozen ? backboneStats.map((v) => tf.keep(v.clone())) : [];
      try {
        const r = await computeGradients(reid, loss, vars, images, labels, mb.microBatch);
        opt.apply(Object.fromEntries(vars.map((v, i) => [v.name, frozen && backboneVar[i] ? undefined : r.grads[v.name]]).filter(([, g]) => g)), lr);
        // Porting note: fast-reid also switches the frozen backbone to eval mode; here its BatchNorms still
        // normalise with batch statistics, but their running statistics are restored (not updated).
        if (frozen) backboneStats.forEach((v, i) => v.assign(stats[i]!));
        if (loss.center) loss.center.stepFromTotalGradient(r.grads[loss.center.centers.name]!);
        Object.values(r.grads).forEach((g) => g.dispose());
        return r.result;
      } finally {
        stats.forEach((t) => t.dispose());
      }
    },
    weightValues: () => getWeightValues(reid, analysis.layers),
    async setWeightValues(values) {
      setWeightsFromValues(reid, analysis.layers, values);
    },
    optimizerState: () => opt.getState(),
    setOptimizerState: (s) => opt.setState(s),
    syncModel: async () => undefined,
    dispose: async () => opt.dispose(),
  };
}

async function onnxEngine(ctx: EngineContext, threads: number, reason: string): Promise<TrainingEngine> {
  const { reid, analysis, loss } = ctx;
  const session = await OnnxTrainingSession.create(ctx.compiled, await getWeightValues(reid, analysis.layers), { batch: ctx.batch, threads });
  const byKey = new Map(session.weights.map((w) => [w.key, w]));
  const opt = new ArrayOptimizer(
    ctx.optimizer,
    session.weights.filter((w) => w.trainable).map((w) => ({ key: w.key, data: w.data })),
    { toSaved: (k, d) => toTfjsLayout(byKey.get(k)!, d), fromSaved: (k, d) => toGraphLayout(byKey.get(k)!, d) },
  );
  // Slots outside the training graph (layers feeding neither the logits nor the feature) live in the tfjs model.
  const all = async () => new Map([...(await getWeightValues(reid, analysis.layers)), ...session.weightValues()]);
  return {
    name: ONNXRUNTIME_BACKEND,
    threads,
    microBatch: ctx.batch,
    microBatchReason: `the whole batch of ${ctx.batch} in one pass on onnxruntime (BatchNorm statistics over the whole batch, as in PyTorch)`,
    reason,
    async step(images, labels, lr) {
      const f = await session.forward(images);
      const n = f.batch;
      const logits = tf.variable(tf.tensor2d(f.logits, [n, f.logits.length / n]), true);
      const feats = tf.variable(tf.tensor2d(f.feature, [n, f.feature.length / n]), true);
      try {
        const lg = await lossGradients(loss, logits, feats, labels);
        const [gl, gf] = [(await lg.gLogits.data()) as Float32Array, (await lg.gFeats.data()) as Float32Array];
        tf.dispose([lg.gLogits, lg.gFeats]);
        const grads = await session.backward(f, gl, gf);
        opt.apply(grads, lr);
        if (loss.center) loss.center.stepFromTotalGradient(lg.lossGrads[loss.center.centers.name]!);
        Object.values(lg.lossGrads).forEach((g) => g.dispose());
        return lg.result;
      } catch (e) {
        for (const t of Object.values(f.saved)) t.dispose();
        throw e;
      } finally {
        logits.dispose();
        feats.dispose();
      }
    },
    weightValues: all,
    async setWeightValues(values) {
      setWeightsFromValues(reid, analysis.layers, values);
      session.setWeightValues(values);
    },
    optimizerState: async () => opt.getState(),
    setOptimizerState: (s) => opt.setState(s),
    syncModel: async () => {
      setWeightsFromValues(reid, analysis.layers, session.weightValues());
    },
    dispose: () => session.release(),
  };
}

/**
 * The engine for `choice` (`auto`, `onnxruntime` or a tfjs backend name, already initialised as
 * `ctx.tfjsBackend`). A forced onnxruntime that cannot run is a BackendError; `auto` falls back to tfjs
 * with the reason.
 */
export async function trainingEngine(ctx: EngineContext, choice: string): Promise<TrainingEngine> {
  if (choice !== 'auto' && choice !== ONNXRUNTIME_BACKEND) return tfjsEngine(ctx, `forced with --backend ${choice}`);
  const forced = choice === ONNXRUNTIME_BACKEND;
  const status = await onnxRuntimeStatus();
  if (!status.available) {
    if (forced) throw new BackendError(`backend onnxruntime is not available: ${status.message}`);
    return tfjsEngine(ctx, `onnxruntime skipped (${status.message})`);
  }
  if (ctx.onnxUnsupported) {
    if (forced) throw new BackendError(`backend onnxruntime cannot train with these settings yet: ${ctx.onnxUnsupported}`);
    return tfjsEngine(ctx, `onnxruntime skipped (${ctx.onnxUnsupported})`);
  }
  const threads = status.threads;
  try {
    return await onnxEngine(ctx, threads, `${forced ? 'forced with --backend onnxruntime' : 'fastest available'}: onnxruntime-node ${status.version ?? ''} CPU, ${threads} thread(s)`);
  } catch (e) {
    if (!(e instanceof CompileError || e instanceof OnnxRuntimeError)) throw e;
    if (forced) throw new BackendError(`backend onnxruntime cannot train this graph: ${e.message}`);
    return tfjsEngine(ctx, `onnxruntime skipped (${e.message})`);
  }
}
