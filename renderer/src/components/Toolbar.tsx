import { useEffect, useState } from 'react';
import { ACTIONS, availableOverTraining, type Action } from '../store/actions.js';
import { useTraining } from '../store/training.js';
import { docDisplayName, isDirty, useEditor } from '../store/editor.js';
import { openPath } from '../store/files.js';
import { api } from '../api/client.js';
import type { RecentEntry } from '../../../core/api/contract.js';
import { TrainButton } from '../training/TrainButton.js';

function Menu({ title, actions, extra }: { title: string; actions: Action[]; extra?: React.ReactNode }) {
  const [open, setOpen] = useState(false);
  // Escape closes an open drop-down, as a context menu or a dialog (capture: before the editor's keys).
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      setOpen(false);
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [open]);
  return (
    <div className="menubar-item" onMouseLeave={() => setOpen(false)}>
      <button className={open ? 'active' : ''} data-testid={`menubar-${title.toLowerCase()}`} onClick={() => setOpen(!open)}>
        {title}
      </button>
      {open && <MenuList actions={actions} extra={extra} close={() => setOpen(false)} />}
    </div>
  );
}

/** Mounted only while open, so the whole-state subscription costs nothing during drags. */
function MenuList({ actions, extra, close }: { actions: Action[]; extra?: React.ReactNode; close: () => void }) {
  const state = useEditor();
  const covered = useTraining((s) => s.open);
  return (
        <ul className="menu dropdown" onClick={close}>
          {actions.map((a) => (
            <li key={a.id}>
              <button disabled={(covered && !availableOverTraining(a.id)) || (!!a.enabled && !a.enabled(state))} data-testid={`menubar-${a.id}`} onClick={() => a.run()}>
                <span>{a.label}</span>
                {a.keys && <kbd>{a.keys.replace('Mod', 'Ctrl')}</kbd>}
              </button>
            </li>
          ))}
          {extra}
        </ul>
  );
}

function RecentItems() {
  const [recent, setRecent] = useState<RecentEntry[] | null>(null);
  if (recent === null) void api.call('recent.list', {}).then(setRecent, () => setRecent([]));
  if (!recent?.length) return null;
  return (
    <>
      <li className="sep" />
      <li className="menu-label">Recent</li>
      {recent.slice(0, 8).map((r) => (
        <li key={r.path}>
          <button title={r.path} onClick={() => void openPath(r.path)}>
            <span>{r.name}</span>
          </button>
        </li>
      ))}
    </>
  );
}

/** Menu bar, quick buttons and the document title. */
export function Toolbar() {
  const path = useEditor((s) => s.path);
  const dirty = useEditor(isDirty);
  const undoLabel = useEditor((s) => s.history.past[s.history.past.length - 1]?.label);
  const redoLabel = useEditor((s) => s.history.future[0]?.label);
  const by = (g: Action['group']) => ACTIONS.filter((a) => a.group === g);
  const act = (id: string) => ACTIONS.find((a) => a.id === id)!.run();
  const name = useEditor(docDisplayName);
  const covered = useTraining((s) => s.open);
  // The window title (Electron shows the page title; so do browser tabs): name, unsaved mark, app.
  useEffect(() => void (document.title = `${dirty ? '• ' : ''}${name} — ReID Studio`), [name, dirty]);
  return (
    <header className="toolbar">
      <span className="brand">ReID Studio</span>
      <nav className="menubar">
        <Menu title="File" actions={by('File')} extra={<RecentItems />} />
        <Menu title="Edit" actions={by('Edit')} />
        <Menu title="Model" actions={by('Model')} />
        <Menu title="View" actions={by('View')} />
      </nav>
      <div className="quick">
        <button title={undoLabel ? `Undo ${undoLabel} (Ctrl+Z)` : 'Nothing to undo'} disabled={!undoLabel} onClick={() => act('edit.undo')} data-testid="btn-undo">
          ↶
        </button>
        <button title={redoLabel ? `Redo ${redoLabel} (Ctrl+Shift+Z)` : 'Nothing to redo'} disabled={!redoLabel} onClick={() => act('edit.redo')} data-testid="btn-redo">
          ↷
        </button>
        <button onClick={() => act('file.new')} data-testid="btn-presets">
          Presets
        </button>
        <button onClick={() => act('view.layout')} title="Auto-layout (L)" disabled={covered} data-testid="btn-layout">
          Layout
        </button>
        <button onClick={() => act('view.help')} title="Keyboard shortcuts (?)">
          ?
        </button>
        <TrainButton />
      </div>
      <span className="doc-title" data-testid="doc-title" title={path ?? 'not saved yet'}>
        {name}
        {dirty ? ' •' : ''}
      </span>
    </header>
  );
}
