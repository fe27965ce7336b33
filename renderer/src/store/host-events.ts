import { parseDocument } from '../../../core/index.js';
import { api } from '../api/client.js';
import { ACTIONS } from './actions.js';
import { loadDoc, notify, useEditor } from './editor.js';
import { guardUnsaved, saveTo } from './files.js';

/** Native menu items of the desktop host → the same actions the toolbar and shortcuts run. */
const MENU_TO_ACTION: Record<string, string> = {
  new: 'file.new',
  save: 'file.save',
  export: 'file.export',
  importConfig: 'file.importConfig',
  undo: 'edit.undo',
  redo: 'edit.redo',
  duplicate: 'edit.duplicate',
  selectAll: 'edit.selectAll',
  fitView: 'view.fit',
  autoLayout: 'view.layout',
  swapIbn: 'model.ibn',
  swapBn: 'model.bn',
  ibnPlacement: 'model.ibnPlacement',
  freezeBackbone: 'model.freezeBackbone',
  unfreezeBackbone: 'model.unfreezeBackbone',
  toggleExpand: 'model.expand',
  shortcuts: 'view.help',
};

export function runMenuAction(action: string, path?: string): void {
  if (action === 'saveAs' && path) return void saveTo(path);
  const id = MENU_TO_ACTION[action];
  const a = id && ACTIONS.find((x) => x.id === id);
  if (!a) return;
  const s = useEditor.getState();
  if (a.enabled && !a.enabled(s)) return;
  a.run();
}

/** Subscribes to the desktop host's menu and open-file events; returns the unsubscribe function. */
export function startHostEvents(): () => void {
  const offMenu = api.on('menu.action', (m) => runMenuAction(m.action, m.path));
  const offDoc = api.on('doc.opened', (d) =>
    guardUnsaved('open another model', () => {
      try {
        loadDoc(parseDocument(d.text), d.path, true);
        notify(`Opened ${d.path}`);
      } catch (e) {
        notify(`Open failed: ${(e as Error).message}`, 'error');
      }
    }),
  );
  return () => {
    offMenu();
    offDoc();
  };
}
