import { useEffect, useRef, useState } from 'react';
import type { DirEntry, RecentEntry } from '../../../core/api/contract.js';
import { api, ClientError } from '../api/client.js';
import { docDisplayName, useEditor } from '../store/editor.js';
import { openPath, saveTo } from '../store/files.js';

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/**
 * The last folder each kind of dialog was used in (this session): document Open / Save share one, other
 * pickers one per file type. A new session's document dialogs start in the folder of the most recent
 * document (the service's recents), as the desktop app does.
 */
const lastDirs = new Map<string, string>();
const dirKey = (pick: PickSpec | undefined) => (pick ? `pick:${pick.folder ? 'folder' : pick.extensions.join(',')}` : 'document');

/** A path to pick for another purpose than documents (configs, weights, export destinations, dataset folders). */
export interface PickSpec {
  title: string;
  mode: 'open' | 'save';
  /** Files listed besides folders, e.g. ['.yml', '.yaml']. */
  extensions: string[];
  /** Added to a typed name that does not end with one of `extensions` (save mode); none for folder exports. */
  appendExtension?: string;
  /** Pick the current folder itself (dataset folders). */
  folder?: boolean;
  defaultName?: string;
  confirm: string;
  onPick: (path: string) => void;
  onClose: () => void;
}

/**
 * Open / save-as in browser mode, where there is no native file dialog: a folder listing from the
 * service plus a path field (which also works for a remote box, where paths are the server's). With
 * `pick`, the same browser picks a path for another purpose.
 */
export function FileDialog({ mode: docMode, pick }: { mode: 'open' | 'save'; pick?: PickSpec }) {
  const mode = pick?.mode ?? docMode;
  // Documents: `.reidgraph` (the registered file type) and `.json` (older files) are listed and opened.
  const exts = pick?.extensions ?? ['.reidgraph', '.json'];
  const current = useEditor((s) => s.path);
  const [dir, setDir] = useState<string | null>(lastDirs.get(dirKey(pick)) ?? (current && !pick ? parentOf(current) : null));
  const [entries, setEntries] = useState<DirEntry[]>([]);
  const [parent, setParent] = useState<string | null>(null);
  const display = useEditor(docDisplayName);
  const [name, setName] = useState(pick ? (pick.defaultName ?? '') : current ? current.slice(current.lastIndexOf('/') + 1) : `${display === 'Untitled model' ? 'model' : display}.reidgraph`);
  const [pathText, setPathText] = useState('');
  // True while the path field holds what the user typed: a listing arriving meanwhile does not overwrite it.
  const typing = useRef(false);
  const [recent, setRecent] = useState<RecentEntry[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (dir !== null) return void api.call('recent.list', {}).then(setRecent, () => undefined);
    void Promise.all([api.call('recent.list', {}), api.call('app.info', {})]).then(
      ([r, i]) => {
        setRecent(r);
        // The user may already have typed a folder while this was on its way: theirs wins.
        setDir((d) => d ?? (!pick && r[0] ? parentOf(r[0].path) : i.documentsDir));
      },
      (e: ClientError) => setError(e.message),
    );
  }, [dir]);
  useEffect(() => {
    if (!dir) return;
    // A listing that arrives after the folder changed again is dropped (the newer one shows).
    let current = true;
    api.call('fs.list', { dir, ...(pick ? { extensions: exts } : {}) }).then(
      (r) => {
        if (!current) return;
        setEntries(r.entries);
        setParent(r.parent);
        if (!typing.current) setPathText(r.dir);
        setError(null);
      },
      (e: ClientError) => current && setError(e.message),
    );
    return () => {
      current = false;
    };
  }, [dir]);

  const suffix = pick ? (pick.appendExtension ?? '') : '.reidgraph';
  const named = !suffix || exts.some((x) => name.toLowerCase().endsWith(x)) ? name : `${name}${suffix}`;
  const target = pick?.folder ? (dir ?? '') : dir && name ? `${dir === '/' ? '' : dir}/${named}` : '';
  const close = pick ? pick.onClose : () => useEditor.setState({ dialog: null });
  const choose = (path: string) => {
    lastDirs.set(dirKey(pick), pick?.folder ? path : parentOf(path));
    void (pick ? pick.onPick(path) : mode === 'open' ? openPath(path) : saveTo(path));
  };
  const isFile = (p: string) => exts.some((x) => p.toLowerCase().endsWith(x));
  return (
    <div className="dialog wide" data-testid={pick ? 'file-dialog-pick' : `file-dialog-${mode}`}>
      <h3>{pick ? pick.title : mode === 'open' ? 'Open model' : 'Save model as'}</h3>
      <div className="row">
        <input
          className="grow"
          data-testid="file-dir"
          value={pathText}
          onChange={(e) => {
            typing.current = true;
            setPathText(e.target.value);
          }}
          onKeyDown={(e) => {
            if (e.key !== 'Enter') return;
            typing.current = false;
            if (isFile(pathText)) choose(pathText);
            else setDir(pathText);
          }}
          title="A folder, or a full path to a .reidgraph / .json document (Enter)"
        />
        <button
          disabled={!parent}
          onClick={() => {
            typing.current = false;
            if (parent) setDir(parent);
          }}
        >
          Up
        </button>
      </div>
      <div className="file-cols">
        <ul className="file-list" data-testid="file-list">
          {entries.map((e) => (
            <li
              key={e.path}
              className={e.dir ? 'dir' : 'file'}
              onClick={() => {
                typing.current = false;
                if (e.dir) setDir(e.path);
                else setName(e.name);
              }}
              onDoubleClick={() => !e.dir && choose(e.path)}
            >
              {e.dir ? '📁' : '📄'} {e.name}
            </li>
          ))}
          {!entries.length && <li className="muted">No folders or {exts.join(' / ')} files here.</li>}
        </ul>
        {mode === 'open' && !pick && (
          <div className="recent">
            <h4>Recent</h4>
            {recent.map((r) => (
              <button key={r.path} className="link" title={r.path} onClick={() => void openPath(r.path)} data-testid="recent-item">
                {r.name}
                <span className="muted small"> {parentOf(r.path)}</span>
              </button>
            ))}
            {!recent.length && <div className="muted small">Nothing opened yet.</div>}
          </div>
        )}
      </div>
      {!pick?.folder && (
        <label className="field">
          <span>{pick && mode === 'save' ? 'Name' : 'File name'}</span>
          <input data-testid="file-name" value={name} onChange={(e) => setName(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && target && choose(target)} />
        </label>
      )}
      {error && <div className="form-error">{error}</div>}
      <div className="dialog-buttons">
        <span className="muted small grow">{target}</span>
        <button onClick={close}>Cancel</button>
        <button className="primary" data-testid="file-confirm" disabled={!target} onClick={() => choose(target)}>
          {pick ? pick.confirm : mode === 'open' ? 'Open' : 'Save'}
        </button>
      </div>
    </div>
  );
}
