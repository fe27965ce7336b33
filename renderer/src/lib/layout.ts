import * as elkModule from 'elkjs/lib/elk.bundled.js';
import type { ELK, ElkNode } from 'elkjs/lib/elk-api.js';
import type { Graph, Position } from '../../../core/index.js';

// elkjs is CommonJS: bundlers (the renderer) and Node (tests, bench) expose the class as `default`, but
// under NodeNext typing the default import is the module namespace. Resolve it once, typed.
type ElkCtor = new () => ELK;
const mod = elkModule as unknown as { default: ElkCtor | { default: ElkCtor } };
const Elk: ElkCtor = typeof mod.default === 'function' ? mod.default : mod.default.default;
const elk = new Elk();

export const DEFAULT_SIZE = { width: 200, height: 112 };

/** Width / height of the drawing when the canvas's is not known (a 1440×900 window's canvas is about this). */
export const DEFAULT_ASPECT = 1.6;

/**
 * Left-to-right layered layout (ELK "layered", the Sugiyama family) so data flows like the network:
 * input on the left, outputs on the right, wrapped into rows read like text (ELK's graph wrapping) whose
 * drawing has the canvas's aspect ratio `aspect` (width / height): a ResNet is one long chain (10 blocks
 * for the Baseline, 58…516 once expanded), and one row of it fits a window only at 0.2–0.4 zoom, where
 * titles are unreadable (issue 22). Returns the top-left position (flow px) of every node.
 */
export async function layoutGraph(graph: Graph, sizes: (id: string) => { width: number; height: number } | undefined, aspect = DEFAULT_ASPECT): Promise<{ id: string; position: Position }[]> {
  const res = await elk.layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': '56',
      'elk.spacing.nodeNode': '28',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.wrapping.strategy': 'MULTI_EDGE',
      'elk.aspectRatio': String(Number.isFinite(aspect) && aspect > 0 ? aspect : DEFAULT_ASPECT),
    },
    children: graph.nodes.map((n) => ({ id: n.id, ...(sizes(n.id) ?? DEFAULT_SIZE) })),
    edges: graph.edges
      .filter((e) => e.source !== e.target)
      .map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  return (res.children ?? []).map((c: ElkNode) => ({ id: c.id, position: { x: Math.round(c.x ?? 0), y: Math.round(c.y ?? 0) } }));
}
