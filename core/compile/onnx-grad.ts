import { lowerToOnnx, ONNX_OUTPUT_NAME, type OnnxInitializer, type OnnxModelJs, type OnnxNode, type OnnxValueInfo, type OnnxWeightSource } from './onnx.js';
import { CompileError, type CompiledModel } from './keras.js';
import { BN_TRAIN, Emitter, expandBatchNormTrain, normAxes, OP_RULES, type Shapes } from './grad/index.js';

/**
 * Reverse-mode differentiation over an ONNX node list (the operators core/compile/onnx.ts lowers a
 * compiled model to, and the loss operators of core/compile/step-program.ts), producing training graphs of
 * standard operators (opset 17). The rule of each operator (output shapes and input gradients) lives in
 * its own unit under grad/ops (grad/index.ts lists them); here are the traversal and the graph assembly:
 *  - forward: the training-mode forward pass. Every BatchNormalization that trains with batch statistics
 *    is expanded to standard operators (grad/ops/norm.ts) that also output the batch mean and the
 *    *unbiased* variance (what PyTorch folds into running_var, `torch/nn/modules/batchnorm.py`).
 *  - backward: the gradients of the trainable parameters given the gradients of the loss with respect to
 *    chosen forward tensors, by the chain rule. Gradients reaching a tensor from several consumers add up
 *    in Add chains (onnxruntime's WebGPU EP has no `Sum` kernel).
 * Only tensors that depend on a trainable parameter get gradients (a frozen backbone costs no backward
 * convolutions). Shapes are concrete (one batch size per graph). Pure: no I/O.
 */

export type { Shapes } from './grad/index.js';

/** A BatchNormalization that trains on batch statistics: what the forward pass reports for the running-stat update. */
export interface BatchStatOutputs {
  /** The BatchNormalization node's name. */
  node: string;
  /** Initializer names of the node's running statistics. */
  runningMean: string;
  runningVar: string;
  /** Forward outputs: batch mean [C] and unbiased batch variance [C]. */
  mean: string;
  variance: string;
}

export interface TrainingGraphOptions {
  /** Concrete input shape [N, C, H, W]. */
  inputShape: number[];
  /** Initializer names that become graph inputs (every weight slot: they change between steps). */
  weights: Set<string>;
  /** Of those, the trainable ones (gradients are produced for these). */
  trainable: Set<string>;
  /** Whether a BatchNormalization node trains with batch statistics (false: its statistics are frozen). */
  batchStats: (node: OnnxNode) => boolean;
  /** Forward tensors the loss reads (their gradients are the backward graph's seeds). */
  lossInputs: string[];
  /** The graph runs on onnxruntime's CPU EP: rules may emit the forms measured fastest there (`Emitter.cpuForms`). */
  cpuForms?: boolean;
}

export interface TrainingGraph {
  forward: OnnxModelJs;
  backward: OnnxModelJs;
  /** Backward-graph input holding ∂L/∂t for each loss input t. */
  seeds: Map<string, string>;
  /** Backward-graph output holding ∂L/∂w for each trainable weight w. */
  grads: Map<string, string>;
  /** Forward outputs the backward graph reads (the caller passes them on), besides the weights. */
  saved: string[];
  stats: BatchStatOutputs[];
  shapes: Shapes;
}

/**
 * Output shapes of the supported operators, in node order, from the given input / initializer shapes and
 * constant int64 tensors (Split sizes, Reshape shapes, reduction axes). Throws CompileError for an operator
 * with no training rule (the engine then trains on another one and says why).
 */
export function inferShapes(nodes: OnnxNode[], known: Shapes, consts: Map<string, number[]> = new Map()): Shapes {
  const shapes = new Map(known);
  const get = (t: string) => {
    const s = shapes.get(t);
    if (!s) throw new CompileError(`onnx-grad: no shape for tensor ${t}`);
    return s;
  };
  for (const n of nodes) {
    const rule = OP_RULES[n.opType];
    if (!rule) throw new CompileError(`onnx-grad: operator ${n.opType} (${n.name}) has no gradient rule`);
    const outs = rule.shape(n, get, consts);
    n.outputs.forEach((o, i) => o && outs[i] && shapes.set(o, outs[i]!));
  }
  return shapes;
}

/**
 * Tensors whose value depends on one of `sources` (outputs an operator's rule marks non-differentiable
 * excluded, and `detached` tensors: torch's `.detach()`).
 */
export function dependents(nodes: OnnxNode[], sources: Iterable<string>, detached: ReadonlySet<string> = new Set()): Set<string> {
  const dep = new Set(sources);
  for (const n of nodes)
    if (n.inputs.some((i) => dep.has(i)))
      n.outputs.forEach((o, i) => {
        if (!OP_RULES[n.opType]?.nonDifferentiable?.(i) && !detached.has(o)) dep.add(o);
      });
  return dep;
}

/** The training-mode forward node list of a lowered model, its shapes and what it reports for the running statistics. */
export interface PreparedForward {
  inputName: string;
  nodes: OnnxNode[];
  stats: BatchStatOutputs[];
  shapes: Shapes;
  /** Initializers that stay constants (not weights). */
  constInits: OnnxInitializer[];
  /** Constant int64 tensors by name. */
  consts: Map<string, number[]>;
}

/**
 * The forward node list with batch-statistics BatchNorms as the BatchNormalizationTrain pseudo-op, and the
 * shapes of every tensor; `extra` nodes (a loss reading forward tensors) are appended and shaped too.
 */
export function prepareForward(base: OnnxModelJs, opts: Pick<TrainingGraphOptions, 'inputShape' | 'weights' | 'batchStats'>, extra: { nodes: OnnxNode[]; inits: OnnxInitializer[]; inputs: OnnxValueInfo[] } = { nodes: [], inits: [], inputs: [] }): PreparedForward {
  const g = base.graph;
  const inputName = g.inputs[0]!.name;
  const constInits = g.initializers.filter((i) => !opts.weights.has(i.name));
  const consts = new Map([...constInits, ...extra.inits].filter((i) => i.dataType === 'int64').map((i) => [i.name, i.data as number[]]));
  const known: Shapes = new Map([[inputName, opts.inputShape]]);
  for (const i of [...g.initializers, ...extra.inits]) known.set(i.name, i.dims);
  for (const i of extra.inputs) known.set(i.name, i.shape as number[]);
  const stats: BatchStatOutputs[] = [];
  const nodes: OnnxNode[] = g.nodes.map((n) => {
    if (n.opType === 'BatchNormalization' && opts.batchStats(n)) {
      const [x, gamma, beta, rm, rv] = n.inputs as [string, string, string, string, string];
      const s = { node: n.name, runningMean: rm, runningVar: rv, mean: `${n.outputs[0]}::batch_mean`, variance: `${n.outputs[0]}::batch_var` };
      stats.push(s);
      return { ...n, opType: BN_TRAIN, inputs: [x, gamma, beta], outputs: [n.outputs[0]!, s.mean, s.variance] };
    }
    return n;
  });
  nodes.push(...extra.nodes);
  return { inputName, nodes, stats, shapes: inferShapes(nodes, known, consts), constInits, consts };
}

/**
 * Emits the backward pass into `e`: given `seeds` (forward tensor → the name holding ∂L/∂tensor), the
 * gradient of every tensor in `wanted` that the seeds reach (tensor → name). Throws CompileError for an
 * operator on the path without a gradient rule. `detached` tensors pass no gradient (torch's `.detach()`).
 */
export function differentiate(fwd: PreparedForward, trainable: Set<string>, seeds: Map<string, string>, wanted: Iterable<string>, e: Emitter, detached?: ReadonlySet<string>): Map<string, string> {
  const requires = dependents(fwd.nodes, trainable, detached);
  const contributions = new Map<string, string[]>();
  const add = (t: string, gname: string) => contributions.set(t, [...(contributions.get(t) ?? []), gname]);
  for (const [t, name] of seeds) add(t, name);
  const total = (t: string): string | undefined => {
    const list = contributions.get(t);
    if (!list?.length) return undefined;
    if (list.length === 1) return list[0];
    const s = e.addAll(list);
    contributions.set(t, [s]);
    return s;
  };
  for (let k = fwd.nodes.length - 1; k >= 0; k--) {
    const n = fwd.nodes[k]!;
    const dys = n.outputs.map((o) => total(o));
    if (dys.every((d) => !d)) continue;
    if (!n.inputs.some((i) => requires.has(i))) continue;
    const rule = OP_RULES[n.opType]?.grad;
    if (!rule) throw new CompileError(`onnx-grad: operator ${n.opType} (${n.name}) has no gradient rule`);
    const dins = rule(n, (i) => dys[i], (i) => !!n.inputs[i] && requires.has(n.inputs[i]!), e, fwd.shapes, fwd.consts);
    dins.forEach((d, i) => {
      if (d && requires.has(n.inputs[i]!)) add(n.inputs[i]!, d);
    });
  }
  const out = new Map<string, string>();
  for (const w of wanted) {
    const t = total(w);
    if (t) out.set(w, t);
  }
  return out;
}

/** The forward node list with the pseudo-ops expanded to standard operators. */
export function expandForward(fwd: PreparedForward, prefix: string): Emitter {
  const fe = new Emitter(prefix);
  for (const n of fwd.nodes) {
    if (n.opType === BN_TRAIN) expandBatchNormTrain(n, fwd.shapes, fe);
    else fe.nodes.push(n);
  }
  return fe;
}

/**
 * The forward and backward ONNX models of a lowered model (`base`, e.g. merged from `lowerToOnnx` for the
 * logits and the feature). The weights (`opts.weights`) become inputs of both graphs under their
 * initializer names; the image input keeps its name; see TrainingGraph for the rest.
 * Throws CompileError for operators without a gradient rule or shapes it cannot handle.
 */
export function buildTrainingGraph(base: OnnxModelJs, opts: TrainingGraphOptions): TrainingGraph {
  const g = base.graph;
  const fwd = prepareForward(base, opts);
  const { inputName, stats, shapes, constInits } = fwd;
  for (const t of opts.lossInputs) if (!shapes.has(t)) throw new CompileError(`onnx-grad: the loss input ${t} is not computed by the graph`);

  // Backward.
  const be = new Emitter('∇');
  be.cpuForms = opts.cpuForms === true;
  const seeds = new Map<string, string>();
  const seedInfos: OnnxValueInfo[] = [];
  for (const t of opts.lossInputs) {
    seeds.set(t, `∂${t}`);
    seedInfos.push({ name: `∂${t}`, shape: shapes.get(t)! });
  }
  const totals = differentiate(fwd, opts.trainable, seeds, opts.trainable, be);
  const grads = new Map<string, string>();
  const gradOutputs: OnnxValueInfo[] = [];
  for (const [w, t] of totals) {
    const name = `∂${w}`;
    be.nodes.push({ name: `${name}.out`, opType: 'Identity', inputs: [t], outputs: [name], attributes: [] });
    grads.set(w, name);
    gradOutputs.push({ name, shape: shapes.get(w)! });
  }

  const fe = expandForward(fwd, 'fwd/');
  // Saved tensors: forward values the backward nodes read (not weights, constants or the backward's own).
  const produced = new Set(be.nodes.flatMap((n) => n.outputs));
  const constNames = new Set([...constInits.map((i) => i.name), ...be.inits.map((i) => i.name)]);
  const seedNames = new Set(seeds.values());
  const saved = [...new Set(be.nodes.flatMap((n) => n.inputs))].filter((t) => t && !produced.has(t) && !constNames.has(t) && !opts.weights.has(t) && !seedNames.has(t));
  const savedForward = saved.filter((t) => t !== inputName);
  const savedShape = (t: string) => shapes.get(t) ?? normAxes(shapes.get(fwd.nodes.find((n) => t.startsWith(n.outputs[0]! + '::'))!.inputs[0]!)!).bshape;

  const weightInfos: OnnxValueInfo[] = g.initializers.filter((i) => opts.weights.has(i.name)).map((i) => ({ name: i.name, shape: i.dims }));
  const info = (t: string): OnnxValueInfo => ({ name: t, shape: savedShape(t) });
  const forwardOutputs = [...new Set([...opts.lossInputs, ...stats.flatMap((s) => [s.mean, s.variance]), ...savedForward])];
  const usedByForward = new Set(fe.nodes.flatMap((n) => n.inputs));
  const usedByBackward = new Set(be.nodes.flatMap((n) => n.inputs));
  const model = (name: string, nodes: OnnxNode[], inits: OnnxInitializer[], inputs: OnnxValueInfo[], outputs: OnnxValueInfo[]): OnnxModelJs => ({
    ...base,
    graph: { name, nodes, initializers: inits, inputs, outputs },
    metadata: {},
  });
  const forward = model(
    `${g.name}_train_forward`,
    fe.nodes,
    [...constInits, ...fe.inits].filter((i) => usedByForward.has(i.name)),
    [{ name: inputName, shape: opts.inputShape }, ...weightInfos.filter((w) => usedByForward.has(w.name))],
    forwardOutputs.map(info),
  );
  const backward = model(
    `${g.name}_train_backward`,
    be.nodes,
    [...constInits.filter((i) => usedByBackward.has(i.name)), ...be.inits],
    [...seedInfos, ...saved.map((t) => (t === inputName ? { name: t, shape: opts.inputShape } : info(t))), ...weightInfos.filter((w) => usedByBackward.has(w.name))],
    gradOutputs,
  );
  return { forward, backward, seeds, grads, saved, stats, shapes };
}

/**
 * The lowered ONNX graph computing several layers of the compiled model at once (training needs the
 * logits and the metric-loss feature): `lowerToOnnx` per output, merged by node and initializer name, each
 * output named after its layer. Input `input` [N, 3, H, W]. `weights`: tfjs-layout values by `${layer}/${slot}`
 * (a WeightValues map) or a source that also hands over PyTorch-layout tensors (OnnxWeightSource, the weight
 * store's), taken as the initializers where they are the ONNX ones. Throws CompileError like lowerToOnnx.
 */
export function lowerLayers(compiled: CompiledModel, weights: OnnxWeightSource, layerNames: string[]): OnnxModelJs {
  const [h, w] = compiled.metadata.inputShape as [number, number, number];
  const pre = { inputSize: [h, w] as [number, number], mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bilinear' };
  const nodes = new Map<string, OnnxNode>();
  const inits = new Map<string, OnnxInitializer>();
  let first: OnnxModelJs | undefined;
  const outputs: OnnxValueInfo[] = [];
  for (const name of layerNames) {
    const m = lowerToOnnx({ ...compiled, metadata: { ...compiled.metadata, roles: { ...compiled.metadata.roles, evalFeature: name } } }, weights, { preprocessing: pre });
    first ??= m;
    const rename = (t: string) => (t === ONNX_OUTPUT_NAME ? name : t);
    for (const n of m.graph.nodes) if (!nodes.has(n.name)) nodes.set(n.name, { ...n, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) });
    for (const i of m.graph.initializers) if (!inits.has(i.name)) inits.set(i.name, i);
    outputs.push({ name, shape: m.graph.outputs[0]!.shape });
  }
  if (!first) throw new CompileError('onnx-grad: no layer to lower');
  // Node order: a topological order of the union (each part is topological; re-sort by dependencies).
  const ready = new Set<string>([first.graph.inputs[0]!.name, ...inits.keys()]);
  const pending = [...nodes.values()];
  const ordered: OnnxNode[] = [];
  while (pending.length) {
    const k = pending.findIndex((n) => n.inputs.every((i) => !i || ready.has(i)));
    if (k < 0) throw new CompileError('onnx-grad: the lowered graph has a cycle');
    const [n] = pending.splice(k, 1);
    ordered.push(n!);
    n!.outputs.forEach((o) => ready.add(o));
  }
  return { ...first, graph: { ...first.graph, nodes: ordered, initializers: [...inits.values()], outputs } };
}
