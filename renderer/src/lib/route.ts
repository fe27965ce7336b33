/**
 * Orthogonal routing of residual shortcuts around the cards of the main path. In an expanded residual
 * block the identity edge (block input → add) runs along the same row as conv1 … bn2; drawn straight it
 * passes under every card, so each layer seems to have two inputs. He et al. 2016 (Fig. 2) draw the
 * shortcut as a detour beside the stacked layers: this router does the same on the canvas.
 *
 * Pure geometry in flow coordinates (px at zoom 1); no React, no DOM: unit-testable and cheap enough to
 * re-run on every drag frame for the 50-odd shortcuts of a fully expanded ResNet-152.
 */

export interface Box {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface Pt {
  x: number;
  y: number;
}

/** Horizontal distance the route keeps from the source / target handles before it turns. */
export const LEAD = 18;
/** Distance between the lane and the cards it passes (half the smallest gap ELK leaves between rows). */
export const LANE_GAP = 14;
/** How far above / below the handles a lane is looked for (about three rows of cards). */
export const WINDOW = 360;

/** Whether a horizontal or vertical segment enters the inside of a box (touching its border is allowed). */
export function segmentHits(a: Pt, b: Pt, o: Box): boolean {
  const x0 = Math.min(a.x, b.x);
  const x1 = Math.max(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  const y1 = Math.max(a.y, b.y);
  return x1 > o.x && x0 < o.x + o.width && y1 > o.y && y0 < o.y + o.height;
}

/** Cards sorted by left edge, so a route scans only the cards in its horizontal range. */
export interface Obstacles {
  sorted: readonly Box[];
  maxWidth: number;
}
export function obstacles(boxes: readonly Box[]): Obstacles {
  return { sorted: [...boxes].sort((a, b) => a.x - b.x), maxWidth: boxes.reduce((m, b) => Math.max(m, b.width), 0) };
}
/** Index of the first card whose left edge is ≥ x. */
function firstFrom(sorted: readonly Box[], x: number): number {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (sorted[m]!.x < x) a = m + 1;
    else b = m;
  }
  return a;
}

function clear(points: Pt[], boxes: readonly Box[]): boolean {
  for (let i = 1; i < points.length; i++) for (const o of boxes) if (segmentHits(points[i - 1]!, points[i]!, o)) return false;
  return true;
}

/**
 * The route of an edge from a right-side source handle `s` to a left-side target handle `t`, avoiding
 * the cards in `obs` (source and target included: the route leaves and enters them only at the handles).
 * Returns null when the direct step route (what React Flow's smoothstep draws: out, across at mid x, in)
 * crosses no card; otherwise the corner points of a detour through a horizontal lane just below (or
 * above) the cards it passes, the lane closest to the handles first, below before above.
 */
export function routeAround(s: Pt, t: Pt, obs: Obstacles): Pt[] | null {
  const x1 = s.x + LEAD;
  const x2 = t.x - LEAD;
  const lo = Math.min(x1, x2);
  const hi = Math.max(x1, x2);
  // Lanes are looked for within a band around the handles (a few rows of cards): every segment of a
  // route stays inside it, so only cards that reach into the band can block one. One pass over the cards.
  const top = Math.min(s.y, t.y) - WINDOW;
  const bottom = Math.max(s.y, t.y) + WINDOW;
  const near: Box[] = [];
  const span: Box[] = [];
  const stubs: Box[] = [];
  const { sorted } = obs;
  const xMin = Math.min(s.x, lo);
  const xMax = Math.max(t.x, hi) + 1;
  for (let i = firstFrom(sorted, xMin - obs.maxWidth); i < sorted.length && sorted[i]!.x < xMax; i++) {
    const o = sorted[i]!;
    if (o.y + o.height <= top || o.y >= bottom) continue;
    const right = o.x + o.width;
    if (o.x < t.x && right > s.x) near.push(o);
    // Only cards in the lane's horizontal span can block it; the lead-out / lead-in stubs are checked apart.
    if (o.x < hi && right > lo) span.push(o);
    if ((o.x < x1 + 1 && right > s.x) || (o.x < t.x && right > x2 - 1)) stubs.push(o);
  }
  if (t.x > s.x) {
    const mx = (s.x + t.x) / 2;
    if (clear([s, { x: mx, y: s.y }, { x: mx, y: t.y }, t], near)) return null;
  }
  const lanes: { y: number; cost: number }[] = [];
  for (const o of span)
    for (const y of [o.y + o.height + LANE_GAP, o.y - LANE_GAP])
      // Shortest vertical travel first; on a tie, below (positive y) wins.
      if (y > top && y < bottom) lanes.push({ y, cost: Math.abs(y - s.y) + Math.abs(y - t.y) + (y < Math.min(s.y, t.y) ? 0.5 : 0) });
  lanes.sort((a, b) => a.cost - b.cost);
  for (const { y } of lanes) {
    const pts = [s, { x: x1, y: s.y }, { x: x1, y }, { x: x2, y }, { x: x2, y: t.y }, t];
    if (clear(pts.slice(1, 5), span) && clear(pts, stubs)) return pts;
  }
  // Nothing clear (cards overlap): below everything in the span.
  const y = Math.max(s.y, t.y, ...span.map((o) => o.y + o.height)) + LANE_GAP;
  return [s, { x: x1, y: s.y }, { x: x1, y }, { x: x2, y }, { x: x2, y: t.y }, t];
}

/** An SVG path through orthogonal corner points, corners rounded with radius ≤ `r` (as smoothstep draws them). */
export function roundedPath(pts: readonly Pt[], r = 8): string {
  let d = `M${pts[0]!.x},${pts[0]!.y}`;
  for (let i = 1; i < pts.length - 1; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    const c = pts[i + 1]!;
    const k = Math.min(r, Math.hypot(b.x - a.x, b.y - a.y) / 2, Math.hypot(c.x - b.x, c.y - b.y) / 2);
    const ux = Math.sign(b.x - a.x);
    const uy = Math.sign(b.y - a.y);
    const vx = Math.sign(c.x - b.x);
    const vy = Math.sign(c.y - b.y);
    d += ` L${b.x - ux * k},${b.y - uy * k} Q${b.x},${b.y} ${b.x + vx * k},${b.y + vy * k}`;
  }
  const last = pts[pts.length - 1]!;
  return `${d} L${last.x},${last.y}`;
}
