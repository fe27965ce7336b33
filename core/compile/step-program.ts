/**
 * The whole training step as ONE ONNX program (issue #20): a batch of images and labels in; the loss terms
 * and the ID accuracy out; and in between the training-mode forward pass, the loss (step-loss.ts), its
 * backward pass (onnx-grad.ts, one rule per operator) and the optimizer update. Every piece of training
 * state — weights, BatchNorm running statistics, optimizer moments, center-loss centers — is a graph input
 * whose next value is a graph output (`state`), so the engine feeds each step's outputs to the next step and
 * the state never leaves the device (onnxruntime's WebGPU EP: `preferredOutputLocation: 'gpu-buffer'`).
 *
 * Update semantics are the app's optimizers' (main/training/engine/optimizer.ts, torch.optim):
 *  - SGD: d = g + wd·θ; buf ← μ·buf + d (buf = d on a parameter's first step: the `keep` scalar is 0);
 *    θ ← θ − lr·buf;
 *  - Adam (coupled L2): m ← β₁m + (1−β₁)d; v ← β₂v + (1−β₂)d²; θ ← θ − lr·(m/c₁)/(sqrt(v/c₂) + ε), with the
 *    bias corrections c = 1 − βᵗ fed per parameter group (a group = parameters with the same step count, as
 *    torch's per-parameter `state['step']`: fast-reid's frozen backbone starts counting when it trains);
 *  - frozen parameters: not trainable, no update, no gradient computed;
 *  - running statistics: r ← (1 − momentum)·r + momentum·batch (unbiased variance), PyTorch's `_BatchNorm`;
 *  - centers (RSB center loss): c ← c − (center_lr / β)·∂L/∂c, their own SGD.
 * Porting note: the app has no bias learning-rate factor (SOLVER.BIAS_LR_FACTOR is reported as not modelled).
 * Pure: no I/O.
 */
import { CompileError } from './keras.js';
import { differentiate, expandForward, prepareForward, type BatchStatOutputs } from './onnx-grad.js';
import { Emitter } from './grad/index.js';
import type { OnnxInitializer, OnnxModelJs, OnnxNode, OnnxValueInfo } from './onnx.js';
import { CENTERS_INPUT, emitLoss, type LossGraph, type LossHeadTensors, type StepLossSpec } from './step-loss.js';

export { CENTERS_INPUT, LABELS_INPUT, type StepClassifierSpec, type StepLossSpec } from './step-loss.js';

export interface StepOptimizerSpec {
  name: 'sgd' | 'adam';
  weightDecay: number;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface StepProgramOptions {
  /** Concrete input shape [N, C, H, W]. */
  inputShape: number[];
  /** Initializer names that are weight slots (graph inputs). */
  weights: Set<string>;
  /** Of those, the ones this program updates. */
  trainable: Set<string>;
  /** Whether a BatchNormalization normalises with batch statistics. */
  batchStats: (node: OnnxNode) => boolean;
  /** Whether a batch-statistics BatchNormalization updates its running statistics (false: fast-reid's frozen backbone keeps them). */
  updateStats: (node: OnnxNode) => boolean;
  /** BatchNorm momentum of a node (PyTorch's, default 0.1). */
  momentum: (node: OnnxNode) => number;
  /** The forward tensors the loss reads (a one-head model; ignored when `heads` is given). */
  logits?: string;
  feature?: string;
  /** The eval (neck) feature a margin classification layer must read (fast-reid EmbeddingHead). */
  clsFeature?: string;
  /**
   * The loss heads of a multi-head model (core/compile/keras.ts `roles.heads`, fast-reid MGN): each head's
   * logits and metric feature with its term factors; the loss sums them (step-loss.ts emitLoss).
   */
  heads?: StepHead[];
  loss: StepLossSpec;
  optimizer: StepOptimizerSpec;
  /** The parameter group of a trainable weight (per-group step counts). */
  group: (weight: string) => string;
  /** Center-loss learning rate (RSB SOLVER.CENTER_LR). */
  centerLr?: number;
  /** The program runs on onnxruntime's CPU EP: rules may emit the forms measured fastest there (`Emitter.cpuForms`). */
  cpuForms?: boolean;
}

/** One piece of resident state: graph input `input`, its value after the step in output `output`. */
export interface StepState {
  input: string;
  output: string;
  shape: number[];
  kind: 'weight' | 'running' | 'moment' | 'center';
  /** The weight a running statistic or moment belongs to (the initializer name), or the centers. */
  of: string;
  /** Moment index (SGD: 0 = momentum buffer; Adam: 0 = m, 1 = v). */
  slot?: number;
}

export interface StepProgram {
  model: OnnxModelJs;
  /** Scalar inputs: `lr`, and per group `keep` (SGD with momentum) or `c1`, `c2` (Adam). */
  scalars: { lr: string; groups: Map<string, { keep?: string; c1?: string; c2?: string }> };
  state: StepState[];
  /** Scalar outputs: `total`, `acc` and each term (`ce`, `triplet`, `center`). */
  outputs: Record<string, string>;
  stats: BatchStatOutputs[];
}

export const LR_INPUT = 'opt.lr';

/** One loss head of a multi-head model (fast-reid MGN: CE × 0.125 on each head, triplet × 0.2 on five). */
export interface StepHead {
  logits?: string;
  feature?: string;
  ceFactor: number;
  tripletFactor: number;
}

/**
 * The input and weight of the bias-free Gemm that computes `logits`, for a margin classification layer
 * (fast-reid EmbeddingHead: the layer reads the neck feature, `clsFeature` when given). Undefined for
 * 'Linear'. Throws CompileError when the logits come from another operator or another feature.
 */
function classifierOf(nodes: OnnxNode[], opts: StepProgramOptions, logits: string, clsFeature: string | undefined): { feat: string; kernel: string } | undefined {
  const c = opts.loss.classifier;
  if (!c || c.layer === 'Linear' || opts.loss.ceEpsilon === null) return undefined;
  const gemm = nodes.find((x) => x.outputs.includes(logits));
  const transB = gemm?.attributes.find((a) => a.name === 'transB')?.value ?? 0;
  if (!gemm || gemm.opType !== 'Gemm' || transB !== 0 || gemm.inputs.length !== 2)
    throw new CompileError(`step program: the ${c.layer} classification layer needs a bias-free linear classifier (fast-reid's EmbeddingHead weight); ${logits} is not one`);
  if (clsFeature !== undefined && gemm.inputs[0] !== clsFeature)
    throw new CompileError(`step program: the ${c.layer} classification layer takes the eval feature as input, as fast-reid's EmbeddingHead does; this graph's classifier reads another feature`);
  return { feat: gemm.inputs[0]!, kernel: gemm.inputs[1]! };
}

/**
 * Scalars (a number, or a rank-0 tensor's name) as tensors of `rank` ones ([1, 1, 1, 1] for a conv weight),
 * each made once per emitter. Multiplying a tensor whose last dimensions are 1 (the 1×1 convolutions'
 * [C_out, C_in, 1, 1] weights) by a rank-0 scalar takes onnxruntime 1.30's CPU broadcasting path one element
 * at a time: [2048, 1024, 1, 1] · [] costs ≈ 35 ms of CPU against ≈ 1 ms for [2048, 1024, 1, 1] · [1, 1, 1, 1]
 * (measured here, 1 thread); with equal ranks the scalar broadcasts over one contiguous span.
 */
const rankedCache = new WeakMap<Emitter, Map<string, string>>();
function ranked(e: Emitter, rank: number): (v: number | string) => string {
  let cache = rankedCache.get(e);
  if (!cache) rankedCache.set(e, (cache = new Map()));
  const ones = Array<number>(rank).fill(1);
  return (v) => {
    const key = `${rank}:${typeof v}:${v}`;
    let name = cache.get(key);
    if (!name) {
      name = rank === 0 ? (typeof v === 'number' ? e.f32(v) : v) : typeof v === 'number' ? e.tensor(`r${rank}`, ones, new Float32Array([v])) : e.reshape(v, ones);
      cache.set(key, name);
    }
    return name;
  };
}

/**
 * The loss heads' forward tensors: `opts.heads`, or the one head of `opts.logits` / `opts.feature` (factors
 * 1). Throws CompileError when the graph does not compute one of them.
 */
function lossHeads(nodes: OnnxNode[], opts: StepProgramOptions, shapes: Map<string, number[]>): LossHeadTensors[] {
  const multi = opts.heads !== undefined;
  const heads: StepHead[] = opts.heads ?? [{ ...(opts.logits !== undefined ? { logits: opts.logits } : {}), ...(opts.feature !== undefined ? { feature: opts.feature } : {}), ceFactor: 1, tripletFactor: 1 }];
  return heads.map((h) => {
    for (const t of [h.logits, h.feature]) if (t !== undefined && !shapes.get(t)) throw new CompileError(`step program: the loss input ${t} is not computed by the graph`);
    const out: LossHeadTensors = { ceFactor: h.ceFactor, tripletFactor: h.tripletFactor };
    if (h.logits !== undefined) {
      out.logits = h.logits;
      // A multi-head model's classifiers each read their own head's neck (fast-reid MGN's EmbeddingHeads).
      const cls = classifierOf(nodes, opts, h.logits, multi ? undefined : opts.clsFeature);
      if (cls) out.cls = cls;
    }
    if (h.feature !== undefined) {
      out.feat = h.feature;
      out.featDim = shapes.get(h.feature)![1]!;
    }
    return out;
  });
}

/**
 * The step program of a lowered model (`base`, e.g. `lowerLayers` for the logits and the feature). Throws
 * CompileError when an operator on the path has no gradient rule or a shape is unsupported.
 */
export function buildStepProgram(base: OnnxModelJs, opts: StepProgramOptions): StepProgram {
  const n = opts.inputShape[0]!;
  const le = new Emitter('loss/');
  const g = base.graph;
  const known = prepareForward(base, opts);
  if (opts.loss.centerWeight !== null && opts.loss.centerWeight > 0 && opts.centerLr === undefined) throw new CompileError('step program: the center loss needs its learning rate');
  let loss: LossGraph;
  try {
    loss = emitLoss(le, opts.loss, n, lossHeads(g.nodes, opts, known.shapes));
  } catch (e) {
    if (e instanceof CompileError) throw e;
    throw new CompileError(`step program: ${(e as Error).message}`);
  }
  const fwd = prepareForward(base, opts, { nodes: le.nodes, inits: le.inits, inputs: loss.inputs });
  const centers = opts.loss.centerWeight !== null ? [CENTERS_INPUT] : [];
  const trainable = new Set([...opts.trainable, ...centers]);

  const be = new Emitter('∇');
  be.cpuForms = opts.cpuForms === true;
  const grads = differentiate(fwd, trainable, new Map([[loss.outputs.total!, be.f32(1)]]), trainable, be, loss.detached);

  // Optimizer.
  const oe = new Emitter('opt/');
  const o = opts.optimizer;
  const scalarInputs: OnnxValueInfo[] = [{ name: LR_INPUT, shape: [] }];
  const groups = new Map<string, { keep?: string; c1?: string; c2?: string }>();
  const groupScalars = (w: string) => {
    const id = opts.group(w);
    let s = groups.get(id);
    if (!s) {
      s = o.name === 'adam' ? { c1: `opt.${id}.c1`, c2: `opt.${id}.c2` } : (o.momentum ?? 0) > 0 ? { keep: `opt.${id}.keep` } : {};
      for (const v of Object.values(s)) scalarInputs.push({ name: v, shape: [] });
      groups.set(id, s);
    }
    return s;
  };
  const state: StepState[] = [];
  const shapeOf = (t: string) => fwd.shapes.get(t)!;
  const keepMomenta = new Map<string, string>();
  /** keep · momentum of a group (0 at its first step: PyTorch's buffer starts as the first gradient), as a rank-matched tensor. */
  const keepMomentum = (keep: string) => {
    if (!keepMomenta.has(keep)) keepMomenta.set(keep, oe.one('Mul', [keep, oe.f32(o.momentum!)]));
    return keepMomenta.get(keep)!;
  };
  for (const [w, gw] of grads) {
    if (w === CENTERS_INPUT) continue;
    const s = groupScalars(w);
    const shape = shapeOf(w);
    const k = ranked(oe, shape.length);
    const d = o.weightDecay ? oe.one('Add', [gw, oe.one('Mul', [w, k(o.weightDecay)])]) : gw;
    let step: string;
    if (o.name === 'adam') {
      const [b1, b2, eps] = [o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.eps ?? 1e-8];
      const [m, v] = [`${w}::m`, `${w}::v`];
      const m2 = oe.named(`${m}::next`, 'Add', [oe.one('Mul', [m, k(b1)]), oe.one('Mul', [d, k(1 - b1)])]);
      const v2 = oe.named(`${v}::next`, 'Add', [oe.one('Mul', [v, k(b2)]), oe.one('Mul', [oe.one('Mul', [d, d]), k(1 - b2)])]);
      step = oe.one('Div', [oe.one('Div', [m2, k(s.c1!)]), oe.one('Add', [oe.one('Sqrt', [oe.one('Div', [v2, k(s.c2!)])]), k(eps)])]);
      state.push({ input: m, output: m2, shape, kind: 'moment', of: w, slot: 0 }, { input: v, output: v2, shape, kind: 'moment', of: w, slot: 1 });
    } else if ((o.momentum ?? 0) > 0) {
      const buf = `${w}::buf`;
      step = oe.named(`${buf}::next`, 'Add', [d, oe.one('Mul', [buf, k(keepMomentum(s.keep!))])]);
      state.push({ input: buf, output: step, shape, kind: 'moment', of: w, slot: 0 });
    } else step = d;
    state.push({ input: w, output: oe.named(`${w}::next`, 'Sub', [w, oe.one('Mul', [step, k(LR_INPUT)])]), shape, kind: 'weight', of: w });
  }
  const gc = grads.get(CENTERS_INPUT);
  if (gc && opts.loss.centerWeight! > 0) {
    const next = oe.named(`${CENTERS_INPUT}::next`, 'Sub', [CENTERS_INPUT, oe.one('Mul', [gc, oe.f32(opts.centerLr! / opts.loss.centerWeight!)])]);
    state.push({ input: CENTERS_INPUT, output: next, shape: shapeOf(CENTERS_INPUT), kind: 'center', of: CENTERS_INPUT });
  }
  const byNode = new Map(g.nodes.map((x) => [x.name, x]));
  const stats = fwd.stats.filter((s) => opts.updateStats(byNode.get(s.node)!));
  for (const s of stats) {
    const m = opts.momentum(byNode.get(s.node)!);
    for (const [running, batch] of [
      [s.runningMean, s.mean],
      [s.runningVar, s.variance],
    ] as const) {
      const next = oe.named(`${running}::next`, 'Add', [oe.one('Mul', [running, oe.f32(1 - m)]), oe.one('Mul', [batch, oe.f32(m)])]);
      state.push({ input: running, output: next, shape: shapeOf(running), kind: 'running', of: running });
    }
  }

  const outputs: Record<string, string> = {};
  for (const [k, t] of Object.entries(loss.outputs)) outputs[k] = oe.named(`step.${k}`, 'Identity', [t]);

  const fe = expandForward(fwd, 'fwd/');
  const nodes = [...fe.nodes, ...be.nodes, ...oe.nodes];
  const used = new Set(nodes.flatMap((x) => x.inputs));
  const inits: OnnxInitializer[] = [...fwd.constInits, ...le.inits, ...fe.inits, ...be.inits, ...oe.inits].filter((i) => used.has(i.name));
  const weightInputs: OnnxValueInfo[] = g.initializers.filter((i) => opts.weights.has(i.name) && used.has(i.name)).map((i) => ({ name: i.name, shape: i.dims }));
  const stateInputs = state.filter((s) => s.kind === 'moment').map((s) => ({ name: s.input, shape: s.shape }));
  const model: OnnxModelJs = {
    ...base,
    graph: {
      name: `${g.name}_train_step`,
      nodes,
      initializers: inits,
      inputs: [{ name: fwd.inputName, shape: opts.inputShape }, ...loss.inputs, ...scalarInputs, ...weightInputs, ...stateInputs],
      outputs: [...Object.values(outputs).map((name) => ({ name, shape: [] })), ...state.map((s) => ({ name: s.output, shape: s.shape }))],
    },
    metadata: {},
  };
  return { model, scalars: { lr: LR_INPUT, groups }, state, outputs, stats };
}
