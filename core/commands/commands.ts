import { current, type Draft } from 'immer';
import { analyze, topoOrder } from '../graph/analyze.js';
import { collapseInGraph, expandInGraph, ExpandError } from '../graph/expand.js';
import { checkParam, defaultParams } from '../graph/params.js';
import type { GraphDoc, GraphEdge, GraphNode, Params, ParamValue, Position } from '../graph/types.js';
import { getKind, normKindOf, normSlotOfKind, type NormSlot } from '../registry/index.js';
import { followStemToNorm, setStemRelu, stemOf } from './stem.js';

/** A named edit: `recipe` mutates an immer draft of the document (so history gets patches for free). */
export interface Command {
  id: string;
  label: string;
  recipe: (draft: Draft<GraphDoc>) => void;
}

/** A refused edit; the message is shown to the user, the document is unchanged. */
export class CommandError extends Error {}


function nodeById(doc: GraphDoc, id: string): GraphNode {
  const n = doc.graph.nodes.find((x) => x.id === id);
  if (!n) throw new CommandError(`no node with id ${id}`);
  return n;
}

/** Backbone = every node upstream of a global pooling node, except the image input. */
export function backboneNodeIds(doc: GraphDoc): string[] {
  const preds = new Map<string, string[]>();
  for (const e of doc.graph.edges) preds.set(e.target, [...(preds.get(e.target) ?? []), e.source]);
  const seen = new Set<string>();
  const stack = doc.graph.nodes.filter((n) => getKind(n.kind)?.globalPool).flatMap((n) => preds.get(n.id) ?? []);
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(preds.get(id) ?? []));
  }
  return doc.graph.nodes.filter((n) => seen.has(n.id) && !getKind(n.kind)?.imageInput).map((n) => n.id);
}

function uniqueId(doc: GraphDoc, base: string): string {
  const ids = new Set(doc.graph.nodes.map((n) => n.id));
  if (!ids.has(base)) return base;
  for (let i = 2; ; i++) if (!ids.has(`${base}_${i}`)) return `${base}_${i}`;
}

function uniqueName(doc: GraphDoc, base: string): string {
  const names = new Set(doc.graph.nodes.map((n) => n.name));
  if (!names.has(base)) return base;
  for (let i = 2; ; i++) if (!names.has(`${base}_${i}`)) return `${base}_${i}`;
}

export function addNode(args: { kind: string; position: Position; params?: Params; id?: string; name?: string }): Command {
  return {
    id: 'addNode',
    label: `Add ${args.kind}`,
    recipe(d) {
      const kind = getKind(args.kind);
      if (!kind) throw new CommandError(`unknown block kind "${args.kind}"`);
      const params = { ...defaultParams(kind.params), ...(args.params ?? {}) };
      for (const [k, v] of Object.entries(params)) {
        const spec = kind.params[k];
        const problem = spec ? checkParam(k, spec, v) : `unknown parameter ${k}`;
        if (problem) throw new CommandError(problem);
      }
      const id = args.id && !d.graph.nodes.some((n) => n.id === args.id) ? args.id : uniqueId(d as GraphDoc, args.kind);
      d.graph.nodes.push({ id, kind: args.kind, name: uniqueName(d as GraphDoc, args.name ?? id), params, position: { ...args.position } });
    },
  };
}

export function removeNodes(ids: string[]): Command {
  return {
    id: 'removeNodes',
    label: ids.length === 1 ? 'Delete block' : `Delete ${ids.length} blocks`,
    recipe(d) {
      const gone = new Set(ids);
      d.graph.nodes = d.graph.nodes.filter((n) => !gone.has(n.id));
      d.graph.edges = d.graph.edges.filter((e) => !gone.has(e.source) && !gone.has(e.target));
    },
  };
}

/** Why a connection cannot be made, or null when it can. */
export function connectionProblem(doc: GraphDoc, c: Omit<GraphEdge, 'id'>): string | null {
  const s = doc.graph.nodes.find((n) => n.id === c.source);
  const t = doc.graph.nodes.find((n) => n.id === c.target);
  if (!s || !t) return 'both ends must be existing blocks';
  if (s.id === t.id) return 'a block cannot feed itself';
  const sk = getKind(s.kind);
  const tk = getKind(t.kind);
  if (!sk?.outputs.some((p) => p.name === c.sourcePort)) return `${s.name} has no output "${c.sourcePort}"`;
  if (!tk?.inputs.some((p) => p.name === c.targetPort)) return `${t.name} has no input "${c.targetPort}"`;
  const edges = [...doc.graph.edges.filter((e) => !(e.target === c.target && e.targetPort === c.targetPort)), { ...c, id: 'new' }];
  if (topoOrder({ nodes: doc.graph.nodes, edges }).cyclic.length) return 'this connection would create a cycle';
  return null;
}

export function connect(c: Omit<GraphEdge, 'id'>): Command {
  return {
    id: 'connect',
    label: 'Connect',
    recipe(d) {
      const problem = connectionProblem(d as GraphDoc, c);
      if (problem) throw new CommandError(problem);
      d.graph.edges = d.graph.edges.filter((e) => !(e.target === c.target && e.targetPort === c.targetPort));
      d.graph.edges.push({ id: `${c.source}:${c.sourcePort}->${c.target}:${c.targetPort}`, ...c });
    },
  };
}

export function disconnect(edgeIds: string[]): Command {
  return {
    id: 'disconnect',
    label: 'Disconnect',
    recipe(d) {
      const gone = new Set(edgeIds);
      d.graph.edges = d.graph.edges.filter((e) => !gone.has(e.id));
    },
  };
}

export function setParams(ids: string[], params: Record<string, ParamValue>): Command {
  return {
    id: 'setParams',
    label: `Set ${Object.keys(params).join(', ')}`,
    recipe(d) {
      for (const id of ids) {
        const n = nodeById(d as GraphDoc, id);
        const kind = getKind(n.kind);
        for (const [k, v] of Object.entries(params)) {
          const spec = kind?.params[k];
          if (!spec) throw new CommandError(`${n.name} has no parameter ${k}`);
          const problem = checkParam(k, spec, v);
          if (problem) throw new CommandError(`${n.name}: ${problem}`);
          (d.graph.nodes.find((x) => x.id === id)!.params as Params)[k] = v;
        }
      }
    },
  };
}

export function moveNodes(moves: { id: string; position: Position }[]): Command {
  return {
    id: 'moveNodes',
    label: 'Move',
    recipe(d) {
      for (const m of moves) {
        if (!Number.isFinite(m.position.x) || !Number.isFinite(m.position.y)) throw new CommandError('position must be finite');
        const n = d.graph.nodes.find((x) => x.id === m.id);
        if (n) n.position = { x: m.position.x, y: m.position.y };
      }
    },
  };
}

export function renameNode(id: string, name: string): Command {
  return {
    id: 'renameNode',
    label: 'Rename',
    recipe(d) {
      if (!/^[A-Za-z_][\w.]*$/.test(name)) throw new CommandError('a name is letters, digits, _ and dots, starting with a letter');
      if (d.graph.nodes.some((n) => n.name === name && n.id !== id)) throw new CommandError(`the name ${name} is taken`);
      nodeById(d as GraphDoc, id);
      d.graph.nodes.find((n) => n.id === id)!.name = name;
    },
  };
}

function swapInDraft(d: Draft<GraphDoc>, ids: string[], to: NormSlot, spatial: (id: string) => boolean): number {
  let changed = 0;
  for (const id of ids) {
    const n = d.graph.nodes.find((x) => x.id === id);
    const kind = n && getKind(n.kind);
    if (!n || !kind) continue;
    if (kind.hasNormSlot) {
      if (n.params.norm !== to) (n.params.norm = to), changed++;
    } else if (kind.isNorm && spatial(id)) {
      const target = normKindOf(to);
      if (n.kind !== target) {
        n.kind = target;
        n.params = defaultParams(getKind(target)!.params);
        changed++;
      }
    }
  }
  return changed;
}

function spatialInput(doc: GraphDoc): (id: string) => boolean {
  const a = analyze(doc.graph);
  return (id) => a.nodeInputs[id]?.in?.shape.length === 3;
}

/** Swap the norm slot (BN ↔ IBN-a ↔ IN) of the given nodes, or of the whole backbone. */
export function swapNorm(target: string[] | 'backbone', to: NormSlot): Command {
  return {
    id: 'swapNorm',
    label: `Norm → ${to === 'ibn_a' ? 'IBN-a' : to.toUpperCase()}`,
    recipe(d) {
      const doc = d as GraphDoc;
      const ids = target === 'backbone' ? backboneNodeIds(doc) : target;
      followStemToNorm(d, () => {
        if (!swapInDraft(d, ids, to, spatialInput(doc))) throw new CommandError('nothing in the selection has a norm that can change to ' + to);
      });
    },
  };
}

function stageKey(n: GraphNode): string | undefined {
  if (n.kind === 'stage') return n.id;
  for (let g = n.group; g; g = g.group) if (g.kind === 'stage') return g.id;
  return undefined;
}

/**
 * The paper's IBN-a placement (Pan et al. 2018; reid-strong-baseline resnet_ibn_a.py): bn1 of every block
 * in every backbone stage except the last (layer1–3 of a ResNet) becomes IBN-a; the last stage stays BN.
 */
export function applyIbnPlacement(): Command {
  return {
    id: 'applyIbnPlacement',
    label: 'Apply IBN-a placement',
    recipe(d) {
      const doc = d as GraphDoc;
      const backbone = new Set(backboneNodeIds(doc));
      const order = topoOrder(doc.graph).order.filter((n) => backbone.has(n.id));
      const keys = [...new Set(order.map(stageKey).filter((k): k is string => !!k))];
      if (keys.length < 2) throw new CommandError('IBN-a placement needs a backbone of at least two ResNet stages');
      const spatial = spatialInput(doc);
      followStemToNorm(d, () => keys.forEach((key, i) => {
        const to: NormSlot = i < keys.length - 1 ? 'ibn_a' : 'bn';
        const ids = order
          .filter((n) => stageKey(n) === key)
          .filter((n) => getKind(n.kind)?.hasNormSlot || (getKind(n.kind)?.isNorm && n.name.endsWith('.bn1') && n.group?.kind !== 'stem'))
          .map((n) => n.id);
        swapInDraft(d, ids, to, spatial);
      }));
    },
  };
}

/**
 * "Convert the stem" (the fix offered for W_STEM_MISMATCH): makes the stem the one its stages have in a
 * framework — a ReLU after bn1 over IBN-a stages (reid-strong-baseline resnet_ibn_a.py, fast-reid) and,
 * with RSB's pooling (padding 1), none over BN stages (RSB resnet.py). Refused when it already is.
 */
export function convertStem(): Command {
  return {
    id: 'convertStem',
    label: 'Convert the stem',
    recipe(d) {
      const stem = stemOf(d);
      if (!stem) throw new CommandError('the graph has no ResNet stem (base.conv1 7×7 → base.bn1 → base.maxpool)');
      const relu = stem.ibnStages || !stem.rsbPool;
      if (stem.relu === relu) throw new CommandError("the stem already matches its stages' framework");
      if (!setStemRelu(d, stem, relu)) throw new CommandError(`the stem's blocks were rewired: ${relu ? 'add a ReLU between base.bn1 and base.maxpool' : 'remove base.relu'} by hand`);
    },
  };
}

export function setFrozen(ids: string[], frozen: boolean): Command {
  return {
    id: 'setFrozen',
    label: frozen ? 'Freeze' : 'Unfreeze',
    recipe(d) {
      for (const id of ids) {
        const n = nodeById(d as GraphDoc, id);
        const draft = d.graph.nodes.find((x) => x.id === n.id)!;
        if (frozen) draft.frozen = true;
        else delete draft.frozen;
        delete draft.statsFrozen;
      }
    },
  };
}

/** BN/IBN statistics frozen (true), updating (false), or following the node's frozen flag (null). */
export function setStatsFrozen(ids: string[], value: boolean | null): Command {
  return {
    id: 'setStatsFrozen',
    label: value ? 'Freeze BN statistics' : 'Update BN statistics',
    recipe(d) {
      for (const id of ids) {
        nodeById(d as GraphDoc, id);
        const draft = d.graph.nodes.find((x) => x.id === id)!;
        if (value === null) delete draft.statsFrozen;
        else draft.statsFrozen = value;
      }
    },
  };
}

export function freezeBackbone(frozen = true): Command {
  return {
    id: 'freezeBackbone',
    label: frozen ? 'Freeze backbone' : 'Unfreeze backbone',
    recipe(d) {
      const ids = backboneNodeIds(d as GraphDoc);
      if (!ids.length) throw new CommandError('no backbone found: nothing feeds a global pooling block');
      setFrozen(ids, frozen).recipe(d);
    },
  };
}

/** Neck type; the classifier fed by the neck gets a bias exactly when there is no BNNeck (RSB baseline.py). */
export function setNeck(type: 'bnneck' | 'no'): Command {
  return {
    id: 'setNeck',
    label: type === 'bnneck' ? 'Neck: BNNeck' : 'Neck: none',
    recipe(d) {
      const necks = d.graph.nodes.filter((n) => n.kind === 'neck');
      if (!necks.length) throw new CommandError('the graph has no neck block');
      for (const n of necks) {
        n.params.type = type;
        for (const e of d.graph.edges.filter((e) => e.source === n.id && e.sourcePort === 'after')) {
          const t = d.graph.nodes.find((x) => x.id === e.target);
          if (t?.kind === 'linear') t.params.bias = type === 'no';
        }
      }
    },
  };
}

export function setNeckFeat(value: 'after' | 'before'): Command {
  return {
    id: 'setNeckFeat',
    label: `Eval feature: ${value} BN`,
    recipe(d) {
      const necks = d.graph.nodes.filter((n) => n.kind === 'neck');
      if (!necks.length) throw new CommandError('the graph has no neck block');
      for (const n of necks) n.params.neck_feat = value;
    },
  };
}

function graphCommand(id: string, label: string, f: (doc: GraphDoc) => GraphDoc['graph']): Command {
  return {
    id,
    label,
    recipe(d) {
      try {
        d.graph = f(current(d) as GraphDoc);
      } catch (e) {
        if (e instanceof ExpandError) throw new CommandError(e.message);
        throw e;
      }
    },
  };
}

export const expandNode = (id: string) => graphCommand('expandNode', 'Expand', (doc) => expandInGraph(doc.graph, id));
export const collapseGroup = (groupId: string) => graphCommand('collapseGroup', 'Collapse', (doc) => collapseInGraph(doc.graph, groupId));

export function setTraining(training: Record<string, unknown>): Command {
  return {
    id: 'setTraining',
    label: 'Training settings',
    recipe(d) {
      d.training = JSON.parse(JSON.stringify(training));
    },
  };
}

export { normSlotOfKind };
