import { getViewportForBounds, type Viewport } from '@xyflow/react';
import type { Graph } from '../../../core/index.js';

/**
 * The zoom the editor shows a document at, at least: block titles (13 px) then render at ≥ 11 px on screen
 * (test/e2e/readable.test.ts measures it).
 */
export const READABLE_ZOOM = 0.85;
export const MIN_ZOOM = 0.05;
/** Screen px between the window edge and a graph shown at the readable zoom. */
const EDGE = 24;
/** Fit-view padding (fraction of the pane), as React Flow's fitView takes it. */
export const FIT_PADDING = 0.08;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Bounding box (flow px) of `ids` (all nodes when omitted), each card `size(id)` large. */
export function boundsOf(graph: Graph, size: (id: string) => { width: number; height: number }, ids?: ReadonlySet<string>): Rect | null {
  const nodes = ids ? graph.nodes.filter((n) => ids.has(n.id)) : graph.nodes;
  if (!nodes.length) return null;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const n of nodes) {
    const s = size(n.id);
    x0 = Math.min(x0, n.position.x);
    y0 = Math.min(y0, n.position.y);
    x1 = Math.max(x1, n.position.x + s.width);
    y1 = Math.max(y1, n.position.y + s.height);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * The viewport a graph is shown at after it is opened or its structure changed: the whole graph fitted
 * (zoom ≤ 1) when that keeps it readable (zoom ≥ READABLE_ZOOM); otherwise the readable zoom with `focus`
 * (the blocks an edit brought in; the whole graph when opening) centred, or its top left corner at the
 * pane's when it is larger than the pane. `width` / `height`: the pane in screen px.
 */
export function readableViewport(all: Rect, focus: Rect, width: number, height: number): Viewport {
  const fit = getViewportForBounds(all, width, height, MIN_ZOOM, 1, FIT_PADDING);
  if (fit.zoom >= READABLE_ZOOM) return fit;
  const z = READABLE_ZOOM;
  const x = focus.width * z + 2 * EDGE <= width ? width / 2 - (focus.x + focus.width / 2) * z : EDGE - focus.x * z;
  const y = focus.height * z + 2 * EDGE <= height ? height / 2 - (focus.y + focus.height / 2) * z : EDGE - focus.y * z;
  return { x, y, zoom: z };
}

/**
 * Whether an edit changed the graph's structure so that the view must follow, and which blocks it brought
 * in: blocks replaced by others (expand, collapse, and their undo / redo) → the new blocks; most blocks
 * moved at once (auto-layout, or its undo) → every block. Adding, pasting, deleting or dragging blocks
 * leaves the view where the user put it (null).
 */
export function structuralChange(prev: Graph, next: Graph): ReadonlySet<string> | null {
  const before = new Map(prev.nodes.map((n) => [n.id, n]));
  const after = new Set(next.nodes.map((n) => n.id));
  const added = next.nodes.filter((n) => !before.has(n.id)).map((n) => n.id);
  const removed = prev.nodes.some((n) => !after.has(n.id));
  if (added.length && removed) return new Set(added);
  if (added.length || removed) return null;
  const moved = next.nodes.filter((n) => {
    const p = before.get(n.id)!.position;
    return p.x !== n.position.x || p.y !== n.position.y;
  }).length;
  return moved >= 3 && moved * 2 >= next.nodes.length ? after : null;
}
