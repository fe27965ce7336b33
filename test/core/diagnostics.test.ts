import { describe, expect, it } from 'vitest';
import { addNode, analyze, applyCommand, buildPreset, connect, removeNodes, setParams, unanalysedModelNodes, type Graph, type GraphDoc } from '../../core/index.js';

const codes = (g: Graph) => analyze(g).diagnostics.map((d) => `${d.code}@${d.nodeId ?? ''}`);

function tinyResidual(): GraphDoc {
  // input → conv a, input → conv b, add(a, b) → gap → neck → outputs
  return {
    format: 'reid-studio-graph',
    version: 1,
    graph: {
      nodes: [
        { id: 'in', kind: 'input', name: 'input', params: { height: 32, width: 16, channels: 3 }, position: { x: 0, y: 0 } },
        { id: 'a', kind: 'conv2d', name: 'a', params: { filters: 8, kernel: 3, stride: 1, padding: 1 }, position: { x: 0, y: 0 } },
        { id: 'b', kind: 'conv2d', name: 'b', params: { filters: 8, kernel: 3, stride: 1, padding: 1 }, position: { x: 0, y: 0 } },
        { id: 'add', kind: 'add', name: 'add', params: {}, position: { x: 0, y: 0 } },
        { id: 'gap', kind: 'global_avg_pool', name: 'gap', params: {}, position: { x: 0, y: 0 } },
        { id: 'out', kind: 'output', name: 'output', params: {}, position: { x: 0, y: 0 } },
      ],
      edges: [
        { id: 'e1', source: 'in', sourcePort: 'out', target: 'a', targetPort: 'in' },
        { id: 'e2', source: 'in', sourcePort: 'out', target: 'b', targetPort: 'in' },
        { id: 'e3', source: 'a', sourcePort: 'out', target: 'add', targetPort: 'a' },
        { id: 'e4', source: 'b', sourcePort: 'out', target: 'add', targetPort: 'b' },
        { id: 'e5', source: 'add', sourcePort: 'out', target: 'gap', targetPort: 'in' },
        { id: 'e6', source: 'gap', sourcePort: 'out', target: 'out', targetPort: 'eval_feature' },
      ],
    },
  };
}

describe('diagnostics', () => {
  it('the summary counts are the model\'s only when every block feeding an output was analysed (a pasted, unconnected block is not part of the model)', () => {
    const ok = tinyResidual();
    expect(unanalysedModelNodes(ok.graph, analyze(ok.graph))).toEqual([]);
    // A block that feeds nothing: not part of the model, its missing input is an error but the totals stand.
    const pasted = applyCommand(ok, addNode({ kind: 'conv2d', position: { x: 0, y: 0 }, id: 'p', params: { filters: 8, kernel: 3, stride: 1, padding: 1 } }));
    expect(codes(pasted.graph)).toContain('E_UNCONNECTED_INPUT@p');
    expect(unanalysedModelNodes(pasted.graph, analyze(pasted.graph))).toEqual([]);
    expect(analyze(pasted.graph).totals.params).toBe(analyze(ok.graph).totals.params);
    // A mismatch on the path to the output: the add and everything after it have no counts.
    const broken = applyCommand(ok, setParams(['b'], { filters: 4 })).graph;
    expect(unanalysedModelNodes(broken, analyze(broken)).sort()).toEqual(['add', 'gap']);
  });

  it('a valid graph has no errors (only the training-output warning here)', () => {
    expect(codes(tinyResidual().graph)).toEqual(['W_NO_TRAIN_OUTPUT@out']);
  });

  it('channel and spatial mismatches at an add are reported on the add node', () => {
    expect(codes(applyCommand(tinyResidual(), setParams(['b'], { filters: 4 })).graph)).toContain('E_CHANNEL_MISMATCH@add');
    expect(codes(applyCommand(tinyResidual(), setParams(['b'], { stride: 2 })).graph)).toContain('E_SPATIAL_MISMATCH@add');
  });

  it('an unconnected input is reported on its node, without cascading downstream', () => {
    const g = applyCommand(tinyResidual(), removeNodes(['b'])).graph;
    expect(codes(g).filter((c) => c.startsWith('E_'))).toEqual(['E_UNCONNECTED_INPUT@add']);
  });

  it('a cycle is reported on every node on it', () => {
    const doc = tinyResidual();
    const edges = doc.graph.edges.filter((e) => e.id !== 'e1');
    const g: Graph = { ...doc.graph, edges: [...edges, { id: 'back', source: 'add', sourcePort: 'out', target: 'a', targetPort: 'in' }] };
    const c = codes(g);
    expect(c).toContain('E_CYCLE@a');
    expect(c).toContain('E_CYCLE@add');
    expect(c).toContain('E_CYCLE@gap');
    expect(c).not.toContain('E_CYCLE@b');
    // gap only follows the cycle a → … → add → a: its message says so and names a node on the cycle.
    const messages = Object.fromEntries(analyze(g).diagnostics.filter((d) => d.code === 'E_CYCLE').map((d) => [d.nodeId, d.message]));
    expect(messages.a).toMatch(/is part of a cycle$/);
    expect(messages.add).toMatch(/is part of a cycle$/);
    expect(messages.gap).toMatch(/follows a cycle \(through \S+\)$/);
    const twice: Graph = { ...doc.graph, edges: [...doc.graph.edges, { id: 'dup', source: 'b', sourcePort: 'out', target: 'add', targetPort: 'a' }] };
    expect(codes(twice)).toContain('E_PORT_MULTIPLE@add');
  });

  it('a connection that would create a cycle is refused by the command with a reason', () => {
    expect(() => applyCommand(tinyResidual(), connect({ source: 'add', sourcePort: 'out', target: 'a', targetPort: 'in' }))).toThrow(/cycle/);
  });

  it('invalid parameters, unknown kinds and bad edges are diagnostics, not exceptions', () => {
    const doc = tinyResidual();
    const g: Graph = {
      nodes: [...doc.graph.nodes.map((n) => (n.id === 'a' ? { ...n, params: { ...n.params, kernel: -3 } } : n)), { id: 'x', kind: 'warp_drive', name: 'x', params: {}, position: { x: 0, y: 0 } }],
      edges: [...doc.graph.edges, { id: 'bad', source: 'gap', sourcePort: 'nope', target: 'out', targetPort: 'logits' }, { id: 'ghost', source: 'zz', sourcePort: 'out', target: 'gap', targetPort: 'in' }],
    };
    const c = codes(g);
    expect(c).toContain('E_INVALID_PARAM@a');
    expect(c).toContain('E_UNKNOWN_KIND@x');
    expect(c).toContain('E_BAD_EDGE@out');
    expect(c).toContain('E_BAD_EDGE@gap');
  });

  it('a spatial size that shrinks to zero is reported where it happens', () => {
    const doc = applyCommand(tinyResidual(), setParams(['a'], { kernel: 15, padding: 0 }));
    expect(codes(applyCommand(doc, setParams(['in'], { height: 8, width: 8 })).graph)).toContain('E_SPATIAL_ZERO@a');
    // A full resnet50 never reaches zero with PyTorch's padded formula: 16×16 ends at 1×1.
    expect(analyze(buildPreset('resnet50', { input: [16, 16] }).graph).featureMap).toEqual([1, 1, 2048]);
  });

  it('a missing outputs node and a missing input are reported', () => {
    const doc = tinyResidual();
    expect(codes(applyCommand(doc, removeNodes(['out'])).graph)).toContain('E_NO_OUTPUT@');
    expect(codes(applyCommand(doc, removeNodes(['in'])).graph)).toContain('E_NO_INPUT@');
  });

  it('rank mismatches (a vector into a conv) are reported', () => {
    let doc = applyCommand(tinyResidual(), addNode({ kind: 'conv2d', id: 'c', position: { x: 0, y: 0 } }));
    doc = applyCommand(doc, connect({ source: 'gap', sourcePort: 'out', target: 'c', targetPort: 'in' }));
    const c = codes(doc.graph);
    expect(c).toContain('E_RANK_MISMATCH@c');
    expect(c).toContain('W_UNUSED_NODE@c');
  });
});
