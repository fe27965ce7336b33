import { current, isDraft, type Draft } from 'immer';
import { analyze } from '../graph/analyze.js';
import { resnetStem, type StemInfo } from '../graph/stem.js';
import type { GraphDoc, GraphEdge, GroupInfo } from '../graph/types.js';

/**
 * Keeping the stem a framework's stem when the norm of the stages changes (core/graph/stem.ts): RSB's
 * MODEL.NAME switches both together — resnet50 (modeling/backbones/resnet.py) has no ReLU after bn1,
 * resnet50_ibn_a (resnet_ibn_a.py) has one — so the IBN-a trick on an RSB stem switches the ReLU with it.
 * fast-reid's stem (ReLU, ceil-mode pool) is the same with and without WITH_IBN and is left alone.
 */

const snapshot = (d: Draft<GraphDoc> | GraphDoc): GraphDoc => (isDraft(d) ? current(d) : d) as GraphDoc;
export const stemOf = (d: Draft<GraphDoc> | GraphDoc): StemInfo | undefined => resnetStem(analyze(snapshot(d).graph).layers);

/**
 * Runs `edit` (a norm swap) and, when the stem was reid-strong-baseline's for the stages before (no ReLU
 * over BN stages, a ReLU over IBN-a stages; pool padding 1) and the stages changed between BN and IBN-a,
 * switches the stem's ReLU as RSB's MODEL.NAME does. Returns whether the stem changed.
 */
export function followStemToNorm(d: Draft<GraphDoc>, edit: () => void): boolean {
  const before = stemOf(d);
  edit();
  if (!before || !before.rsbPool || before.relu !== before.ibnStages) return false;
  const after = stemOf(d);
  if (!after || after.ibnStages === before.ibnStages) return false;
  return setStemRelu(d, after, after.ibnStages);
}

/**
 * Adds or removes the stem's ReLU between bn1 and the max pool: the `relu` parameter of a stem composite,
 * or a `relu` node (named `base.relu`) among expanded / primitive stem nodes, whose group keeps the
 * composite's parameters in step so it still collapses. False when the stem cannot be edited that way.
 */
export function setStemRelu(d: Draft<GraphDoc>, stem: StemInfo, relu: boolean): boolean {
  const pool = d.graph.nodes.find((n) => n.id === stem.nodeId);
  if (!pool) return false;
  if (pool.kind === 'stem') {
    pool.params.relu = relu;
    return true;
  }
  const layers = analyze(snapshot(d).graph).layers;
  const nodeOf = (name: string) => layers.find((l) => l.name === name)?.nodeId;
  const bnId = nodeOf('base.bn1');
  const reluId = nodeOf('base.relu');
  const bn = d.graph.nodes.find((n) => n.id === bnId);
  if (pool.kind !== 'max_pool' || bn?.kind !== 'batch_norm') return false;
  const edgeOf = (source: string, target: string): GraphEdge => ({ id: `${source}:out->${target}:in`, source, sourcePort: 'out', target, targetPort: 'in' });
  if (relu) {
    const i = d.graph.edges.findIndex((e) => e.source === bn.id && e.target === pool.id && e.targetPort === 'in');
    if (i < 0) return false;
    // The id expandInGraph gives the child (`<stem id>/relu`), so the group collapses back.
    let id = pool.group ? `${pool.group.id}/relu` : 'stem_relu';
    while (d.graph.nodes.some((n) => n.id === id)) id += "'";
    const position = { x: (bn.position.x + pool.position.x) / 2, y: (bn.position.y + pool.position.y) / 2 + 40 };
    const poolNow = snapshot(d).graph.nodes.find((n) => n.id === pool.id)!;
    d.graph.nodes.splice(d.graph.nodes.indexOf(pool), 0, {
      id,
      kind: 'relu',
      name: 'base.relu',
      params: {},
      position,
      ...(poolNow.group ? { group: JSON.parse(JSON.stringify(poolNow.group)) as GroupInfo } : {}),
      ...(poolNow.frozen ? { frozen: true } : {}),
      ...(poolNow.statsFrozen !== undefined ? { statsFrozen: poolNow.statsFrozen } : {}),
    });
    d.graph.edges.splice(i, 1, edgeOf(bn.id, id), edgeOf(id, pool.id));
  } else {
    const node = d.graph.nodes.find((n) => n.id === reluId);
    if (!node || node.kind !== 'relu') return false;
    const ins = d.graph.edges.filter((e) => e.target === node.id);
    if (ins.length !== 1) return false;
    const from = ins[0]!;
    d.graph.edges = d.graph.edges.flatMap((e) => (e.target === node.id ? [] : e.source === node.id ? [{ ...e, id: `${from.source}:${from.sourcePort}->${e.target}:${e.targetPort}`, source: from.source, sourcePort: from.sourcePort }] : [e]));
    d.graph.nodes = d.graph.nodes.filter((n) => n.id !== node.id);
  }
  if (pool.group?.kind === 'stem') for (const n of d.graph.nodes) if (n.group?.id === pool.group.id) n.group.params = { ...n.group.params, relu };
  return true;
}
