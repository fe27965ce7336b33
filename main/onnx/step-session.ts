/**
 * The one-program training step on onnxruntime (core/compile/step-program.ts): forward, loss, backward and
 * optimizer update in ONE session run per step, on the CPU EP or the WebGPU EP. Every piece of training
 * state is a graph input whose next value the run returns; this class keeps those tensors and feeds them to
 * the next run, so between steps nothing crosses but the batch (images + labels + a few scalars) in and the
 * loss terms and accuracy out. On WebGPU the state outputs stay on the device
 * (`preferredOutputLocation: 'gpu-buffer'`) and the next run reads them there; on the CPU they are the
 * session's own output buffers, reused as the next inputs (no copy).
 *
 * The state is engine-neutral at the edges: `weightValues` / `optimizerState` / `centers` give PyTorch layout
 * keyed by state_dict key — what the weight store holds and run checkpoints store — downloaded from the GPU
 * when asked (at checkpoints and evaluations only). The weights come in from the store the same way: its
 * PyTorch tensors are the initial state wherever the ONNX initializer is the PyTorch tensor (conv OIHW,
 * vectors); only Linear kernels ([in, out] in the graph) are transposed (graphToTorch / torchToGraph).
 */
import type * as Ort from 'onnxruntime-node';
import { buildStepProgram, CENTERS_INPUT, inFrozenModules, LABELS_INPUT, type CompiledModel, type OnnxInitializer, type OnnxModelJs, type OnnxWeightSource, type OutputRoles, type StepHead, type StepLossSpec, type StepOptimizerSpec, type StepProgram } from '../../core/index.js';
import { loadOnnxRuntime, nhwcToNchw, OnnxRuntimeError, ortSessionOptions, type OrtExecutionProvider } from './runtime.js';
import { nodePlacement, type Placement } from './placement.js';
import { serializeOnnx } from './serialize.js';
import { graphToTorch, torchToGraph, trainingSlots, type TrainingSlot } from './training.js';
import { webgpuError } from './webgpu-errors.js';

/** What one step gives back. */
export interface ProgramStepResult {
  total: number;
  acc: number;
  ce?: number;
  triplet?: number;
  center?: number;
  /**
   * Bytes of host memory handed to onnxruntime this step, measured as the byte lengths of the fed tensors
   * that live in host memory (images, labels, scalars, and any state not yet resident). On webgpu the EP
   * uploads each of them to the device; on the CPU EP onnxruntime reads them in place.
   */
  bytesIn: number;
  /**
   * Bytes onnxruntime returned in host memory this step, measured as the byte lengths of the outputs located
   * on the CPU: on webgpu the loss terms and accuracy, downloaded from the device (state outputs stay there as
   * GPU buffers); on the CPU EP every output, state included, which onnxruntime-node 1.30 copies from the
   * session's buffers into new JavaScript arrays (its binding has no way to hand them over without a copy).
   */
  bytesOut: number;
}

export interface StepOptimizerState {
  name: 'adam' | 'sgd';
  step: number;
  steps: Record<string, number>;
  slots: Record<string, Float32Array[]>;
}

type SlotInfo = TrainingSlot;

interface Program {
  program: StepProgram;
  session: Ort.InferenceSession;
}

/** The loss terms a step returns for a non-finite check (the caller names them). */
export class NonFiniteStepError extends Error {
  constructor(
    readonly term: string,
    readonly value: number,
  ) {
    super(`the ${term} loss became ${value}`);
  }
}

export interface StepSessionOptions {
  batch: number;
  threads: number;
  ep: OrtExecutionProvider;
  loss: StepLossSpec;
  optimizer: StepOptimizerSpec;
  centerLr?: number;
  /** Initial centers [K × D] (center loss). */
  centers?: Float32Array;
}

/** Bytes of the tensors that live in host memory (their data's byte length; GPU buffers count 0). */
function hostBytes(tensors: Ort.Tensor[]): number {
  let n = 0;
  for (const t of tensors) if (t.location === 'cpu' || t.location === 'cpu-pinned') n += (t.data as ArrayBufferView).byteLength;
  return n;
}

/**
 * The loss heads of a multi-head model for the step program: `roles.heads`, and the one-head roles (logits,
 * train feature) as one more head with factors 1 when set (core/compile/keras.ts OutputRoles; the tfjs
 * multi-head step, main/training/engine/multi-head.ts, sums the same list).
 */
export function stepHeads(roles: OutputRoles): StepHead[] {
  return [...(roles.logits || roles.trainFeature ? [{ ...(roles.logits ? { logits: roles.logits } : {}), ...(roles.trainFeature ? { feature: roles.trainFeature } : {}), ceFactor: 1, tripletFactor: 1 }] : []), ...(roles.heads ?? [])];
}

/** The `base.*` layers (fast-reid's `backbone`, MODEL.FREEZE_LAYERS) and the rest: the parameter groups, each with its own step count. */
const groupOf = (key: string) => (inFrozenModules(key) ? 'backbone' : 'head');

export class OnnxStepSession {
  private programs = new Map<string, Promise<Program>>();
  private state = new Map<string, Ort.Tensor>();
  private slots: SlotInfo[];
  private byName: Map<string, SlotInfo>;
  private groupSteps = new Map<string, number>();
  step = 0;

  private constructor(
    private ort: typeof Ort,
    private compiled: CompiledModel,
    /** The lowered forward graph, its weight initializers emptied (the values live in `state`). */
    private base: OnnxModelJs,
    private opts: StepSessionOptions,
    slots: SlotInfo[],
  ) {
    this.slots = slots;
    this.byName = new Map(slots.map((s) => [s.name, s]));
  }

  /**
   * A step session for the compiled model with the given weights: the weight store's `tfjsLookup()` (its
   * PyTorch tensors become the initial state as they are where the ONNX initializer is the PyTorch tensor; the
   * session never writes into them) or tfjs-layout values by `${layer}/${slot}`. Builds the program for
   * batches of `opts.batch`. Throws CompileError when the graph or loss has no ONNX program (an operator
   * without a gradient rule), OnnxRuntimeError / WebGpuError when the runtime refuses it.
   */
  static async create(compiled: CompiledModel, weights: OnnxWeightSource, opts: StepSessionOptions): Promise<OnnxStepSession> {
    const { ort, base, slots } = await trainingSlots(compiled, weights);
    const names = new Set(slots.map((x) => x.name));
    const weightless: OnnxModelJs = { ...base, graph: { ...base.graph, initializers: base.graph.initializers.map((i): OnnxInitializer => (names.has(i.name) && i.dataType === 'float' ? { ...i, data: new Float32Array(0) } : i)) } };
    const s = new OnnxStepSession(ort, compiled, weightless, opts, slots);
    for (const x of slots) s.state.set(x.name, new ort.Tensor('float32', x.init.data as Float32Array, x.dims));
    s.byName = new Map(slots.map((x) => [x.name, x]));
    if (opts.loss.centerWeight !== null) {
      if (!opts.centers) throw new OnnxRuntimeError('the center loss needs its initial centers');
      s.state.set(CENTERS_INPUT, new ort.Tensor('float32', Float32Array.from(opts.centers), [opts.loss.numClasses, opts.centers.length / opts.loss.numClasses]));
    }
    await s.programFor(opts.batch, false);
    return s;
  }

  get ep(): OrtExecutionProvider {
    return this.opts.ep;
  }

  private programFor(batch: number, frozen: boolean): Promise<Program> {
    const id = `${batch}:${frozen}`;
    let p = this.programs.get(id);
    if (!p) {
      p = this.build(batch, frozen);
      this.programs.set(id, p);
      p.catch(() => this.programs.delete(id));
    }
    return p;
  }

  private async build(batch: number, frozen: boolean): Promise<Program> {
    const { logits, trainFeature, evalFeature, heads } = this.compiled.metadata.roles;
    const base = this.base;
    const [h, w, c] = this.compiled.metadata.inputShape as [number, number, number];
    const statsFrozen = (n: { inputs: string[] }) => !!this.byName.get(n.inputs[3] ?? '')?.layer.statsFrozen;
    const inBackbone = (n: { inputs: string[] }) => groupOf(this.byName.get(n.inputs[1] ?? '')?.id ?? '') === 'backbone';
    const program = buildStepProgram(base, {
      inputShape: [batch, c, h, w],
      weights: new Set(this.slots.map((x) => x.name)),
      trainable: new Set(this.slots.filter((x) => x.trainable && !(frozen && groupOf(x.id) === 'backbone')).map((x) => x.name)),
      batchStats: (n) => !statsFrozen(n),
      // fast-reid's LayerFreeze: the frozen backbone's running statistics are kept (the tfjs engine restores them).
      updateStats: (n) => !(frozen && inBackbone(n)),
      momentum: (n) => (this.byName.get(n.inputs[3] ?? '')?.layer.params.momentum as number | undefined) ?? 0.1,
      // A multi-head model (fast-reid MGN) sums its heads' terms; a one-head model reads its logits and feature.
      ...(heads?.length ? { heads: stepHeads(this.compiled.metadata.roles) } : { logits: logits!, feature: trainFeature!, clsFeature: evalFeature }),
      loss: this.opts.loss,
      optimizer: this.opts.optimizer,
      group: (name) => groupOf(this.byName.get(name)!.id),
      ...(this.opts.centerLr !== undefined ? { centerLr: this.opts.centerLr } : {}),
      cpuForms: this.opts.ep === 'cpu',
    });
    for (const s of program.state)
      if (!this.state.has(s.input)) this.state.set(s.input, new this.ort.Tensor('float32', new Float32Array(s.shape.reduce((a, b) => a * b, 1)), s.shape));
    const location: Record<string, 'cpu' | 'gpu-buffer'> = {};
    if (this.opts.ep === 'webgpu') {
      for (const s of program.state) location[s.output] = 'gpu-buffer';
      for (const o of Object.values(program.outputs)) location[o] = 'cpu';
    }
    try {
      const session = await this.ort.InferenceSession.create(
        serializeOnnx(program.model),
        // No spin-waiting: the data-loader workers share the cores with the step (bench/backends.ts measures it).
        ortSessionOptions(this.opts.ep, { threads: this.opts.threads, allowSpinning: false, ...(process.env.REID_ORT_PROFILE ? { profileFilePrefix: process.env.REID_ORT_PROFILE } : {}), ...(this.opts.ep === 'webgpu' ? { preferredOutputLocation: location } : {}) }),
      );
      return { program, session };
    } catch (e) {
      if (this.opts.ep === 'webgpu') throw webgpuError(e, 'creating the WebGPU training step');
      throw new OnnxRuntimeError(`onnxruntime rejected the training step: ${(e as Error).message}`);
    }
  }

  /**
   * One optimisation step on NHWC normalised images ([batch, H, W, C]) with labels 0..K−1 and learning rate
   * `lr`. With `freezeBackbone` the `base.*` weights get no update and keep their running statistics
   * (fast-reid's LayerFreeze). A non-finite loss throws NonFiniteStepError and leaves the state as it was.
   */
  async run(nhwc: Float32Array, labels: Int32Array, lr: number, opts: { freezeBackbone?: boolean } = {}): Promise<ProgramStepResult> {
    const [h, w, c] = this.compiled.metadata.inputShape as [number, number, number];
    const n = nhwc.length / (h * w * c);
    if (!Number.isInteger(n) || n < 1 || n !== labels.length) throw new OnnxRuntimeError(`expected ${labels.length} images of ${h}×${w}×${c} values, got ${nhwc.length} values`);
    const { program, session } = await this.programFor(n, opts.freezeBackbone === true);
    const { feeds, nextSteps } = this.feeds(program, session, nhwcToNchw(nhwc, n, h, w, c), labels, lr);
    const bytesIn = hostBytes(Object.values(feeds));
    let out: Ort.InferenceSession.ReturnType;
    try {
      out = await session.run(feeds);
    } catch (e) {
      if (this.opts.ep === 'webgpu') throw webgpuError(e, `training on a batch of ${n}`);
      throw e;
    }
    const value = (k: string) => (program.outputs[k] ? (out[program.outputs[k]]!.data as Float32Array)[0]! : undefined);
    const result: ProgramStepResult = { total: value('total')!, acc: value('acc')!, bytesIn, bytesOut: hostBytes(Object.values(out)) };
    for (const k of ['ce', 'triplet', 'center'] as const) {
      const v = value(k);
      if (v !== undefined) result[k] = v;
    }
    const bad = (['total', 'ce', 'triplet', 'center'] as const).find((k) => result[k] !== undefined && !Number.isFinite(result[k]));
    if (bad) {
      for (const s of program.state) out[s.output]?.dispose();
      throw new NonFiniteStepError(bad, result[bad]!);
    }
    for (const s of program.state) {
      const old = this.state.get(s.input);
      this.state.set(s.input, out[s.output]!);
      if (old && old.location === 'gpu-buffer') old.dispose();
    }
    for (const [g, t] of nextSteps) this.groupSteps.set(g, t);
    this.step += 1;
    return result;
  }

  /** The run's inputs: the batch (NCHW), labels, scalars (lr, per-group optimizer scalars) and the resident state. */
  private feeds(program: StepProgram, session: Ort.InferenceSession, nchw: Float32Array, labels: Int32Array, lr: number): { feeds: Record<string, Ort.Tensor>; nextSteps: Map<string, number> } {
    const [h, w, c] = this.compiled.metadata.inputShape as [number, number, number];
    const n = labels.length;
    const o = this.opts.optimizer;
    const T = this.ort.Tensor;
    const scalar = (v: number) => new T('float32', new Float32Array([v]), []);
    const feeds: Record<string, Ort.Tensor> = {
      [program.model.graph.inputs[0]!.name]: new T('float32', nchw, [n, c, h, w]),
      [LABELS_INPUT]: new T('float32', Float32Array.from(labels), [n]),
      [program.scalars.lr]: scalar(lr),
    };
    const nextSteps = new Map<string, number>();
    for (const [g, s] of program.scalars.groups) {
      const t = (this.groupSteps.get(g) ?? 0) + 1;
      nextSteps.set(g, t);
      if (s.keep) feeds[s.keep] = scalar(t === 1 ? 0 : 1);
      if (s.c1) feeds[s.c1] = scalar(1 - (o.beta1 ?? 0.9) ** t);
      if (s.c2) feeds[s.c2] = scalar(1 - (o.beta2 ?? 0.999) ** t);
    }
    for (const name of session.inputNames) {
      if (feeds[name]) continue;
      const t = this.state.get(name);
      if (!t) throw new OnnxRuntimeError(`the training step needs ${name}, which the engine does not hold`);
      feeds[name] = t;
    }
    return { feeds, nextSteps };
  }

  /**
   * A trial step on `n` zero images that changes nothing: the program for batch `n` runs on the resident state
   * and its outputs are dropped (the state, step counts and optimizer moments stay as they were); the program
   * is released afterwards. Resolves when the step fits the device, rejects with the runtime's error (a
   * WebGpuError on webgpu) when it does not. Used to find the largest batch that fits after an out-of-memory.
   */
  async trial(n: number): Promise<void> {
    const id = `${n}:false`;
    const had = this.programs.has(id);
    try {
      const { program, session } = await this.programFor(n, false);
      const [h, w, c] = this.compiled.metadata.inputShape as [number, number, number];
      const labels = Int32Array.from({ length: n }, (_, i) => i % this.opts.loss.numClasses);
      const { feeds } = this.feeds(program, session, new Float32Array(n * h * w * c), labels, 0);
      let out: Ort.InferenceSession.ReturnType;
      try {
        out = await session.run(feeds);
      } catch (e) {
        if (this.opts.ep === 'webgpu') throw webgpuError(e, `a trial step on a batch of ${n}`);
        throw e;
      }
      for (const t of Object.values(out)) if (t.location === 'gpu-buffer') t.dispose();
    } finally {
      if (!had) await this.dropProgram(id);
    }
  }

  /** Releases the program for a batch (e.g. one that ran out of memory), so its buffers go back to the device. */
  async dropProgram(id: string): Promise<void> {
    const p = this.programs.get(id);
    this.programs.delete(id);
    await (await p?.catch(() => undefined))?.session.release();
  }

  /** Releases every program for batch `n` (frozen or not). */
  async dropBatch(n: number): Promise<void> {
    for (const f of [false, true]) await this.dropProgram(`${n}:${f}`);
  }

  /**
   * Where each node of this step's program runs (main/onnx/placement.ts): the program for a batch like
   * `nhwc` / `labels` runs once in a separate, profiled session on this engine's execution provider, with the
   * current state as its inputs; the resident state is not changed. For the tests that check that no node
   * falls back to the CPU on WebGPU.
   */
  async placement(nhwc: Float32Array, labels: Int32Array, lr: number): Promise<Placement> {
    const [h, w, c] = this.compiled.metadata.inputShape as [number, number, number];
    const n = labels.length;
    const { program } = await this.programFor(n, false);
    const T = this.ort.Tensor;
    const scalar = (v: number) => new T('float32', new Float32Array([v]), []);
    const host = await this.readMany(program.model.graph.inputs.map((i) => i.name).filter((name) => this.state.has(name)));
    return nodePlacement(serializeOnnx(program.model), this.opts.ep, () => {
      const feeds: Record<string, Ort.Tensor> = {
        [program.model.graph.inputs[0]!.name]: new T('float32', nhwcToNchw(nhwc, n, h, w, c), [n, c, h, w]),
        [LABELS_INPUT]: new T('float32', Float32Array.from(labels), [n]),
        [program.scalars.lr]: scalar(lr),
      };
      for (const s of program.scalars.groups.values()) for (const name of Object.values(s)) feeds[name] = scalar(1);
      let i = 0;
      for (const inp of program.model.graph.inputs) if (this.state.has(inp.name)) feeds[inp.name] = new T('float32', host[i++]!, this.state.get(inp.name)!.dims as number[]);
      return feeds;
    }, { threads: this.opts.threads });
  }

  private readers = new Map<string, Promise<Ort.InferenceSession>>();

  /**
   * Values of state tensors, copied to the host. A tensor on the GPU is read through a small session of
   * Identity nodes whose outputs go to the CPU: onnxruntime-node 1.30's `Tensor.getData()` of a WebGPU
   * buffer aborts the process (measured here, SwiftShader).
   */
  private async readMany(names: string[]): Promise<Float32Array[]> {
    const onGpu = names.filter((n) => this.state.get(n)?.location === 'gpu-buffer');
    const fetched = new Map<string, Float32Array>();
    if (onGpu.length) {
      const key = onGpu.join('\n');
      let reader = this.readers.get(key);
      if (!reader) {
        const model: OnnxModelJs = {
          ...this.base,
          graph: {
            name: 'readback',
            nodes: onGpu.map((n, i) => ({ name: `read${i}`, opType: 'Identity', inputs: [n], outputs: [`read${i}`], attributes: [] })),
            initializers: [],
            inputs: onGpu.map((n) => ({ name: n, shape: this.state.get(n)!.dims as number[] })),
            outputs: onGpu.map((n, i) => ({ name: `read${i}`, shape: this.state.get(n)!.dims as number[] })),
          },
          metadata: {},
        };
        reader = this.ort.InferenceSession.create(serializeOnnx(model), ortSessionOptions('webgpu', { threads: this.opts.threads, preferredOutputLocation: 'cpu' }));
        this.readers.set(key, reader);
      }
      const out = await (await reader).run(Object.fromEntries(onGpu.map((n) => [n, this.state.get(n)!])));
      onGpu.forEach((n, i) => fetched.set(n, Float32Array.from(out[`read${i}`]!.data as Float32Array)));
    }
    return names.map((n) => {
      const t = this.state.get(n);
      if (!t) throw new OnnxRuntimeError(`no state ${n}`);
      return fetched.get(n) ?? Float32Array.from(t.data as Float32Array);
    });
  }

  private async read(name: string): Promise<Float32Array> {
    return (await this.readMany([name]))[0]!;
  }

  /** Every weight in PyTorch layout by state_dict key (copies, downloaded from the device). */
  async weightValues(): Promise<Map<string, Float32Array>> {
    const values = await this.readMany(this.slots.map((s) => s.name));
    return new Map(this.slots.map((s, i) => [s.key, graphToTorch(s, values[i]!)]));
  }

  private put(name: string, data: Float32Array, dims: number[]): void {
    const old = this.state.get(name);
    this.state.set(name, new this.ort.Tensor('float32', data, dims));
    if (old?.location === 'gpu-buffer') old.dispose();
  }

  /**
   * Sets weights from PyTorch-layout values by state_dict key (weights without a value keep theirs). A
   * PyTorch-layout array becomes the input tensor as it is (onnxruntime reads inputs, never writes them).
   */
  setWeightValues(values: Map<string, Float32Array>): void {
    for (const s of this.slots) {
      const v = values.get(s.key);
      if (!v) continue;
      const size = s.dims.reduce((a, b) => a * b, 1);
      if (v.length !== size) throw new OnnxRuntimeError(`${s.key}: expected ${size} values, got ${v.length}`);
      this.put(s.name, torchToGraph(s, v), s.dims);
    }
  }

  /** Center-loss centers [K × D], downloaded from the device. */
  async centers(): Promise<Float32Array | undefined> {
    return this.state.has(CENTERS_INPUT) ? this.read(CENTERS_INPUT) : undefined;
  }

  setCenters(data: Float32Array): void {
    const t = this.state.get(CENTERS_INPUT);
    if (!t) return;
    this.put(CENTERS_INPUT, Float32Array.from(data), t.dims as number[]);
  }

  /** Optimizer state in the engines' format (OptimizerState: moments in PyTorch layout by state_dict key, per-key steps). */
  async optimizerState(): Promise<StepOptimizerState> {
    const slots: Record<string, Float32Array[]> = {};
    const steps: Record<string, number> = {};
    const count = this.opts.optimizer.name === 'adam' ? 2 : 1;
    for (const s of this.slots) {
      if (!s.trainable) continue;
      const t = this.groupSteps.get(groupOf(s.id)) ?? 0;
      if (t === 0) continue;
      steps[s.key] = t;
      const names = count === 2 ? [`${s.name}::m`, `${s.name}::v`] : [`${s.name}::buf`];
      if (names.every((x) => this.state.has(x))) slots[s.key] = await Promise.all(names.map(async (x) => graphToTorch(s, await this.read(x))));
    }
    return { name: this.opts.optimizer.name, step: this.step, steps, slots };
  }

  setOptimizerState(state: { name: 'adam' | 'sgd'; step: number; steps?: Record<string, number>; slots: Record<string, Float32Array[]> }): void {
    if (state.name !== this.opts.optimizer.name) throw new Error(`checkpoint optimizer is ${state.name}, the run uses ${this.opts.optimizer.name}`);
    this.step = state.step;
    this.groupSteps.clear();
    for (const s of this.slots) {
      const saved = state.slots[s.key];
      if (!saved || !s.trainable) continue;
      const g = groupOf(s.id);
      this.groupSteps.set(g, Math.max(this.groupSteps.get(g) ?? 0, state.steps?.[s.key] ?? state.step));
      const names = this.opts.optimizer.name === 'adam' ? [`${s.name}::m`, `${s.name}::v`] : [`${s.name}::buf`];
      saved.forEach((data, i) => {
        const size = s.dims.reduce((a, b) => a * b, 1);
        if (data.length !== size) throw new Error(`optimizer state for ${s.key} has ${data.length} values, the variable ${size}`);
        if (names[i]) this.put(names[i]!, torchToGraph(s, data), s.dims);
      });
    }
  }

  async release(): Promise<void> {
    // GPU tensors first: their buffers belong to the sessions' device (disposing them after the sessions crashes).
    for (const t of this.state.values()) if (t.location === 'gpu-buffer') t.dispose();
    this.state.clear();
    for (const p of this.programs.values()) await (await p.catch(() => undefined))?.session.release();
    for (const r of this.readers.values()) await (await r.catch(() => undefined))?.release();
    this.programs.clear();
    this.readers.clear();
  }
}
