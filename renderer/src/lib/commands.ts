import { current, produce } from 'immer';
import { addNode, CommandError, type Command, type GraphDoc, type GraphEdge, type GraphNode } from '../../../core/index.js';

/**
 * Several commands as one undoable step (e.g. expand + re-layout). Each runs in its own produce: some
 * commands (expand/collapse) replace `graph` with a plain object built from frozen nodes, which the next
 * command could not mutate inside the same draft.
 */
export function batch(id: string, label: string, cmds: Command[]): Command {
  return {
    id,
    label,
    recipe(d) {
      let doc = current(d) as GraphDoc;
      for (const c of cmds) doc = produce(doc, c.recipe);
      d.graph = doc.graph;
    },
  };
}

export interface Clipboard {
  nodes: GraphNode[];
  /** Only edges between copied nodes travel with them. */
  edges: GraphEdge[];
}

export function copySelection(doc: GraphDoc, ids: string[]): Clipboard | null {
  const set = new Set(ids);
  const nodes = doc.graph.nodes.filter((n) => set.has(n.id));
  if (!nodes.length) return null;
  return { nodes: structuredClone(nodes), edges: structuredClone(doc.graph.edges.filter((e) => set.has(e.source) && set.has(e.target))) };
}

/**
 * Pastes clipboard nodes at an offset with fresh ids and names. Pasted nodes leave any expanded group:
 * they are new blocks, not members of the composite they were copied from. Returns the command and,
 * through `onIds`, the ids it created (to select them).
 */
export function pasteCommand(clip: Clipboard, offset: { x: number; y: number }, onIds: (ids: string[]) => void): Command {
  return {
    id: 'paste',
    label: clip.nodes.length === 1 ? 'Paste block' : `Paste ${clip.nodes.length} blocks`,
    recipe(d) {
      const map = new Map<string, string>();
      for (const n of clip.nodes) {
        const base = n.id.replace(/[/']/g, '_').replace(/_\d+$/, '');
        addNode({ kind: n.kind, params: n.params, position: { x: n.position.x + offset.x, y: n.position.y + offset.y }, id: base, name: n.name.replace(/_\d+$/, '') }).recipe(d);
        const made = d.graph.nodes[d.graph.nodes.length - 1]!;
        if (n.frozen) made.frozen = true;
        if (n.statsFrozen !== undefined) made.statsFrozen = n.statsFrozen;
        map.set(n.id, made.id);
      }
      for (const e of clip.edges) {
        const source = map.get(e.source);
        const target = map.get(e.target);
        if (!source || !target) throw new CommandError('clipboard is inconsistent');
        d.graph.edges.push({ id: `${source}:${e.sourcePort}->${target}:${e.targetPort}`, source, sourcePort: e.sourcePort, target, targetPort: e.targetPort });
      }
      onIds([...map.values()]);
    },
  };
}
