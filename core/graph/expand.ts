import { getKind, KINDS, ShapeError, type Value } from '../registry/index.js';
import { analyze } from './analyze.js';
import { Evaluator, joinName, nodeFlags } from './evaluate.js';
import { resolveParams } from './params.js';
import type { Graph, GraphEdge, GraphNode, GroupInfo, Params } from './types.js';
import { NORM_OPTIONS } from '../registry/index.js';

/** Composites that expand in place on the canvas (single input `in`, single output `out`): registry `expandable`. */
export const EXPANDABLE_KINDS: readonly string[] = KINDS.filter((k) => k.expandable).map((k) => k.id);

export class ExpandError extends Error {}

interface Child {
  local: string;
  kind: string;
  params: Params;
  inputs: Record<string, Value>;
}

function edgeOf(source: string, sourcePort: string, target: string, targetPort: string): GraphEdge {
  return { id: `${source}:${sourcePort}->${target}:${targetPort}`, source, sourcePort, target, targetPort };
}

/** Runs a composite's build one level deep, recording its children and where each value comes from. */
function recordChildren(node: GraphNode, inputs: Record<string, Value>): { children: Child[]; outs: Record<string, Value> } {
  const kind = getKind(node.kind);
  if (!kind || kind.primitive !== false) throw new ExpandError(`${node.name} is not a composite block`);
  const { params, problems } = resolveParams(kind.params, node.params);
  if (problems.length) throw new ExpandError(`${node.name}: ${problems.join('; ')}`);
  const ev = new Evaluator(node.id);
  const flags = nodeFlags(node);
  const children: Child[] = [];
  const tagged = Object.fromEntries(Object.entries(inputs).map(([p, v]) => [p, { ...v, origin: { input: p } }]));
  const ctx = {
    prefix: node.name,
    add(k: string, local: string, p: Params, ins: Record<string, Value>) {
      const idx = children.length;
      const childKind = getKind(k)!;
      children.push({ local, kind: k, params: resolveParams(childKind.params, p).params, inputs: ins });
      const outs = ev.add(k, joinName(node.name, local), p, ins, flags);
      return Object.fromEntries(Object.entries(outs).map(([port, v]) => [port, { ...v, origin: { child: idx, port } }]));
    },
  };
  try {
    return { children, outs: kind.build(ctx, params, tagged) };
  } catch (e) {
    if (e instanceof ShapeError) throw new ExpandError(`cannot expand ${node.name}: ${e.message}`);
    throw e;
  }
}

function groupOf(node: GraphNode): GroupInfo {
  const g: GroupInfo = { id: node.id, kind: node.kind, name: node.name, params: { ...node.params }, position: { ...node.position } };
  if (node.frozen) g.frozen = true;
  if (node.statsFrozen !== undefined) g.statsFrozen = node.statsFrozen;
  if (node.group) g.group = node.group;
  return g;
}

/**
 * Replaces a composite node by its children (one level), rewiring edges. Layer names are unchanged, so
 * the flattened model is identical before and after. Returns the new graph.
 */
export function expandInGraph(graph: Graph, id: string): Graph {
  const node = graph.nodes.find((n) => n.id === id);
  if (!node) throw new ExpandError(`no node ${id}`);
  if (!(EXPANDABLE_KINDS as readonly string[]).includes(node.kind)) throw new ExpandError(`${node.name} (${node.kind}) does not expand`);
  const inputs = analyze(graph).nodeInputs[id];
  if (!inputs) throw new ExpandError(`cannot expand ${node.name}: its input is not connected or has errors`);
  const { children, outs } = recordChildren(node, inputs);
  const taken = new Set(graph.nodes.map((n) => n.id));
  const childId = (c: Child) => {
    let cid = `${id}/${c.local.replace(/^(\.\.\/)+/, '')}`;
    while (taken.has(cid)) cid += "'";
    taken.add(cid);
    return cid;
  };
  const ids = children.map(childId);
  const inEdge = (port: string) => graph.edges.find((e) => e.target === id && e.targetPort === port);
  const sourceOf = (v: Value): { node: string; port: string } | undefined => {
    const o = v.origin!;
    if ('child' in o) return { node: ids[o.child]!, port: o.port };
    const e = inEdge(o.input);
    return e && { node: e.source, port: e.sourcePort };
  };
  const group = groupOf(node);
  const newNodes: GraphNode[] = children.map((c, i) => {
    const n: GraphNode = {
      id: ids[i]!,
      kind: c.kind,
      name: joinName(node.name, c.local),
      params: c.params,
      position: { x: node.position.x + i * 220, y: node.position.y + (i % 2) * 40 },
      group,
    };
    if (node.frozen) n.frozen = true;
    if (node.statsFrozen !== undefined) n.statsFrozen = node.statsFrozen;
    return n;
  });
  const newEdges: GraphEdge[] = [];
  children.forEach((c, i) => {
    for (const [port, v] of Object.entries(c.inputs)) {
      const s = sourceOf(v);
      if (s) newEdges.push(edgeOf(s.node, s.port, ids[i]!, port));
    }
  });
  for (const e of graph.edges.filter((e) => e.source === id)) {
    const v = outs[e.sourcePort];
    const s = v && sourceOf(v);
    if (s) newEdges.push(edgeOf(s.node, s.port, e.target, e.targetPort));
  }
  return {
    nodes: graph.nodes.flatMap((n) => (n.id === id ? newNodes : [n])),
    edges: [...graph.edges.filter((e) => e.source !== id && e.target !== id), ...newEdges],
  };
}

const sig = (n: GraphNode) =>
  JSON.stringify([n.id, n.kind, n.name, Object.entries(n.params).sort(), !!n.frozen, n.statsFrozen ?? null]);
const edgeSig = (e: GraphEdge) => `${e.source}:${e.sourcePort}->${e.target}:${e.targetPort}`;

/**
 * Collapses the children of an expanded composite back into one node. Refuses (ExpandError with the
 * reason) when the children were edited in a way the composite cannot hold, e.g. mixed norms in a stage.
 */
export function collapseInGraph(graph: Graph, groupId: string): Graph {
  const members = graph.nodes.filter((n) => n.group?.id === groupId);
  if (!members.length) throw new ExpandError(`no expanded group ${groupId}`);
  const g = members[0]!.group!;
  const inside = new Set(members.map((n) => n.id));
  const eIn = graph.edges.filter((e) => !inside.has(e.source) && inside.has(e.target));
  const eOut = graph.edges.filter((e) => inside.has(e.source) && !inside.has(e.target));
  const sources = new Set(eIn.map((e) => `${e.source}\u0000${e.sourcePort}`));
  if (sources.size !== 1) throw new ExpandError(`cannot collapse ${g.name}: its blocks must share exactly one input`);
  const src = eIn[0]!;
  const outSources = new Set(eOut.map((e) => `${e.source}\u0000${e.sourcePort}`));
  if (outSources.size > 1) throw new ExpandError(`cannot collapse ${g.name}: more than one of its blocks feeds the rest of the graph`);
  const flags = new Set(members.map((n) => `${!!n.frozen}/${n.statsFrozen}`));
  if (flags.size > 1) throw new ExpandError(`cannot collapse ${g.name}: its blocks differ in freezing; unify them first`);
  const kind = getKind(g.kind)!;
  const variants: Params[] = [g.params];
  if (kind.hasNormSlot) for (const norm of NORM_OPTIONS) variants.push({ ...g.params, norm });
  const outside = graph.nodes.filter((n) => !inside.has(n.id));
  const keptEdges = graph.edges.filter((e) => !inside.has(e.source) && !inside.has(e.target));
  const actualNodes = new Set(members.map(sig));
  const actualEdges = new Set(graph.edges.filter((e) => inside.has(e.source) || inside.has(e.target)).map(edgeSig));
  for (const params of variants) {
    const composite: GraphNode = { id: g.id, kind: g.kind, name: g.name, params, position: g.position };
    if (members[0]!.frozen) composite.frozen = true;
    if (members[0]!.statsFrozen !== undefined) composite.statsFrozen = members[0]!.statsFrozen;
    if (g.group) composite.group = g.group;
    const outEdges = eOut.map((e) => edgeOf(g.id, 'out', e.target, e.targetPort));
    const collapsed: Graph = {
      nodes: [...outside, composite],
      edges: [...keptEdges, edgeOf(src.source, src.sourcePort, g.id, 'in'), ...outEdges],
    };
    let re: Graph;
    try {
      re = expandInGraph(collapsed, g.id);
    } catch {
      continue;
    }
    const reMembers = re.nodes.filter((n) => n.group?.id === g.id);
    const reInside = new Set(reMembers.map((n) => n.id));
    const reEdges = re.edges.filter((e) => reInside.has(e.source) || reInside.has(e.target)).map(edgeSig);
    const same =
      reMembers.length === members.length &&
      reMembers.every((n) => actualNodes.has(sig(n))) &&
      reEdges.length === actualEdges.size &&
      reEdges.every((s) => actualEdges.has(s));
    if (same) {
      const order = graph.nodes.findIndex((n) => inside.has(n.id));
      const nodes = graph.nodes.filter((n) => !inside.has(n.id));
      nodes.splice(order, 0, composite);
      return { nodes, edges: collapsed.edges };
    }
  }
  throw new ExpandError(`cannot collapse ${g.name}: its blocks were edited in a way one ${kind.label.toLowerCase()} cannot hold (for example mixed norms or rewired connections); keep it expanded`);
}
