import type { GraphDoc, GraphEdge, GraphNode, Params } from '../graph/types.js';
import { DOC_FORMAT, DOC_VERSION } from '../graph/types.js';
import { edge, fastreidRecipeLoss } from './resnet.js';

/**
 * fast-reid's MGN (multiple granularity network, fastreid/modeling/meta_arch/mgn.py) on a ResNet-50 /
 * ResNet-50-IBN-a, as a branching graph with fast-reid's module names (so its checkpoints load key by key):
 *  - trunk `backbone` = Sequential(conv1, bn1, relu, maxpool, layer1, layer2, layer3[0]): `backbone.0` … `backbone.6`;
 *  - three branches `b1`, `b2`, `b3` = Sequential(layer3[1:], layer4 copy): `bX.0` (5 blocks), `bX.1` (3 blocks).
 *    b1's layer4 strides by LAST_STRIDE; the part branches' `res_p_conv5` by 1 (fast-reid builds it with the
 *    Bottleneck default stride 1); layer4 has no IBN in either;
 *  - b2's map cut into 2 horizontal stripes, b3's into 3 (`torch.chunk(…, dim=2)`, kind `chunk`);
 *  - eight EmbeddingHeads `b1_head`, `b2_head`, `b21_head`, `b22_head`, `b3_head`, `b31_head`, `b32_head`,
 *    `b33_head` (fastreid/modeling/heads/embedding_head.py): `pool_layer`, `bottleneck` = [1×1 conv to
 *    EMBEDDING_DIM,] BNNeck with frozen shift, and the class weight (`bX_head.weight` in fast-reid; the layer
 *    `bX_head.classifier` here, as the Baseline's `classifier` is fast-reid's `heads.weight`);
 *  - eval feature: the eight neck features concatenated in fast-reid's order (b1, b2, b3, b21, b22, b31, b32, b33);
 *  - losses (`MGN.losses`): CE on every head's logits × 0.125 and triplet on b1, b2, b3 and the concatenated
 *    [b21, b22] and [b31, b32, b33] features × 0.2 — one `head_loss` node per term pair.
 */
export interface MgnOptions {
  ibn: boolean;
  lastStride: 1 | 2;
  /** MODEL.HEADS.EMBEDDING_DIM (0: no reduction conv; MGN's recipe: 256). */
  embeddingDim: number;
  pool: 'avg' | 'gem' | 'gemP';
  /** MODEL.HEADS.NECK_FEAT: the triplet features before or after the BNNeck. */
  trainFeat: 'before' | 'after';
  numClasses: number;
  input: [number, number];
}

/** MGN's per-term factors (mgn.py `losses()`: `* 0.125` on each CE, `* 0.2` on each triplet). */
export const MGN_CE_FACTOR = 0.125;
export const MGN_TRIPLET_FACTOR = 0.2;
/** The heads in fast-reid's eval-feature order (mgn.py `torch.cat([b1, b2, b3, b21, b22, b31, b32, b33])`). */
export const MGN_HEADS = ['b1', 'b2', 'b3', 'b21', 'b22', 'b31', 'b32', 'b33'] as const;
/** fast-reid MGN's MODEL.FREEZE_LAYERS (configs/Base-MGN.yml): the trunk and the three branches. */
export const MGN_FREEZE_MODULES = ['backbone', 'b1', 'b2', 'b3'] as const;
export const MGN_PRESET_NAMES: readonly string[] = ['mgn_R50', 'mgn_R50-ibn'];

export const MGN_DEFAULTS: MgnOptions = { ibn: true, lastStride: 1, embeddingDim: 256, pool: 'gemP', trainFeat: 'after', numClasses: 751, input: [384, 128] };

/** Whether a layer belongs to MGN's frozen modules (MGN_FREEZE_MODULES), by its name. */
export function isMgnBackboneLayer(name: string): boolean {
  return MGN_FREEZE_MODULES.some((m) => name === m || name.startsWith(`${m}.`));
}

/**
 * Whether a layer (or a `layer/slot` weight key) is in fast-reid's MODEL.FREEZE_LAYERS modules, which its
 * LayerFreeze hook freezes for SOLVER.FREEZE_ITERS: the Baseline's `backbone` (the app's `base.*`) or MGN's
 * trunk and branches (`backbone.*`, `b1.*`, `b2.*`, `b3.*`).
 */
export function inFrozenModules(name: string): boolean {
  return name.startsWith('base.') || isMgnBackboneLayer(name);
}

/** Whether the graph's layers are MGN's (its trunk `backbone.6` and head `b1_head`). */
export function looksLikeMgn(layerNames: Set<string>): boolean {
  return layerNames.has('backbone.6.conv1') && layerNames.has('b1_head.pool_layer');
}

/** The MGN graph (fast-reid's module names). */
export function buildMgn(options: Partial<MgnOptions> = {}): GraphDoc {
  const o = { ...MGN_DEFAULTS, ...options };
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const add = (id: string, kind: string, name: string, params: Params, col: number, row: number) =>
    nodes.push({ id, kind, name, params, position: { x: col * 260, y: row * 150 } });
  const link = (from: string, to: string, port = 'in', fromPort = 'out') => edges.push(edge(from, fromPort, to, port));
  const norm = o.ibn ? 'ibn_a' : 'bn';

  // Trunk (column 0, going down).
  add('input', 'input', 'input', { height: o.input[0], width: o.input[1], channels: 3 }, 0, 0);
  add('conv1', 'conv2d', 'backbone.0', { filters: 64, kernel: 7, stride: 2, padding: 3, bias: false }, 0, 1);
  add('bn1', 'batch_norm', 'backbone.1', {}, 0, 2);
  add('relu', 'relu', 'backbone.2', {}, 0, 3);
  add('maxpool', 'max_pool', 'backbone.3', { kernel: 3, stride: 2, padding: 0, ceilMode: true }, 0, 4);
  add('layer1', 'stage', 'backbone.4', { block: 'bottleneck', blocks: 3, planes: 64, stride: 1, norm }, 0, 5);
  add('layer2', 'stage', 'backbone.5', { block: 'bottleneck', blocks: 4, planes: 128, stride: 2, norm }, 0, 6);
  add('layer3_0', 'bottleneck', 'backbone.6', { planes: 256, stride: 2, norm }, 0, 7);
  for (const [a, b] of [['input', 'conv1'], ['conv1', 'bn1'], ['bn1', 'relu'], ['relu', 'maxpool'], ['maxpool', 'layer1'], ['layer1', 'layer2'], ['layer2', 'layer3_0']] as const) link(a, b);

  // Branches (one row each) and their stripes.
  const branchOut: Record<string, string> = {};
  ['b1', 'b2', 'b3'].forEach((b, i) => {
    const row = 1 + i * 4;
    add(`${b}_conv4`, 'stage', `${b}.0`, { block: 'bottleneck', blocks: 5, planes: 256, stride: 1, norm }, 1, row);
    add(`${b}_conv5`, 'stage', `${b}.1`, { block: 'bottleneck', blocks: 3, planes: 512, stride: i === 0 ? o.lastStride : 1, norm: 'bn' }, 2, row);
    link('layer3_0', `${b}_conv4`);
    link(`${b}_conv4`, `${b}_conv5`);
    branchOut[b] = `${b}_conv5`;
    const parts = i; // b1: none, b2: 2, b3: 3
    for (let k = 0; k < (parts ? parts + 1 : 0); k++) {
      const id = `${b}${k + 1}_part`;
      add(id, 'chunk', `${b}_part.${k}`, { parts: parts + 1, index: k }, 3, row + 1 + k);
      link(`${b}_conv5`, id);
      branchOut[`${b}${k + 1}`] = id;
    }
  });

  // Heads: pool → [1×1 reduction] → BNNeck → classifier.
  const neckOut: Record<string, string> = {};
  const tripletOut: Record<string, [string, string]> = {};
  const logitsOut: Record<string, string> = {};
  const headRow: Record<string, number> = { b1: 1, b2: 5, b21: 6, b22: 7, b3: 9, b31: 10, b32: 11, b33: 12 };
  for (const h of MGN_HEADS) {
    const row = headRow[h]!;
    const p = `${h}_head`;
    const poolParams: Params = o.pool === 'avg' ? {} : { p: 3, learnable: o.pool === 'gemP', eps: 1e-6 };
    add(`${h}_pool`, o.pool === 'avg' ? 'global_avg_pool' : 'gem_pool', `${p}.pool_layer`, poolParams, 4, row);
    link(branchOut[h]!, `${h}_pool`);
    let prev = `${h}_pool`;
    let idx = 0;
    if (o.embeddingDim > 0) {
      add(`${h}_reduce`, 'linear', `${p}.bottleneck.${idx++}`, { units: o.embeddingDim, bias: false, conv1x1: true }, 5, row);
      link(prev, `${h}_reduce`);
      prev = `${h}_reduce`;
    }
    add(`${h}_bnneck`, 'batch_norm', `${p}.bottleneck.${idx}`, { freezeShift: true }, 6, row);
    link(prev, `${h}_bnneck`);
    add(`${h}_classifier`, 'linear', `${p}.classifier`, { units: o.numClasses, bias: false }, 7, row);
    link(`${h}_bnneck`, `${h}_classifier`);
    neckOut[h] = `${h}_bnneck`;
    // EmbeddingHead: NECK_FEAT 'before' = `pool_feat`, the pool's output (FEAT_DIM wide, before any reduction).
    tripletOut[h] = o.trainFeat === 'after' ? [`${h}_bnneck`, 'out'] : [`${h}_pool`, 'out'];
    logitsOut[h] = `${h}_classifier`;
  }

  // Eval feature and the concatenated part features of the triplet losses.
  add('pred_feat', 'concat', 'pred_feat', {}, 8, 0);
  MGN_HEADS.forEach((h, i) => link(neckOut[h]!, 'pred_feat', `in${i}`));
  add('output', 'output', 'output', {}, 9, 0);
  link('pred_feat', 'output', 'eval_feature');
  add('b22_feat', 'concat', 'b22_pool_feat', {}, 8, 7);
  add('b33_feat', 'concat', 'b33_pool_feat', {}, 8, 12);
  edges.push(edge(tripletOut.b21![0], 'out', 'b22_feat', 'in0'), edge(tripletOut.b22![0], 'out', 'b22_feat', 'in1'));
  edges.push(edge(tripletOut.b31![0], 'out', 'b33_feat', 'in0'), edge(tripletOut.b32![0], 'out', 'b33_feat', 'in1'), edge(tripletOut.b33![0], 'out', 'b33_feat', 'in2'));

  const feature: Record<string, string | undefined> = { b1: tripletOut.b1![0], b2: tripletOut.b2![0], b3: tripletOut.b3![0], b22: 'b22_feat', b33: 'b33_feat' };
  for (const h of MGN_HEADS) {
    const id = `loss_${h}`;
    add(id, 'head_loss', `loss_${h}`, { ce_factor: MGN_CE_FACTOR, triplet_factor: MGN_TRIPLET_FACTOR }, 9, headRow[h]!);
    link(logitsOut[h]!, id, 'logits');
    if (feature[h]) link(feature[h]!, id, 'train_feature');
  }
  return { format: DOC_FORMAT, version: DOC_VERSION, graph: { nodes, edges } };
}

/** The MGN graph with MGN's frozen modules (trunk and branches, MGN_FREEZE_MODULES) frozen, statistics included. */
export function freezeMgnBackbone(doc: GraphDoc): GraphDoc {
  return { ...doc, graph: { ...doc.graph, nodes: doc.graph.nodes.map((n) => (isMgnBackboneLayer(n.name) ? { ...n, frozen: true } : n)) } };
}

/** The MGN preset `mgn_R50` / `mgn_R50-ibn` with fast-reid's MGN recipe heads (configs/Base-MGN.yml). */
export function buildMgnPreset(name: string, options: Partial<MgnOptions> = {}): GraphDoc {
  if (!MGN_PRESET_NAMES.includes(name)) throw new Error(`unknown MGN preset "${name}" (choose one of ${MGN_PRESET_NAMES.join(', ')})`);
  // fast-reid's losses (MGN trains in fast-reid only): CE + triplet, no center loss.
  return { ...buildMgn({ ...options, ibn: name.endsWith('-ibn') }), training: fastreidRecipeLoss() };
}
