import { memo, useMemo } from 'react';
import { BaseEdge, getSmoothStepPath, useStore, type EdgeProps, type Node, type ReactFlowState } from '@xyflow/react';
import { DEFAULT_SIZE } from '../lib/layout.js';
import { obstacles, roundedPath, routeAround, type Obstacles } from '../lib/route.js';

/** Card boxes per React Flow node array: built once per array, shared by every shortcut edge. */
const boxCache = new WeakMap<readonly Node[], Obstacles>();
function obstaclesOf(nodes: readonly Node[]): Obstacles {
  let o = boxCache.get(nodes);
  if (!o) {
    o = obstacles(nodes.map((n) => ({ id: n.id, x: n.position.x, y: n.position.y, width: n.measured?.width ?? DEFAULT_SIZE.width, height: n.measured?.height ?? DEFAULT_SIZE.height })));
    boxCache.set(nodes, o);
  }
  return o;
}

/**
 * An edge into a residual `add`: drawn as smoothstep when that route is clear, otherwise routed through a
 * lane beside the cards of the main path (lib/route.ts). The path is computed in a store selector that
 * returns a string, so the edge re-renders only when its own route changes (not on pan / zoom, not when
 * an unrelated card is dragged).
 */
function SkipEdgeView({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, markerEnd, style, interactionWidth }: EdgeProps) {
  const path = useStore(
    useMemo(() => {
      // The route depends on the handles (this closure) and the cards (the node array): pan / zoom
      // frames keep the array, so they reuse the last route.
      let last: { nodes: readonly Node[]; path: string } | null = null;
      return (st: ReactFlowState) => {
        if (last?.nodes === st.nodes) return last.path;
        const pts = routeAround({ x: sourceX, y: sourceY }, { x: targetX, y: targetY }, obstaclesOf(st.nodes));
        last = { nodes: st.nodes, path: pts ? roundedPath(pts) : getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition })[0] };
        return last.path;
      };
    }, [sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition]),
  );
  return <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} interactionWidth={interactionWidth} />;
}

export const SkipEdge = memo(SkipEdgeView);
