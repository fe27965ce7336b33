/**
 * The desktop shell's decisions, as pure functions (no Electron import), so they are
 * unit-tested without the Electron binary: the application menu, document file names, the unsaved-changes
 * prompt, the window background and the About panel.
 */
import { DOC_EXTENSION, DOC_EXTENSIONS, isDocumentPath } from '../../../core/format/extensions.js';
/** The part of Electron's MenuItemConstructorOptions the menu uses (Electron's typings are not installed everywhere). */
export interface MenuItemConstructorOptions {
  label?: string;
  accelerator?: string;
  registerAccelerator?: boolean;
  click?: () => void;
  role?: 'appMenu' | 'close' | 'quit' | 'cut' | 'copy' | 'paste' | 'resetZoom' | 'zoomIn' | 'zoomOut' | 'togglefullscreen' | 'toggleDevTools' | 'help' | 'about';
  type?: 'separator';
  enabled?: boolean;
  submenu?: MenuItemConstructorOptions[];
}

/** Dialog filter: the registered document type (file association) first; `.json` documents still open. */
export const DOC_FILTERS = [{ name: 'ReID Studio graph', extensions: DOC_EXTENSIONS.map((e) => e.slice(1)) }];

/** A save path as the dialog returned it, with the registered extension unless it already has one of ours. */
export function documentSavePath(path: string): string {
  return isDocumentPath(path) ? path : `${path}${DOC_EXTENSION}`;
}

/** The suggested file name of a document named `name` (a preset name, or the file's own name). */
export function suggestedFileName(name: string | undefined): string {
  const base = (name ?? '').replace(/\.(reidgraph|json)$/i, '').replace(/[\\/:*?"<>|\x00-\x1f]+/g, '_').trim() || 'model';
  return `${base}${DOC_EXTENSION}`;
}

/** The unsaved-changes prompt (`will-prevent-unload`): buttons, and whether a response lets the window close. */
export const UNSAVED_PROMPT = {
  buttons: ['Discard changes and close', 'Cancel'],
  defaultId: 1,
  cancelId: 1,
  message: 'The model has unsaved changes.',
  detail: 'Closing discards them. Save first with File ▸ Save (Ctrl+S) to keep them.',
};
/** True when the user chose to close anyway (Electron: call event.preventDefault() to let the page unload). */
export const closeAnyway = (response: number): boolean => response === 0;

/** The crashed-renderer prompt: Reload or Close. */
export const CRASH_PROMPT = { buttons: ['Reload', 'Close window'], defaultId: 0, cancelId: 1, message: 'The ReID Studio window stopped working.' };

/** The window's background before the page paints: follows the OS theme (the page's own --bg colours). */
export function windowBackground(dark: boolean): string {
  return dark ? '#14171c' : '#f4f5f7';
}

/** About panel on every OS (app.setAboutPanelOptions). */
export function aboutOptions(version: string): { applicationName: string; applicationVersion: string; version: string; copyright: string; website: string; credits: string } {
  return {
    applicationName: 'ReID Studio',
    applicationVersion: version,
    version,
    copyright: 'MIT License · ReID Studio contributors',
    website: 'https://arxiv.org/abs/1903.07071',
    credits: 'Person / vehicle re-identification models in the reid-strong-baseline and fast-reid family, trained with TensorFlow.js.',
  };
}

export interface MenuHandlers {
  /** Sends a renderer action by name (undo, redo, selectAll, fitView, save, …). */
  action: (name: string) => () => void;
  open: () => void;
  saveAs: () => void;
  openRecent: (path: string) => void;
  revealRuns: () => void;
  openExternal: (url: string) => void;
}

/**
 * The application menu. Edit / view shortcuts that the page itself handles (undo, redo, select all, fit
 * view, duplicate) are shown but not registered as global accelerators (`registerAccelerator: false`):
 * the page's key handler gets them, and skips them while the focus is in a text field, so Ctrl+Z / Ctrl+A
 * in a field act on the field's text instead of the graph.
 */
export function menuTemplate(o: { isMac: boolean; isPackaged: boolean; recent: { path: string; name: string }[] }, h: MenuHandlers): MenuItemConstructorOptions[] {
  const pageKey = (label: string, accelerator: string, action: string): MenuItemConstructorOptions => ({ label, accelerator, registerAccelerator: false, click: h.action(action) });
  return [
    ...(o.isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'New from Preset…', accelerator: 'CmdOrCtrl+N', click: h.action('new') },
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: h.open },
        { label: 'Open Recent', submenu: o.recent.length ? o.recent.map((r) => ({ label: r.name, click: () => h.openRecent(r.path) })) : [{ label: 'No recent files', enabled: false }] },
        { type: 'separator' },
        { label: 'Save', accelerator: 'CmdOrCtrl+S', click: h.action('save') },
        { label: 'Save As…', accelerator: 'CmdOrCtrl+Shift+S', click: h.saveAs },
        { type: 'separator' },
        pageKey('Export…', 'CmdOrCtrl+E', 'export'),
        { label: 'Import Config…', click: h.action('importConfig') },
        { type: 'separator' },
        { label: 'Reveal Runs Folder', click: h.revealRuns },
        { type: 'separator' },
        o.isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      label: 'Edit',
      submenu: [
        pageKey('Undo', 'CmdOrCtrl+Z', 'undo'),
        pageKey('Redo', 'CmdOrCtrl+Shift+Z', 'redo'),
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        pageKey('Duplicate', 'CmdOrCtrl+D', 'duplicate'),
        pageKey('Select All', 'CmdOrCtrl+A', 'selectAll'),
      ],
    },
    {
      label: 'View',
      submenu: [
        pageKey('Fit View', 'Shift+1', 'fitView'),
        pageKey('Auto Layout', 'CmdOrCtrl+L', 'autoLayout'),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'togglefullscreen' },
        ...(o.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    {
      label: 'Model',
      submenu: [
        { label: 'Swap Norm to IBN-a', click: h.action('swapIbn') },
        { label: 'Swap Norm to BN', click: h.action('swapBn') },
        { label: 'Apply IBN-a Placement (layer1–3)', click: h.action('ibnPlacement') },
        { type: 'separator' },
        { label: 'Freeze Backbone', click: h.action('freezeBackbone') },
        { label: 'Unfreeze Backbone', click: h.action('unfreezeBackbone') },
        { type: 'separator' },
        { label: 'Expand / Collapse Stage', click: h.action('toggleExpand') },
      ],
    },
    { label: 'Train', submenu: [pageKey('Train', 'CmdOrCtrl+Enter', 'train'), { label: 'Stop', click: h.action('stop') }] },
    {
      role: 'help',
      submenu: [
        pageKey('Keyboard Shortcuts', 'CmdOrCtrl+/', 'shortcuts'),
        { label: 'Bag of Tricks paper (arXiv 1903.07071)', click: () => h.openExternal('https://arxiv.org/abs/1903.07071') },
        { label: 'IBN-Net paper (arXiv 1807.09441)', click: () => h.openExternal('https://arxiv.org/abs/1807.09441') },
        ...(o.isMac ? [] : [{ type: 'separator' as const }, { role: 'about' as const }]),
      ],
    },
  ];
}
