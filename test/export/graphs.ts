/**
 * Test models for the export suite: a custom graph the YAML formats refuse, and seeded random weights
 * for any analysed graph (every slot of weight-specs, tfjs layout).
 */
import { buildPreset, edge, weightSpecs, type GraphDoc, type GraphNode, type Layer } from '../../core/index.js';

/**
 * resnet18 with IBN-a only in layer2, layer3 frozen (weights and BN statistics), neck 'no', and a head
 * after layer4: conv 3×3 (bias) → BN → ReLU → InstanceNorm, added back onto layer4's output (a new
 * residual), max pool 3×3/2 p1 ceil_mode, then learnable GeM pooling instead of the global average pool.
 */
export function customDoc(input: [number, number] = [64, 32], numClasses = 7): GraphDoc {
  const doc = buildPreset('resnet18', { neck: 'no', input, numClasses });
  const nodes = doc.graph.nodes;
  const node = (id: string) => {
    const n = nodes.find((x) => x.id === id);
    if (!n) throw new Error(`preset has no node ${id}`);
    return n;
  };
  node('layer2').params.norm = 'ibn_a';
  node('layer3').frozen = true;
  const gap = node('gap');
  gap.kind = 'gem_pool';
  gap.name = 'pool';
  gap.params = { p: 3, learnable: true, eps: 1e-6 };
  const add = (id: string, kind: string, name: string, params: GraphNode['params']) => nodes.push({ id, kind, name, params, position: { x: 0, y: 300 } });
  add('head_conv', 'conv2d', 'head.conv', { filters: 512, kernel: 3, stride: 1, padding: 1, bias: true });
  add('head_bn', 'batch_norm', 'head.bn', {});
  add('head_relu', 'relu', 'head.relu', {});
  add('head_in', 'instance_norm', 'head.inorm', {});
  add('head_add', 'add', 'head.add', {});
  add('head_pool', 'max_pool', 'head.pool', { kernel: 3, stride: 2, padding: 1, ceilMode: true });
  doc.graph.edges = doc.graph.edges.filter((e) => !(e.source === 'layer4' && e.target === 'gap'));
  doc.graph.edges.push(
    edge('layer4', 'out', 'head_conv', 'in'),
    edge('head_conv', 'out', 'head_bn', 'in'),
    edge('head_bn', 'out', 'head_relu', 'in'),
    edge('head_relu', 'out', 'head_in', 'in'),
    edge('head_in', 'out', 'head_add', 'a'),
    edge('layer4', 'out', 'head_add', 'b'),
    edge('head_add', 'out', 'head_pool', 'in'),
    edge('head_pool', 'out', 'gap', 'in'),
  );
  return doc;
}

/** mulberry32 with Box–Muller normals. */
export function rng(seed: number): { u: () => number; n: () => number } {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return { u, n };
}

/**
 * Seeded values for every weight slot (`${layer}/${slot}`, tfjs layout): He-scaled convolutions, random
 * affine norm parameters and plausible non-trivial running statistics, a learnable GeM p of 2.5.
 */
export function randomWeights(layers: Layer[], seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const out = new Map<string, Float32Array>();
  for (const l of layers)
    for (const s of weightSpecs(l)) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const v = new Float32Array(size);
      const slot = s.slot.replace(/^(in|bn)_/, '');
      for (let i = 0; i < size; i++) {
        if (slot === 'kernel') v[i] = l.kind === 'conv2d' ? r.n() * Math.sqrt(2 / (s.shape[0]! * s.shape[1]! * s.shape[3]!)) : 0.05 * r.n();
        else if (slot === 'bias') v[i] = 0.1 * r.n();
        else if (slot === 'gamma') v[i] = 0.5 + r.u();
        else if (slot === 'beta') v[i] = l.params.freezeShift ? 0 : 0.1 * r.n();
        else if (slot === 'moving_mean') v[i] = 0.2 * r.n();
        else if (slot === 'moving_variance') v[i] = 0.5 + r.u();
        else if (slot === 'p') v[i] = 2.5;
        else throw new Error(`randomWeights: unknown slot ${s.slot}`);
      }
      out.set(`${l.name}/${s.slot}`, v);
    }
  return out;
}

/** Seeded NHWC input batch. */
export function randomInput(n: number, h: number, w: number, c: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * h * w * c }, () => r.n());
}
