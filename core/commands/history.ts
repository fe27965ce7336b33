import { applyPatches, enablePatches, produce, produceWithPatches, type Patch } from 'immer';
import type { GraphDoc } from '../graph/types.js';
import type { Command } from './commands.js';

enablePatches();

export interface HistoryEntry {
  label: string;
  patches: Patch[];
  inverse: Patch[];
}

/** The document plus undo/redo stacks. Selection and viewport are session state and never live here. */
export interface History {
  doc: GraphDoc;
  past: HistoryEntry[];
  future: HistoryEntry[];
}

export const MAX_HISTORY = 500;

export function createHistory(doc: GraphDoc): History {
  return { doc, past: [], future: [] };
}

/** Applies a command without history (pure: returns a new document). Throws CommandError. */
export function applyCommand(doc: GraphDoc, cmd: Command): GraphDoc {
  return produce(doc, cmd.recipe);
}

/** Runs a command as one undoable step. Throws CommandError (history unchanged) when it is refused. */
export function execute(h: History, cmd: Command): History {
  const [doc, patches, inverse] = produceWithPatches(h.doc, cmd.recipe);
  if (!patches.length) return h;
  return { doc, past: [...h.past, { label: cmd.label, patches, inverse }].slice(-MAX_HISTORY), future: [] };
}

export function undo(h: History): History {
  const e = h.past[h.past.length - 1];
  if (!e) return h;
  return { doc: applyPatches(h.doc, e.inverse), past: h.past.slice(0, -1), future: [e, ...h.future] };
}

export function redo(h: History): History {
  const e = h.future[0];
  if (!e) return h;
  return { doc: applyPatches(h.doc, e.patches), past: [...h.past, e], future: h.future.slice(1) };
}
