import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMgn, buildPreset, edge, type GraphDoc, type Params } from '../../../core/index.js';

/** One logged training step of a run folder's metrics.jsonl (the trainer's `step` records; losses are batch means). */
export type StepRecord = { step: number; loss: number; ce: number; triplet: number; center: number; acc: number };

/** The `step` records of `runDir`/metrics.jsonl, in file order. */
export const stepRecords = (runDir: string): StepRecord[] =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'step');

/** A block or pooling node's kind and parameters (the zoo's kinds, core/kinds). */
export interface TinyNode {
  kind: string;
  params: Params;
}

/**
 * A small real re-ID graph (conv → BN → ReLU → block → GAP → BNNeck → classifier) for fast engine tests.
 * `block` replaces the IBN-a basic block (16 channels in, e.g. an SE module or a non-local block), `pool`
 * the global average pool (e.g. GeM-P).
 */
export function tinyGraph(classes: number, opts: { statsFrozen?: boolean; h?: number; w?: number; block?: TinyNode; pool?: TinyNode } = {}): GraphDoc {
  const base = buildPreset('resnet18', { input: [opts.h ?? 32, opts.w ?? 16], numClasses: classes });
  const keep = new Set(['input', 'gap', 'neck', 'classifier', 'output']);
  const nodes = base.graph.nodes
    .filter((n) => keep.has(n.id))
    .map((n) => (opts.statsFrozen && n.id === 'neck' ? { ...n, statsFrozen: true } : n))
    .map((n) => (opts.pool && n.id === 'gap' ? { ...n, kind: opts.pool.kind, params: opts.pool.params } : n));
  nodes.push(
    { id: 'c1', kind: 'conv2d', name: 'base.conv1', params: { filters: 8, kernel: 3, stride: 2, padding: 1, bias: false }, position: { x: 0, y: 0 } },
    { id: 'b1', kind: 'batch_norm', name: 'base.bn1', params: {}, position: { x: 0, y: 0 }, ...(opts.statsFrozen ? { statsFrozen: true } : {}) },
    { id: 'r1', kind: 'relu', name: 'base.relu', params: {}, position: { x: 0, y: 0 } },
    { id: 'blk', kind: opts.block?.kind ?? 'basic_block', name: 'base.layer1.0', params: opts.block?.params ?? { planes: 16, stride: 2, norm: 'ibn_a' }, position: { x: 0, y: 0 }, ...(opts.statsFrozen ? { statsFrozen: true } : {}) },
  );
  const edges = [
    edge('input', 'out', 'c1', 'in'),
    edge('c1', 'out', 'b1', 'in'),
    edge('b1', 'out', 'r1', 'in'),
    edge('r1', 'out', 'blk', 'in'),
    edge('blk', 'out', 'gap', 'in'),
    ...base.graph.edges.filter((e) => keep.has(e.source) && keep.has(e.target) && e.source !== 'input'),
  ];
  return { ...base, graph: { nodes, edges } };
}

/**
 * fast-reid's MGN (core/presets/mgn.ts: trunk, three branches, 2- and 3-stripe parts, eight heads with their
 * loss factors) at a fraction of its width for fast engine tests: every stage one block, 4–16 planes, a
 * 16-d reduction, input `h`×`w` (48×16: layer4's map is 3×1, cut into 2 and 3 stripes).
 */
export function tinyMgn(classes: number, opts: { h?: number; w?: number; pool?: 'avg' | 'gem' | 'gemP' } = {}): GraphDoc {
  const doc = buildMgn({ input: [opts.h ?? 48, opts.w ?? 16], numClasses: classes, embeddingDim: 16, pool: opts.pool ?? 'gemP' });
  const planes: Record<string, number> = { layer1: 4, layer2: 8, layer3_0: 8, conv4: 8, conv5: 16 };
  const nodes = doc.graph.nodes.map((n) => {
    if (n.id === 'conv1') return { ...n, params: { ...n.params, filters: 8 } };
    const key = Object.keys(planes).find((k) => n.id === k || n.id.endsWith(`_${k}`));
    if (!key) return n;
    return { ...n, params: { ...n.params, planes: planes[key]!, ...(n.kind === 'stage' ? { blocks: 1 } : {}) } };
  });
  return { ...doc, graph: { ...doc.graph, nodes } };
}
