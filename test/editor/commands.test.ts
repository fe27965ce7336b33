import { describe, expect, it } from 'vitest';
import { analyze, buildPreset, createHistory, execute, expandNode, moveNodes, serializeDocument, undo } from '../../core/index.js';
import { batch, copySelection, pasteCommand } from '../../renderer/src/lib/commands.js';
import { layoutGraph } from '../../renderer/src/lib/layout.js';
import { projectEdges, projectNodes } from '../../renderer/src/store/projection.js';

/* The renderer's pure helpers, run in Node against the real core (no DOM needed). */
describe('renderer edit helpers', () => {
  it('expand + auto-layout is one undo step, and undo restores the document byte for byte', async () => {
    const start = buildPreset('resnet50');
    let h = createHistory(start);
    const expanded = execute(createHistory(start), expandNode('layer1')).doc;
    const pos = await layoutGraph(expanded.graph, () => undefined);
    h = execute(h, batch('expandNode', 'Expand base.layer1', [expandNode('layer1'), moveNodes(pos)]));
    expect(h.past).toHaveLength(1);
    expect(h.doc.graph.nodes.filter((n) => n.group?.id === 'layer1')).toHaveLength(3); // resnet50 layer1: 3 bottlenecks
    // Read like text: every edge goes to a node further right on its row, or on a later row (a card lower).
    const at = new Map(h.doc.graph.nodes.map((n) => [n.id, n.position]));
    expect(h.doc.graph.edges.filter((e) => e.target !== 'output').filter((e) => !(at.get(e.source)!.x < at.get(e.target)!.x || at.get(e.target)!.y >= at.get(e.source)!.y + 112))).toEqual([]);
    // Rows, not one 12-card row (issue 22: fit view of that row was at 0.2–0.3 zoom).
    const xs = pos.map((p) => p.position.x);
    const ys = pos.map((p) => p.position.y);
    expect(Math.max(...xs) - Math.min(...xs)).toBeLessThan(4 * 300);
    expect(Math.max(...ys) - Math.min(...ys)).toBeGreaterThan(2 * 112);
    expect(analyze(h.doc.graph).totals).toEqual(analyze(start.graph).totals);
    expect(serializeDocument(undo(h).doc)).toBe(serializeDocument(start));
  });

  it('paste gives fresh ids and names, keeps the edges between copied blocks, drops outside ones', () => {
    const doc = buildPreset('resnet18');
    const clip = copySelection(doc, ['gap', 'neck', 'classifier'])!;
    expect(clip.edges.map((e) => e.id).sort()).toEqual(['gap:out->neck:in', 'neck:after->classifier:in']);
    let made: string[] = [];
    const h = execute(createHistory(doc), pasteCommand(clip, { x: 40, y: 40 }, (ids) => (made = ids)));
    expect(made).toHaveLength(3);
    const ids = new Set(doc.graph.nodes.map((n) => n.id));
    const names = new Set(doc.graph.nodes.map((n) => n.name));
    const pasted = h.doc.graph.nodes.filter((n) => made.includes(n.id));
    expect(pasted.every((n) => !ids.has(n.id) && !names.has(n.name))).toBe(true);
    expect(h.doc.graph.edges.filter((e) => made.includes(e.source) && made.includes(e.target))).toHaveLength(2);
    // The pasted head has no input: the analysis says so on the pasted pooling block.
    const pool = pasted.find((n) => n.kind === 'global_avg_pool')!;
    expect(analyze(h.doc.graph).diagnostics.some((d) => d.code === 'E_UNCONNECTED_INPUT' && d.nodeId === pool.id)).toBe(true);
  });

  it('the React Flow projection reuses unchanged node and edge objects after an edit', () => {
    const h0 = createHistory(buildPreset('resnet50'));
    const a0 = analyze(h0.doc.graph);
    const n0 = projectNodes(h0.doc, a0, new Set(), []);
    const e0 = projectEdges(h0.doc, a0, new Set(), []);
    const h1 = execute(h0, moveNodes([{ id: 'gap', position: { x: 5, y: 5 } }]));
    const a1 = analyze(h1.doc.graph);
    const n1 = projectNodes(h1.doc, a1, new Set(), n0);
    expect(n1.filter((n, i) => n !== n0[i]).map((n) => n.id)).toEqual(['gap']);
    expect(projectEdges(h1.doc, a1, new Set(), e0).every((e, i) => e === e0[i])).toBe(true);
    // Selecting a node replaces only that node's projection.
    const n2 = projectNodes(h1.doc, a1, new Set(['layer2']), n1);
    expect(n2.filter((n, i) => n !== n1[i]).map((n) => n.id)).toEqual(['layer2']);
  });
});
