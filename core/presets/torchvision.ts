import type { GraphDoc, GraphNode, Params } from '../graph/types.js';
import { buildPreset, edge, type Depth } from './resnet.js';

/**
 * Re-ID models built on torchvision's ResNet, as the checkpoints of other code bases hold them:
 *  - deep-person-reid (torchreid) `torchreid/models/resnet.py`: class ResNet copies torchvision's
 *    (stem conv 7×7/2 → bn1 → ReLU → max pool 3×3/2 padding 1), then global average pooling, an optional
 *    `fc` = Sequential(Linear(2048, d), BatchNorm1d(d), ReLU) per fc_dims entry (`resnet50_fc512`: [512],
 *    last_stride 1; `resnet18…152`: none, last_stride 2) and `classifier` = Linear(feature_dim, classes).
 *    Eval returns the `fc` output (after its ReLU), or the pooled feature without one.
 *  - Person_reID_baseline_pytorch `model.py` ft_net: torchvision resnet50 as `model` (its unused `fc`
 *    kept), stride 2 unless `--stride 1`, then `classifier` = ClassBlock: `add_block` = Sequential(
 *    Linear(2048, linear_num) if linear_num > 0, BatchNorm1d, (LeakyReLU(0.1) only with relu=True, never in
 *    ft_net), Dropout) and `classifier.classifier` = Sequential(Linear(linear_num, classes)). test.py drops
 *    `classifier.classifier`, so the feature is the add_block output (before the L2 norm it applies).
 * Layer names are the source's own state_dict names (`fc.0`, `classifier.add_block.1`, …) after the
 * backbone (`base.*` here, loaded from the source's unprefixed / `model.` keys).
 */
export interface TorchvisionReidSpec {
  depth: Depth;
  lastStride: 1 | 2;
  /** The layers after the global pooling up to the feature, in order (names are the source's). */
  head: ({ kind: 'linear'; name: string; units: number } | { kind: 'batch_norm'; name: string } | { kind: 'relu'; name: string })[];
  /** The identity classifier (a Linear with bias) and its state_dict name. */
  classifier: { name: string; units: number };
  input: [number, number];
}

/** The graph of a torchvision-ResNet re-ID model: torchvision's stem (the ReLU after bn1), the source's head. */
export function buildTorchvisionReid(spec: TorchvisionReidSpec): GraphDoc {
  const doc = buildPreset(spec.depth, { neck: 'no', lastStride: spec.lastStride, numClasses: spec.classifier.units, input: spec.input });
  const stem = doc.graph.nodes.find((n) => n.id === 'stem')!;
  stem.params = { ...stem.params, relu: true };
  const gap = doc.graph.nodes.find((n) => n.id === 'gap')!;
  const nodes: GraphNode[] = doc.graph.nodes.filter((n) => !['neck', 'classifier', 'output'].includes(n.id));
  const edges = doc.graph.edges.filter((e) => e.target !== 'neck' && e.source !== 'neck' && e.target !== 'classifier' && e.source !== 'classifier' && e.target !== 'output');
  let prev = 'gap';
  const place = (i: number) => ({ x: gap.position.x + 300 * (i + 1), y: gap.position.y });
  spec.head.forEach((h, i) => {
    const id = `head${i}`;
    const params: Params = h.kind === 'linear' ? { units: h.units, bias: true } : {};
    nodes.push({ id, kind: h.kind, name: h.name, params, position: place(i) });
    edges.push(edge(prev, 'out', id, 'in'));
    prev = id;
  });
  nodes.push({ id: 'classifier', kind: 'linear', name: spec.classifier.name, params: { units: spec.classifier.units, bias: true }, position: place(spec.head.length) });
  nodes.push({ id: 'output', kind: 'output', name: 'output', params: {}, position: place(spec.head.length + 1) });
  edges.push(
    edge(prev, 'out', 'classifier', 'in'),
    edge('classifier', 'out', 'output', 'logits'),
    edge(prev, 'out', 'output', 'train_feature'),
    edge(prev, 'out', 'output', 'eval_feature'),
  );
  return { ...doc, graph: { nodes, edges } };
}
