/**
 * Training engines: what runs one optimisation step of a run. All have the same losses (ReidLoss on the
 * whole P×K batch), optimizer semantics (optimizer.ts) and state, handed over in PyTorch layout keyed by
 * state_dict key (core/compile/weight-specs.ts: weights with BatchNorm running statistics, optimizer moments
 * keyed alike, center-loss centers) — the layout of the weight store (main/weights/store.ts) and of the run
 * checkpoints (main/runs/store/checkpoint-keys.ts, which store them as they are) — so a checkpoint written by
 * one resumes on any other. The ONNX engines read their initial weights from the store in PyTorch / graph
 * layout (conv OIHW is both; only Linear kernels are transposed) and write their current ones back
 * (`syncWeights`); the tfjs model is built (and filled from the store) only when the tfjs engine trains, and
 * that engine converts to and from the tfjs layout at its own edge.
 *  - `onnxruntime`: the compiled model's ONNX training graph (main/onnx/training.ts) on onnxruntime-node's
 *    CPU engine with every core; the whole batch in one pass (BatchNorm sees every sample, as in PyTorch).
 *  - a tfjs backend (step.ts): micro-batches where the backend's memory needs them.
 * `auto` picks onnxruntime when it is installed and the graph has a training form on it, tfjs otherwise
 * (the reason is recorded).
 */
import * as tf from '@tensorflow/tfjs';
import { CompileError, inFrozenModules, LOSS_TERMS, ONNXRUNTIME_BACKEND, type Analysis, type CompiledModel } from '../../../core/index.js';
import { chooseEngine } from '../../onnx/policy.js';
import { OnnxRuntimeError, onnxRuntimeStatus, type OrtExecutionProvider } from '../../onnx/runtime.js';
import { NonFiniteStepError, OnnxStepSession } from '../../onnx/step-session.js';
import { graphToTorch, OnnxTrainingSession, torchToGraph } from '../../onnx/training.js';
import { WEBGPU_ENGINE } from '../../onnx/webgpu.js';
import { WebGpuError } from '../../onnx/webgpu-errors.js';
import { checkPKBatch } from '../losses/index.js';
import { BackendError, getWeightValues, setWeightsFromValues, trainableVariables, type ReidModel } from '../../tfjs/index.js';
import { slotSpecs, tfjsToTorchValues, toTfjs, toTorch, torchToTfjsValues, type WeightStore } from '../../weights/index.js';
import type { ReidLoss } from '../losses/index.js';
import { ArrayOptimizer } from './array-optimizer.js';
import { deviceMemory, imagesWithinBufferLimit, imagesWithinHostMemory, largestPK, planMicroBatch, type BufferLimits, type DeviceMemory } from './memory.js';
import { isOutOfMemory, oomDetail, StepOutOfMemoryError, type PKBatch } from './oom.js';
import { ModelOptimizer, type OptimizerConfig, type OptimizerState } from './optimizer.js';
import { computeGradients, lossGradients, NonFiniteLossError, type StepResult } from './step.js';
import { computeHeadGradients, isMultiHead } from './multi-head.js';

export interface TrainingEngine {
  /** `onnxruntime` or the tfjs backend. */
  name: string;
  /** onnxruntime's intra-op threads. */
  threads?: number;
  /** Where the step runs (absent: the tfjs backend's device). */
  device?: 'cpu' | 'gpu';
  /** The WebGPU adapter the webgpu engine trains on. */
  adapter?: string;
  /**
   * Bytes that crossed between JavaScript's host memory and the engine in the last step, measured on the
   * tensors handed over and returned (one-program engines; undefined before the first step). `what` says what
   * they are on this engine.
   */
  bytesPerStep?: { in: number; out: number; what: string };
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
  /**
   * Every weight of the model (parameters and BatchNorm running statistics) in PyTorch layout keyed by
   * state_dict key (`base.conv1.weight` [out, in, kh, kw], `classifier.weight` [out, in]), as the weight
   * store holds them and run checkpoints store them; later steps do not change the arrays handed out.
   */
  weightValues(): Promise<Map<string, Float32Array>>;
  /** Sets weights from PyTorch-layout values by state_dict key (the store takes them too); keys of no weight are ignored. */
  setWeightValues(values: Map<string, Float32Array>): Promise<void>;
  /** The optimizer's state: step counts and each trained parameter's moments, PyTorch layout by state_dict key. */
  optimizerState(): Promise<OptimizerState>;
  /** Restores `optimizerState`'s format (PyTorch layout by state_dict key). Throws Error for another optimizer or a wrong size. */
  setOptimizerState(state: OptimizerState): void;
  /** Writes the engine's current weights into the run's weight store (PyTorch layout, before evaluating them); centers into the loss. */
  syncWeights(): Promise<void>;
  dispose(): Promise<void>;
}

export interface EngineContext {
  /**
   * The run's weights (PyTorch layout): the fresh seeded initialisation (`freshWeightStore(seedInitializers(…))`,
   * value for value what tfjs-layers draws) or loaded weights. The ONNX engines start from it.
   */
  store: WeightStore;
  /** The tfjs model of `compiled`, filled from the store: built on the first call (only the tfjs engine calls it). */
  model(): Promise<ReidModel>;
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
  /** The batch as P identities × K images (the one-program engine names the P×K that fits after an out-of-memory). */
  pk?: PKBatch;
}

/** A multi-head model (core/compile/keras.ts `roles.heads`; fast-reid's MGN). */
const multiHead = (ctx: EngineContext) => !!ctx.compiled.metadata.roles.heads?.length;

/**
 * An optimizer state with its keys renamed by `key` (entries it maps to undefined are left out) and each
 * moment converted by `convert` (the tfjs engine's edge: `${layer}/${slot}` tfjs layout ↔ state_dict key
 * PyTorch layout).
 */
function optimizerStateAs(s: OptimizerState, key: (k: string) => string | undefined, convert: (k: string, v: Float32Array) => Float32Array): OptimizerState {
  const slots: OptimizerState['slots'] = {};
  for (const [k, parts] of Object.entries(s.slots)) {
    const to = key(k);
    if (to !== undefined) slots[to] = parts.map((p) => convert(k, p));
  }
  const steps = s.steps ? Object.fromEntries(Object.entries(s.steps).flatMap(([k, n]) => (key(k) !== undefined ? [[key(k)!, n]] : []))) : undefined;
  return { name: s.name, step: s.step, slots, ...(steps ? { steps } : {}) };
}

async function tfjsEngine(ctx: EngineContext, reason: string): Promise<TrainingEngine> {
  const { analysis, loss } = ctx;
  const reid = await ctx.model();
  const vars = trainableVariables(reid);
  // Stable per-weight keys (layer/slot) so optimizer state restores in another process.
  const keys = reid.model.trainableWeights.map((w) => w.originalName);
  const opt = new ModelOptimizer(ctx.optimizer, vars, keys);
  const mb = planMicroBatch(analysis, ctx.batch, ctx.memory, ctx.microBatchOverride);
  // fast-reid's `backbone` module = the app's `base.*` layers (MODEL.FREEZE_LAYERS [backbone]).
  const backboneVar = keys.map((k) => inFrozenModules(k));
  const backboneStats = reid.model.nonTrainableWeights.filter((w) => inFrozenModules(w.originalName)).map((w) => w.read() as tf.Variable);
  const specs = slotSpecs(analysis.layers);
  return {
    name: ctx.tfjsBackend,
    microBatch: mb.microBatch,
    microBatchReason: mb.reason,
    reason,
    async step(images, labels, lr, opts) {
      const frozen = opts?.freezeBackbone === true;
      const stats = frozen ? backboneStats.map((v) => tf.keep(v.clone())) : [];
      try {
        const r = await (isMultiHead(reid) ? computeHeadGradients : computeGradients)(reid, loss, vars, images, labels, mb.microBatch);
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
    // The tfjs edge: the model's variables are `${layer}/${slot}` in tfjs layout; the engine speaks PyTorch layout.
    weightValues: async () => tfjsToTorchValues(analysis.layers, await getWeightValues(reid, analysis.layers)),
    async setWeightValues(values) {
      const known = new Map([...values].filter(([k]) => specs.byKey.has(k)));
      ctx.store.setTorchValues(new Map([...known].map(([k, v]) => [specs.byKey.get(k)!.id, v])));
      setWeightsFromValues(reid, analysis.layers, torchToTfjsValues(analysis.layers, known));
    },
    optimizerState: async () => optimizerStateAs(await opt.getState(), (id) => specs.byId.get(id)?.key, (id, v) => {
      const w = specs.byId.get(id)!;
      return toTorch(v, w.shape, w.spec.transform);
    }),
    setOptimizerState: (s) => opt.setState(optimizerStateAs(s, (key) => specs.byKey.get(key)?.id, (key, v) => {
      const w = specs.byKey.get(key)!;
      return toTfjs(v, w.shape, w.spec.transform);
    })),
    syncWeights: async () => {
      ctx.store.setTfjsValues(await getWeightValues(reid, analysis.layers));
    },
    dispose: async () => opt.dispose(),
  };
}

/** Sets the store's tensors from PyTorch-layout values by state_dict key (keys of no weight of the graph are ignored). */
function setStore(store: WeightStore, values: Map<string, Float32Array>): void {
  for (const [k, v] of values) if (store.has(k)) store.setTorch(k, v);
}

async function onnxEngine(ctx: EngineContext, threads: number, reason: string): Promise<TrainingEngine> {
  const { analysis, loss, store } = ctx;
  const session = await OnnxTrainingSession.create(ctx.compiled, store.tfjsLookup(), { batch: ctx.batch, threads });
  const byKey = new Map(session.weights.map((w) => [w.key, w]));
  const opt = new ArrayOptimizer(
    ctx.optimizer,
    session.weights.filter((w) => w.trainable).map((w) => ({ key: w.key, data: w.data })),
    // Moments update in place: the saved state is a copy.
    { toSaved: (k, d) => graphToTorch(byKey.get(k)!, d.slice()), fromSaved: (k, d) => torchToGraph(byKey.get(k)!, d) },
  );
  // Weights outside the training graph (layers feeding neither the logits nor the feature) live in the store.
  const all = async () => new Map([...store.torchValues(), ...session.weightValues()]);
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
      setStore(store, values);
      session.setWeightValues(values);
    },
    optimizerState: async () => opt.getState(),
    setOptimizerState: (s) => opt.setState(s),
    syncWeights: async () => {
      setStore(store, session.weightValues());
    },
    dispose: () => session.release(),
  };
}

/** Why the two-session onnxruntime step does not train a multi-head model (fast-reid MGN); the one-program step does. */
function multiHeadWhy(ctx: EngineContext): string {
  return `the model has ${ctx.compiled.metadata.roles.heads!.length} loss heads (multi-head training, fast-reid MGN): the forward and backward sessions take one head; only the one-program step sums the heads' losses`;
}

/** Why the one-program step cannot train these settings, or undefined. */
function programUnsupported(ctx: EngineContext): string | undefined {
  if (ctx.microBatchOverride !== undefined) return `a micro-batch of ${ctx.microBatchOverride} (set by the user): the ONNX program takes the whole batch`;
  return undefined;
}

/**
 * The one-program engine (main/onnx/step-session.ts): forward, loss, backward and optimizer in one ONNX
 * session run per step on onnxruntime's CPU or WebGPU EP, the state resident between steps. Throws
 * CompileError (no gradient rule on the path), OnnxRuntimeError or WebGpuError.
 */
/**
 * The largest P′×K (P′ < P) that a trial step (OnnxStepSession.trial: runs, changes nothing) fits, starting at
 * min(P/2, the plan's bound) and halving; null when not even P′ = 1 fits.
 */
async function trialFit(session: OnnxStepSession, pk: PKBatch, planned: number): Promise<PKBatch | null> {
  for (let p = Math.min(pk.p >> 1, Math.floor(planned / pk.k)); p >= 1; p >>= 1) {
    try {
      await session.trial(p * pk.k);
      return { p, k: pk.k };
    } catch {
      // Does not fit either (or fails otherwise): a smaller one.
    }
  }
  return null;
}

async function programEngine(ctx: EngineContext, ep: OrtExecutionProvider, threads: number, reason: string, adapter?: { label: string; limits: BufferLimits }): Promise<TrainingEngine> {
  const { analysis, loss, compiled, store } = ctx;
  const unsupported = programUnsupported(ctx);
  if (unsupported) throw new CompileError(unsupported);
  const plan = loss.plan;
  // The classes of the logits (a multi-head model's heads all classify the same identities: its first head's).
  const logitsLayer = compiled.metadata.roles.logits ?? compiled.metadata.roles.heads?.find((h) => h.logits)?.logits;
  const numClasses = analysis.layers.find((l) => l.name === logitsLayer)!.shape[0]!;
  const session = await OnnxStepSession.create(compiled, store.tfjsLookup(), {
    batch: ctx.batch,
    threads,
    ep,
    loss: {
      numClasses,
      classifier: plan.classifier,
      ceEpsilon: plan.ceEpsilon,
      ceWeight: plan.weights.ce ?? 1,
      triplet: plan.triplet ? { ...plan.triplet, weight: plan.weights.triplet ?? 1 } : null,
      centerWeight: plan.centerWeight,
    },
    optimizer: ctx.optimizer,
    ...(loss.center ? { centerLr: loss.center.lr, centers: (await loss.center.centers.data()) as Float32Array } : {}),
  });
  // What crosses per step, measured on each step's tensors (ProgramStepResult.bytesIn / bytesOut).
  const what =
    ep === 'webgpu'
      ? 'host → GPU: the fed tensors in host memory (images, labels, scalars); GPU → host: the outputs read back (loss terms, accuracy); the state stays in GPU buffers'
      : 'host memory handed to onnxruntime CPU (images, labels, scalars, the state fed back) and outputs onnxruntime-node copies into JavaScript (loss terms and the next state)';
  const pk = ctx.pk ?? { p: ctx.batch, k: 1 };
  // The batch the device's limits allow: WebGPU's buffer limits (each tensor is one buffer), the host's memory.
  const limit = adapter ? imagesWithinBufferLimit(analysis, adapter.limits) : undefined;
  // onnxruntime's CPU EP allocates from the host's memory (whatever tfjs backend holds the model).
  const host = deviceMemory('cpu');
  const planned = limit ? limit.images : imagesWithinHostMemory(analysis, host);
  // Tiny inputs (SwiftShader's 64×32 tests) have tensors well under a MiB per image: KiB there, never "0 MiB".
  const mib = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(0)} MiB` : `${Math.ceil(b / 2 ** 10)} KiB`);
  const plannedHow = limit
    ? `planned from the adapter's buffer limit: the largest tensor is ${mib(limit.perImageBytes)} per image, a buffer at most ${mib(limit.limitBytes)}`
    : `planned from ${host.source}`;
  let centersLoaded = false;
  // Centers a resume restored into the loss after this engine was made go to the session before anything
  // reads the session's (else reading them back, e.g. a checkpoint before the first step, would overwrite them).
  const loadCenters = async () => {
    if (centersLoaded || !loss.center) return;
    session.setCenters((await loss.center.centers.data()) as Float32Array);
    centersLoaded = true;
  };
  const syncCenters = async () => {
    await loadCenters();
    const data = await session.centers();
    if (data && loss.center) loss.center.centers.assign(tf.tensor(data, loss.center.centers.shape));
  };
  const all = async () => {
    await syncCenters();
    return new Map([...store.torchValues(), ...(await session.weightValues())]);
  };
  const engine: TrainingEngine = {
    name: ep === 'webgpu' ? WEBGPU_ENGINE : ONNXRUNTIME_BACKEND,
    threads,
    device: ep === 'webgpu' ? 'gpu' : 'cpu',
    ...(adapter ? { adapter: adapter.label } : {}),
    microBatch: ctx.batch,
    microBatchReason: `the whole batch of ${ctx.batch} in one ONNX program (forward, loss, backward, optimizer) on ${ep === 'webgpu' ? 'WebGPU' : 'onnxruntime CPU'}; weights, statistics, moments${loss.center ? ', centers' : ''} ${ep === 'webgpu' ? 'stay on the GPU' : 'pass from one step to the next in host memory'} (the bytes crossing per step are measured and logged); at most ${planned} images per step (${plannedHow})`,
    reason,
    async step(images, labels, lr, opts) {
      if (plan.triplet) checkPKBatch(labels);
      const n = labels.length;
      // A batch whose largest tensor cannot be one WebGPU buffer does not run: refused with the batch that fits.
      if (limit && n > limit.images) throw new StepOutOfMemoryError(pk, largestPK(pk, limit.images), plannedHow, `the adapter ${adapter!.label}`);
      await loadCenters();
      try {
        const r = await session.run(images, labels, lr, opts);
        engine.bytesPerStep = { in: r.bytesIn, out: r.bytesOut, what };
        const result: StepResult = { loss: r.total, acc: r.acc };
        for (const id of plan.terms) if (r[id] !== undefined) result[id] = r[id];
        return result;
      } catch (e) {
        if (e instanceof NonFiniteStepError) throw new NonFiniteLossError(e.term === 'total' ? 'total' : LOSS_TERMS.find((t) => t.id === e.term)!.name, e.value);
        const msg = String((e as Error)?.message ?? e);
        const oom = isOutOfMemory(msg) || (e instanceof WebGpuError && e.code === 'E_OUT_OF_MEMORY');
        // Dawn reports a failed allocation asynchronously: the exception may name a derived failure. A failed
        // webgpu step counts as out of memory when a trial step at a smaller batch fits.
        if (!(oom || (e instanceof WebGpuError && e.code === 'E_WEBGPU_FAILED')) || pk.p * pk.k !== n) throw e;
        await session.dropBatch(n);
        const fits = await trialFit(session, pk, planned);
        if (!oom && !fits) throw e;
        throw new StepOutOfMemoryError(pk, fits, fits ? `a trial step at that batch ran on ${adapter?.label ?? 'onnxruntime CPU'}` : plannedHow, oomDetail(msg));
      }
    },
    weightValues: all,
    async setWeightValues(values) {
      setStore(store, values);
      session.setWeightValues(values);
    },
    optimizerState: () => session.optimizerState(),
    setOptimizerState: (s) => session.setOptimizerState(s),
    syncWeights: async () => {
      setStore(store, await session.weightValues());
      await syncCenters();
    },
    dispose: () => session.release(),
  };
  return engine;
}

/**
 * The engine for `choice` (`auto`, `webgpu`, `onnxruntime` or a tfjs backend name, already initialised as
 * `ctx.tfjsBackend`), by the one policy (main/onnx/policy.ts): webgpu (forced, or a hardware adapter that
 * passed the smoke test) → the CPU engine's one-program step → its two-session step → tfjs. A forced engine
 * that cannot run is a BackendError (a WebGpuError with its code for a forced webgpu); `auto` falls back with
 * the reason.
 */
export async function trainingEngine(ctx: EngineContext, choice: string): Promise<TrainingEngine> {
  if (choice !== 'auto' && choice !== ONNXRUNTIME_BACKEND && choice !== WEBGPU_ENGINE) return tfjsEngine(ctx, `forced with --backend ${choice}`);
  const decision = await chooseEngine(choice, 'train', { webgpuSupports: true });
  const status = await onnxRuntimeStatus();
  let programSkipped: string | undefined;
  if (decision.engine === WEBGPU_ENGINE) {
    try {
      const a = decision.webgpu?.adapter;
      return await programEngine(ctx, 'webgpu', status.threads, decision.reason, a ? { label: a.label, limits: a.limits } : undefined);
    } catch (e) {
      if (!(e instanceof CompileError || e instanceof OnnxRuntimeError || e instanceof WebGpuError)) throw e;
      if (decision.forced) throw e instanceof WebGpuError ? e : new BackendError(`backend webgpu cannot train this graph: ${e.message}`);
      programSkipped = `webgpu skipped (${e.message})`;
    }
  } else if (decision.engine === 'tfjs') return tfjsEngine(ctx, decision.reason);
  const forced = choice === ONNXRUNTIME_BACKEND;
  const webgpuWhy = programSkipped ?? (!forced ? decision.candidates.find((x) => x.engine === WEBGPU_ENGINE && !x.chosen)?.why : undefined);
  const skippedNote = webgpuWhy ? `; ${webgpuWhy.startsWith('webgpu skipped') ? webgpuWhy : `webgpu skipped (${webgpuWhy})`}` : '';
  if (!status.available) {
    if (forced) throw new BackendError(`backend onnxruntime is not available: ${status.message}`);
    return tfjsEngine(ctx, `onnxruntime skipped (${status.message})`);
  }
  const threads = status.threads;
  const cpuWhy = `${forced ? 'forced with --backend onnxruntime' : 'fastest available'}: onnxruntime-node ${status.version ?? ''} CPU, ${threads} thread(s)`;
  try {
    return await programEngine(ctx, 'cpu', threads, `${cpuWhy}, the step as one ONNX program${skippedNote}`);
  } catch (e) {
    if (!(e instanceof CompileError || e instanceof OnnxRuntimeError)) throw e;
    programSkipped = `one-program step skipped: ${e.message}`;
  }
  const unsupported = ctx.onnxUnsupported ?? (multiHead(ctx) ? multiHeadWhy(ctx) : undefined);
  if (unsupported) {
    if (forced) throw new BackendError(`backend onnxruntime cannot train with these settings yet: ${unsupported} (${programSkipped})`);
    return tfjsEngine(ctx, `onnxruntime skipped (${unsupported}; ${programSkipped})`);
  }
  try {
    return await onnxEngine(ctx, threads, `${cpuWhy}, forward and backward sessions (${programSkipped})${skippedNote}`);
  } catch (e) {
    if (!(e instanceof CompileError || e instanceof OnnxRuntimeError)) throw e;
    if (forced) throw new BackendError(`backend onnxruntime cannot train this graph: ${e.message}`);
    return tfjsEngine(ctx, `onnxruntime skipped (${e.message})`);
  }
}
