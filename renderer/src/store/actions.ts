import {
  applyCommand,
  applyIbnPlacement,
  collapseGroup,
  disconnect,
  EXPANDABLE_KINDS,
  expandNode,
  freezeBackbone,
  getKind,
  moveNodes,
  removeNodes,
  setFrozen,
  setStatsFrozen,
  swapNorm,
  CommandError,
  type GraphDoc,
} from '../../../core/index.js';
import { batch, copySelection, pasteCommand } from '../lib/commands.js';
import { DEFAULT_SIZE, layoutGraph } from '../lib/layout.js';
import { notify, redo, run, select, undo, useEditor, type EditorState } from './editor.js';
import { guardUnsaved, openPath, save, saveAs } from './files.js';
import { nativeOpen } from './native.js';
import { importConfigAction, openExport } from './ops.js';
import { useTraining } from './training.js';

const get = useEditor.getState;
const set = useEditor.setState;

/** A named user action: toolbar, context menu, keyboard and the shortcuts overlay all read this table. */
export interface Action {
  id: string;
  label: string;
  group: 'File' | 'Edit' | 'Model' | 'View';
  /** Display form, e.g. "Mod+Z"; Mod is Ctrl (Cmd on macOS). */
  keys?: string;
  enabled?: (s: EditorState) => boolean;
  run: () => void;
}

const sel = (s: EditorState) => [...s.selectedNodes];
const hasSel = (s: EditorState) => s.selectedNodes.size > 0;
const selNodes = (s: EditorState) => s.history.doc.graph.nodes.filter((n) => s.selectedNodes.has(n.id));
let pasteCount = 0;

/** Measured card size, never below the typical size (zoomed-out cards are measured short). */
function sizeOf(id: string) {
  const n = get().nodes.find((x) => x.id === id);
  if (!n?.measured?.width || !n.measured.height) return undefined;
  return { width: Math.max(n.measured.width, DEFAULT_SIZE.width), height: Math.max(n.measured.height, DEFAULT_SIZE.height) };
}

/** Width / height of the canvas pane (the aspect the layout wraps rows to); undefined before it is shown. */
function canvasAspect(): number | undefined {
  const r = document.querySelector('[data-testid="canvas"]')?.getBoundingClientRect();
  return r && r.width > 0 && r.height > 0 ? r.width / r.height : undefined;
}

/** Runs a structural command, then lays the result out, as one undo step. */
async function withLayout(id: string, label: string, make: () => import('../../../core/index.js').Command): Promise<void> {
  const cmd = make();
  let next: GraphDoc;
  try {
    next = applyCommand(get().history.doc, cmd);
  } catch (e) {
    if (e instanceof CommandError) return notify(`${label}: ${e.message}`, 'error');
    throw e;
  }
  const pos = await layoutGraph(next.graph, sizeOf, canvasAspect());
  run(batch(id, label, [cmd, moveNodes(pos)]));
}

export async function autoLayout(): Promise<void> {
  const pos = await layoutGraph(get().history.doc.graph, sizeOf, canvasAspect());
  run(batch('autoLayout', 'Auto-layout', [moveNodes(pos)]));
}

export function expandSelected(): void {
  const n = selNodes(get()).find((x) => (EXPANDABLE_KINDS as readonly string[]).includes(x.kind));
  if (!n) return notify('Select a stage, stem or residual block to expand', 'warning');
  void withLayout('expandNode', `Expand ${n.name}`, () => expandNode(n.id));
}

export function expandById(id: string): void {
  const n = get().history.doc.graph.nodes.find((x) => x.id === id);
  if (n) void withLayout('expandNode', `Expand ${n.name}`, () => expandNode(id));
}

export function collapseById(groupId: string): void {
  void withLayout('collapseGroup', 'Collapse', () => collapseGroup(groupId));
}

export function collapseSelected(): void {
  const g = selNodes(get()).find((n) => n.group)?.group;
  if (!g) return notify('Select a block that came from an expanded stage or block', 'warning');
  collapseById(g.id);
}

export function deleteSelection(): void {
  const s = get();
  const nodes = sel(s);
  const edges = [...s.selectedEdges];
  if (!nodes.length && !edges.length) return;
  const cmds = [];
  if (edges.length) cmds.push(disconnect(edges));
  if (nodes.length) cmds.push(removeNodes(nodes));
  run(batch('delete', nodes.length ? `Delete ${nodes.length} block${nodes.length > 1 ? 's' : ''}` : 'Delete connection', cmds));
}

function copy(): void {
  const clip = copySelection(get().history.doc, sel(get()));
  if (clip) {
    set({ clipboard: clip });
    pasteCount = 0;
  }
}

function paste(): void {
  const clip = get().clipboard;
  if (!clip) return;
  pasteCount++;
  let ids: string[] = [];
  if (run(pasteCommand(clip, { x: 40 * pasteCount, y: 40 * pasteCount }, (made) => (ids = made)))) select(ids);
}

export const ACTIONS: Action[] = [
  // A new model is made in the editor: the gallery opens there, not over the training view.
  { id: 'file.new', label: 'New from preset…', group: 'File', keys: 'Mod+N', run: () => (useTraining.setState({ open: false }), set({ dialog: { kind: 'presets' } })) },
  {
    id: 'file.open',
    label: 'Open…',
    group: 'File',
    keys: 'Mod+O',
    run: () =>
      guardUnsaved('open another model', () =>
        void nativeOpen('document').then((r) => (r.native ? r.path && void openPath(r.path) : set({ dialog: { kind: 'open' } }))),
      ),
  },
  { id: 'file.save', label: 'Save', group: 'File', keys: 'Mod+S', run: () => void save() },
  { id: 'file.saveAs', label: 'Save as…', group: 'File', keys: 'Mod+Shift+S', run: () => void saveAs() },
  { id: 'file.export', label: 'Export…', group: 'File', keys: 'Mod+E', run: () => openExport() },
  { id: 'file.importConfig', label: 'Import config…', group: 'File', run: importConfigAction },
  { id: 'edit.undo', label: 'Undo', group: 'Edit', keys: 'Mod+Z', enabled: (s) => s.history.past.length > 0, run: undo },
  { id: 'edit.redo', label: 'Redo', group: 'Edit', keys: 'Mod+Shift+Z', enabled: (s) => s.history.future.length > 0, run: redo },
  { id: 'edit.cut', label: 'Cut', group: 'Edit', keys: 'Mod+X', enabled: hasSel, run: () => (copy(), deleteSelection()) },
  { id: 'edit.copy', label: 'Copy', group: 'Edit', keys: 'Mod+C', enabled: hasSel, run: copy },
  { id: 'edit.paste', label: 'Paste', group: 'Edit', keys: 'Mod+V', enabled: (s) => !!s.clipboard, run: paste },
  { id: 'edit.duplicate', label: 'Duplicate', group: 'Edit', keys: 'Mod+D', enabled: hasSel, run: () => (copy(), paste()) },
  { id: 'edit.delete', label: 'Delete', group: 'Edit', keys: 'Delete', enabled: (s) => hasSel(s) || s.selectedEdges.size > 0, run: deleteSelection },
  { id: 'edit.selectAll', label: 'Select all', group: 'Edit', keys: 'Mod+A', run: () => select(get().history.doc.graph.nodes.map((n) => n.id)) },
  { id: 'model.ibn', label: 'Norm → IBN-a', group: 'Model', enabled: hasSel, run: () => void run(swapNorm(sel(get()), 'ibn_a')) },
  { id: 'model.bn', label: 'Norm → BN', group: 'Model', enabled: hasSel, run: () => void run(swapNorm(sel(get()), 'bn')) },
  { id: 'model.in', label: 'Norm → IN', group: 'Model', enabled: hasSel, run: () => void run(swapNorm(sel(get()), 'in')) },
  { id: 'model.ibnPlacement', label: 'Apply paper IBN-a placement', group: 'Model', run: () => void run(applyIbnPlacement()) },
  { id: 'model.freeze', label: 'Freeze', group: 'Model', keys: 'Mod+F', enabled: hasSel, run: () => void run(setFrozen(sel(get()).filter((id) => getKind(get().history.doc.graph.nodes.find((n) => n.id === id)!.kind)?.freezable), true)) },
  { id: 'model.unfreeze', label: 'Unfreeze', group: 'Model', keys: 'Mod+Shift+F', enabled: hasSel, run: () => void run(setFrozen(sel(get()), false)) },
  { id: 'model.freezeBackbone', label: 'Freeze backbone', group: 'Model', run: () => void run(freezeBackbone(true)) },
  { id: 'model.unfreezeBackbone', label: 'Unfreeze backbone', group: 'Model', run: () => void run(freezeBackbone(false)) },
  { id: 'model.statsOn', label: 'Freeze BN statistics', group: 'Model', enabled: hasSel, run: () => void run(setStatsFrozen(sel(get()), true)) },
  { id: 'model.statsOff', label: 'Update BN statistics', group: 'Model', enabled: hasSel, run: () => void run(setStatsFrozen(sel(get()), false)) },
  { id: 'model.expand', label: 'Expand', group: 'Model', keys: 'E', enabled: hasSel, run: expandSelected },
  { id: 'model.collapse', label: 'Collapse group', group: 'Model', keys: 'Shift+E', enabled: (s) => selNodes(s).some((n) => n.group), run: collapseSelected },
  { id: 'view.layout', label: 'Auto-layout', group: 'View', keys: 'L', run: () => void autoLayout() },
  { id: 'view.fit', label: 'Fit view', group: 'View', keys: 'F', run: () => window.dispatchEvent(new Event('reid:fit')) },
  { id: 'view.fitSelection', label: 'Zoom to selection', group: 'View', keys: 'Shift+F', enabled: hasSel, run: () => window.dispatchEvent(new Event('reid:fit-selection')) },
  { id: 'view.help', label: 'Keyboard shortcuts', group: 'View', keys: '?', run: () => set({ dialog: { kind: 'help' } }) },
];

export const actionById = (id: string) => ACTIONS.find((a) => a.id === id)!;

/** "Mod+Shift+Z" → does this keyboard event match? Mod is Ctrl, or Cmd on macOS. */
function matches(keys: string, ev: KeyboardEvent): boolean {
  const parts = keys.split('+');
  const key = parts[parts.length - 1]!;
  const mod = parts.includes('Mod');
  const shift = parts.includes('Shift');
  if (mod !== (ev.ctrlKey || ev.metaKey) || ev.altKey) return false;
  if (key === '?') return ev.key === '?';
  if (shift !== ev.shiftKey) return false;
  if (key === 'Delete') return ev.key === 'Delete' || ev.key === 'Backspace';
  return ev.key.toLowerCase() === key.toLowerCase();
}

/** Global shortcuts; ignored while typing in a form field. */
/**
 * While the training view covers the canvas only file, undo / redo (which also undo settings edits) and help
 * act: canvas edits (delete, paste, layout, model actions) would change an invisible selection.
 */
export function availableOverTraining(actionId: string): boolean {
  return /^(file\.|edit\.undo|edit\.redo|view\.help)/.test(actionId);
}

export function handleKey(ev: KeyboardEvent): void {
  const t = ev.target as HTMLElement | null;
  const s = get();
  // Escape closes a dialog or menu from anywhere, its own text fields included.
  if (ev.key === 'Escape') {
    if (s.dialog && s.dialog.kind !== 'confirm') set({ dialog: null });
    set({ contextMenu: null });
    return;
  }
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
  if (s.dialog) return;
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 'y') {
    ev.preventDefault();
    return redo();
  }
  // While the training panel covers the canvas, only file, undo / redo (which also undo settings edits) and
  // help shortcuts apply: canvas edits (delete, paste, model actions) would act on an invisible selection.
  const canvasHidden = useTraining.getState().open;
  for (const a of ACTIONS) {
    if (canvasHidden && !availableOverTraining(a.id)) continue;
    if (a.keys && matches(a.keys, ev)) {
      ev.preventDefault();
      if (!a.enabled || a.enabled(s)) a.run();
      return;
    }
  }
}
