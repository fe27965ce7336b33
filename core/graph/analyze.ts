import { getKind, ShapeError, type Value } from '../registry/index.js';
import { resolveParams } from './params.js';
import type { Diagnostic, DiagnosticCode, Graph, GraphEdge, GraphNode, Shape } from './types.js';
import { Evaluator, nodeFlags, type Layer } from './evaluate.js';
import { resnetStem, stemMismatch } from './stem.js';

export interface NodeInfo {
  /** Output shape per output port. */
  outputs: Record<string, Shape>;
  params: number;
  trainable: number;
  macs: number;
  layers: number;
}

export interface Analysis {
  layers: Layer[];
  nodes: Record<string, NodeInfo>;
  /** Input values per node and port (used by expand-in-place). */
  nodeInputs: Record<string, Record<string, Value>>;
  /** Layer names of the model outputs. */
  outputs: { logits?: string; trainFeature?: string; evalFeature?: string; heads?: LossHead[] };
  inputShape?: Shape;
  diagnostics: Diagnostic[];
  totals: { params: number; trainable: number; macs: number };
  featureDim?: number;
  /** [H, W, C] of the backbone output: the input of the global pooling that feeds the eval feature. */
  featureMap?: Shape;
  ok: boolean;
}

/**
 * An extra loss head (a `head_loss` node, registry/kinds/head_loss.ts): the layers of its logits and its
 * metric-loss feature and the factors the total multiplies its terms by (fast-reid MGN: 0.125 and 0.2).
 */
export interface LossHead {
  logits?: string;
  feature?: string;
  ceFactor: number;
  tripletFactor: number;
  /** The head_loss node. */
  nodeId: string;
}

/** Topological order of the nodes (Kahn); nodes on a cycle are returned separately. */
export function topoOrder(graph: Graph): { order: GraphNode[]; cyclic: GraphNode[] } {
  const ids = new Map(graph.nodes.map((n) => [n.id, n]));
  const indeg = new Map<string, number>(graph.nodes.map((n) => [n.id, 0]));
  const out = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (!ids.has(e.source) || !ids.has(e.target)) continue;
    indeg.set(e.target, indeg.get(e.target)! + 1);
    out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  }
  const queue = graph.nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  const order: GraphNode[] = [];
  while (queue.length) {
    const id = queue.shift()!;
    order.push(ids.get(id)!);
    for (const t of out.get(id) ?? []) {
      indeg.set(t, indeg.get(t)! - 1);
      if (indeg.get(t) === 0) queue.push(t);
    }
  }
  const done = new Set(order.map((n) => n.id));
  return { order, cyclic: graph.nodes.filter((n) => !done.has(n.id)) };
}

/**
 * The ids among `nodes` (those topoOrder could not order) that lie on a cycle: reachable from themselves along
 * `edges` between such nodes. The rest only follow one. O(n·e) over the unordered nodes alone.
 */
function nodesOnCycles(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): Set<string> {
  const ids = new Set(nodes.map((n) => n.id));
  const out = new Map<string, string[]>();
  for (const e of edges) if (ids.has(e.source) && ids.has(e.target)) out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  const on = new Set<string>();
  for (const start of ids) {
    const seen = new Set<string>();
    const stack = [...(out.get(start) ?? [])];
    while (stack.length) {
      const id = stack.pop()!;
      if (id === start) {
        on.add(start);
        break;
      }
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(out.get(id) ?? []));
    }
  }
  return on;
}

/**
 * Validates the graph, expands composites into primitive layers, infers every shape and counts
 * parameters. Never throws on a malformed graph: every problem is a diagnostic with a stable code.
 */
export function analyze(graph: Graph): Analysis {
  const diagnostics: Diagnostic[] = [];
  const diag = (code: DiagnosticCode, message: string, nodeId?: string) =>
    diagnostics.push({ code, severity: code.startsWith('W_') ? 'warning' : 'error', message, ...(nodeId ? { nodeId } : {}) });
  const nodesById = new Map(graph.nodes.map((n) => [n.id, n]));
  const failed = new Set<string>();

  for (const n of graph.nodes) {
    const kind = getKind(n.kind);
    if (!kind) {
      diag('E_UNKNOWN_KIND', `unknown block kind "${n.kind}"`, n.id);
      failed.add(n.id);
      continue;
    }
    const { problems } = resolveParams(kind.params, n.params);
    if (problems.length) {
      diag('E_INVALID_PARAM', problems.join('; '), n.id);
      failed.add(n.id);
    }
  }

  // Incoming edge per (node, port); bad edges are reported on their target.
  const incoming = new Map<string, Map<string, { source: string; port: string }>>();
  const validEdges = graph.edges.filter((e) => {
    const s = nodesById.get(e.source);
    const t = nodesById.get(e.target);
    const sk = s && getKind(s.kind);
    const tk = t && getKind(t.kind);
    if (!s || !t) {
      const missing = [...(s ? [] : [e.source]), ...(t ? [] : [e.target])].map((id) => `"${id}"`).join(' and ');
      diag('E_BAD_EDGE', `connection ${e.id} refers to ${missing.includes(' and ') ? 'nodes' : 'a node'} ${missing}, which ${missing.includes(' and ') ? 'do' : 'does'} not exist`, t?.id ?? s?.id);
      return false;
    }
    if (!sk || !tk) return false;
    if (!sk.outputs.some((p) => p.name === e.sourcePort) || !tk.inputs.some((p) => p.name === e.targetPort)) {
      diag('E_BAD_EDGE', `connection from ${s.name}.${e.sourcePort} to ${t.name}.${e.targetPort}: no such port`, t.id);
      return false;
    }
    const ports = incoming.get(e.target) ?? new Map();
    if (ports.has(e.targetPort)) {
      diag('E_PORT_MULTIPLE', `input "${e.targetPort}" of ${t.name} has more than one connection`, t.id);
      failed.add(t.id);
      return false;
    }
    ports.set(e.targetPort, { source: e.source, port: e.sourcePort });
    incoming.set(e.target, ports);
    return true;
  });

  const { order, cyclic } = topoOrder({ nodes: graph.nodes, edges: validEdges });
  const onCycle = nodesOnCycles(cyclic, validEdges);
  const firstOnCycle = cyclic.find((n) => onCycle.has(n.id));
  for (const n of cyclic) {
    // Nodes after a cycle cannot be ordered either (the code stays E_CYCLE), but they are not on it: say which one blocks them.
    diag('E_CYCLE', onCycle.has(n.id) || !firstOnCycle ? `${n.name} is part of a cycle` : `${n.name} follows a cycle (through ${firstOnCycle.name})`, n.id);
    failed.add(n.id);
  }

  const ev = new Evaluator();
  const values = new Map<string, Record<string, Value>>();
  const nodes: Record<string, NodeInfo> = {};
  const nodeInputs: Record<string, Record<string, Value>> = {};
  const outputNodes: GraphNode[] = [];
  let inputShape: Shape | undefined;

  for (const n of order) {
    if (failed.has(n.id)) continue;
    const kind = getKind(n.kind)!;
    const inputs: Record<string, Value> = {};
    let blocked = false;
    for (const port of kind.inputs) {
      const src = incoming.get(n.id)?.get(port.name);
      if (!src) {
        if (!port.optional) {
          diag('E_UNCONNECTED_INPUT', `input "${port.label ?? port.name}" of ${n.name} is not connected`, n.id);
          blocked = true;
        }
        continue;
      }
      const v = values.get(src.source)?.[src.port];
      if (!v) blocked = true; // upstream already reported
      else inputs[port.name] = v;
    }
    if (blocked) continue;
    nodeInputs[n.id] = inputs;
    if (kind.primitive === 'output') {
      outputNodes.push(n);
      continue;
    }
    const before = ev.layers.length;
    ev.nodeId = n.id;
    try {
      const outs = ev.add(n.kind, n.name, n.params, inputs, nodeFlags(n));
      values.set(n.id, outs);
      const mine = ev.layers.slice(before);
      nodes[n.id] = {
        outputs: Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, v.shape])),
        params: mine.reduce((s, l) => s + l.paramCount, 0),
        trainable: mine.reduce((s, l) => s + l.trainableCount, 0),
        macs: mine.reduce((s, l) => s + l.macs, 0),
        layers: mine.length,
      };
      if (getKind(n.kind)?.imageInput) inputShape = outs.out!.shape;
    } catch (err) {
      if (!(err instanceof ShapeError)) throw err;
      for (const l of ev.layers.splice(before)) ev.names.delete(l.name);
      diag(err.code, `${n.name}: ${err.message}`, n.id);
    }
  }

  if (!graph.nodes.some((n) => getKind(n.kind)?.imageInput)) diag('E_NO_INPUT', 'the model has no image input');
  const outputs: Analysis['outputs'] = {};
  const outNodes = graph.nodes.filter((n) => n.kind === 'output');
  if (outNodes.length === 0) diag('E_NO_OUTPUT', 'the model has no outputs node: connect the eval feature to a "Model outputs" node');
  else if (outNodes.length > 1) for (const n of outNodes.slice(1)) diag('E_MULTIPLE_OUTPUTS', 'only one "Model outputs" node is allowed', n.id);
  const outNode = outputNodes.find((n) => n.kind === 'output');
  const headNodes = outputNodes.filter((n) => n.kind === 'head_loss');
  if (headNodes.length) {
    outputs.heads = headNodes.map((n) => {
      const ins = nodeInputs[n.id]!;
      const p = resolveParams(getKind('head_loss')!.params, n.params).params;
      const h: LossHead = { ceFactor: p.ce_factor as number, tripletFactor: p.triplet_factor as number, nodeId: n.id };
      if (ins.logits) h.logits = ins.logits.layer;
      if (ins.train_feature) h.feature = ins.train_feature.layer;
      return h;
    });
  }
  if (outNode) {
    const ins = nodeInputs[outNode.id]!;
    outputs.logits = ins.logits?.layer;
    outputs.trainFeature = ins.train_feature?.layer;
    outputs.evalFeature = ins.eval_feature?.layer;
    const headsTrain = outputs.heads?.some((h) => h.logits) && outputs.heads.some((h) => h.feature);
    if ((!ins.logits || !ins.train_feature) && !headsTrain)
      diag('W_NO_TRAIN_OUTPUT', 'training needs both logits and the metric-loss feature connected to the outputs', outNode.id);
  }

  // Nodes that do not reach the outputs (the model outputs or a head loss).
  if (outNode) {
    const reach = new Set([outNode.id, ...headNodes.map((n) => n.id)]);
    const stack = [...reach];
    while (stack.length) {
      const id = stack.pop()!;
      for (const [, src] of incoming.get(id) ?? []) if (!reach.has(src.source)) reach.add(src.source), stack.push(src.source);
    }
    for (const n of graph.nodes) if (!reach.has(n.id) && !failed.has(n.id)) diag('W_UNUSED_NODE', `${n.name} does not feed the model outputs`, n.id);
  }

  // A stem no framework pairs with these stages (core/graph/stem.ts): said the moment the graph stops matching.
  const stem = stemMismatch(ev.layers);
  if (stem) diag('W_STEM_MISMATCH', stem, resnetStem(ev.layers)!.nodeId);

  const layerByName = new Map(ev.layers.map((l) => [l.name, l]));
  let featureMap: Shape | undefined;
  if (outputs.evalFeature) {
    // Walk back from the eval feature to the first global pooling layer, inputs first to last (as
    // core/compile/actmap.ts featureMapLayer): a multi-branch feature (fast-reid MGN's concat of b1, b2, b3,
    // b21, …) reports its first, global branch's whole map, not the last head's torch.chunk stripe.
    const stack = [outputs.evalFeature];
    const seen = new Set<string>();
    while (stack.length && !featureMap) {
      const l = layerByName.get(stack.pop()!);
      if (!l || seen.has(l.name)) continue;
      seen.add(l.name);
      if (getKind(l.kind)?.globalPool) featureMap = l.inputShapes[0];
      else stack.push(...[...l.inputs].reverse());
    }
  }
  const evalShape = outputs.evalFeature ? layerByName.get(outputs.evalFeature)?.shape : undefined;
  const totals = {
    params: ev.layers.reduce((s, l) => s + l.paramCount, 0),
    trainable: ev.layers.reduce((s, l) => s + l.trainableCount, 0),
    macs: ev.layers.reduce((s, l) => s + l.macs, 0),
  };
  return {
    layers: ev.layers,
    nodes,
    nodeInputs,
    outputs,
    inputShape,
    diagnostics,
    totals,
    featureDim: evalShape?.length === 1 ? evalShape[0] : undefined,
    featureMap,
    ok: !diagnostics.some((d) => d.severity === 'error'),
  };
}
