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

/** Above this many blocks a single row becomes a thin line at fit view: wrap it into rows. */
export const WRAP_ABOVE = 24;

/**
 * Left-to-right layered layout (ELK "layered", the Sugiyama family) so data flows like the network:
 * input on the left, outputs on the right. Long networks (an expanded ResNet-152 is one 58…516-block
 * chain) wrap into rows with a screen-like aspect ratio, so fit view stays readable.
 */
export async function layoutGraph(graph: Graph, sizes: (id: string) => { width: number; height: number } | undefined): Promise<{ id: string; position: Position }[]> {
  const res = await elk.layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': '56',
      'elk.spacing.nodeNode': '28',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      ...(graph.nodes.length > WRAP_ABOVE ? { 'elk.layered.wrapping.strategy': 'MULTI_EDGE', 'elk.aspectRatio': '1.6' } : {}),
    },
    children: graph.nodes.map((n) => ({ id: n.id, ...(sizes(n.id) ?? DEFAULT_SIZE) })),
    edges: graph.edges
      .filter((e) => e.source !== e.target)
      .map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  return (res.children ?? []).map((c: ElkNode) => ({ id: c.id, position: { x: Math.round(c.x ?? 0), y: Math.round(c.y ?? 0) } }));
}
