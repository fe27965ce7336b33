import { describe, expect, it } from 'vitest';
import { buildPreset, createHistory, EXPANDABLE_KINDS, execute, expandNode, getKind, type GraphDoc } from '../../core/index.js';
import { DEFAULT_SIZE, layoutGraph } from '../../renderer/src/lib/layout.js';
import { obstacles, routeAround, segmentHits, type Box } from '../../renderer/src/lib/route.js';

/* The shortcut router over the real ELK layout of a fully expanded ResNet-50 (16 bottlenecks, wrapped rows). */
function expandAll(doc: GraphDoc): GraphDoc {
  let h = createHistory(doc);
  for (;;) {
    const n = h.doc.graph.nodes.find((x) => (EXPANDABLE_KINDS as readonly string[]).includes(x.kind));
    if (!n) return h.doc;
    h = execute(h, expandNode(n.id));
  }
}

/** Handle positions as React Flow gives them: ports spread over the card's height, 4.5 px outside its border. */
function handle(b: Box, kind: string, port: string, side: 'in' | 'out') {
  const ports = (side === 'in' ? getKind(kind)!.inputs : getKind(kind)!.outputs).map((p) => p.name);
  const i = ports.indexOf(port);
  return { x: side === 'out' ? b.x + b.width + 4.5 : b.x - 4.5, y: b.y + (b.height * (i + 1)) / (ports.length + 1) };
}

describe('shortcut routing', () => {
  it('every edge into a residual add of an expanded ResNet-50 crosses no card', async () => {
    const doc = expandAll(buildPreset('resnet50'));
    const pos = await layoutGraph(doc.graph, () => undefined);
    const boxes: Box[] = pos.map((p) => ({ id: p.id, ...p.position, ...DEFAULT_SIZE }));
    const obs = obstacles(boxes);
const byId = new Map(boxes.map((b) => [b.id, b]));
    const kindOf = new Map(doc.graph.nodes.map((n) => [n.id, n.kind]));
    const joins = doc.graph.edges.filter((e) => kindOf.get(e.target) === 'add');
    expect(joins.length).toBe(2 * 16);
    let detours = 0;
    for (const e of joins) {
      const s = handle(byId.get(e.source)!, kindOf.get(e.source)!, e.sourcePort, 'out');
      const t = handle(byId.get(e.target)!, 'add', e.targetPort, 'in');
      const pts = routeAround(s, t, obs);
      if (!pts) continue; // the direct route is clear (checked by routeAround itself)
      detours++;
      for (let i = 1; i < pts.length; i++) for (const b of boxes) expect(segmentHits(pts[i - 1]!, pts[i]!, b), `${e.id} crosses ${b.id}`).toBe(false);
    }
    // The 12 identity shortcuts (blocks without a downsample) cannot go straight.
    expect(detours).toBeGreaterThanOrEqual(12);
  });

  it('keeps the direct route when nothing is in the way, and detours below a card that is', () => {
    const s = { x: 100, y: 50 };
    const t = { x: 400, y: 50 };
    expect(routeAround(s, t, obstacles([]))).toBeNull();
    const card: Box = { id: 'c', x: 200, y: 0, width: 100, height: 100 };
    const pts = routeAround(s, t, obstacles([card]))!;
    expect(Math.max(...pts.map((p) => p.y))).toBeGreaterThan(100);
    for (let i = 1; i < pts.length; i++) expect(segmentHits(pts[i - 1]!, pts[i]!, card)).toBe(false);
  });
});
