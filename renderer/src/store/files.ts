import { buildAnyPreset, buildPreset, counted, DocumentError, parseDocument, serializeDocument, type GraphDoc, type PresetOptions } from '../../../core/index.js';
import { LEGACY_AUTOSAVE_SLOT } from '../../../core/api/contract.js';
import { api, ClientError, WINDOW_ID } from '../api/client.js';
import { docDisplayName, isDirty, loadDoc, markSaved, notify, useEditor } from './editor.js';
import { nativeSave } from './native.js';

const get = useEditor.getState;
const set = useEditor.setState;

/** First launch shows a model, not a blank canvas (issue 5). */
export const FIRST_PRESET = 'resnet50_ibn_a';

function errorText(e: unknown): string {
  return e instanceof ClientError || e instanceof DocumentError ? e.message : `unexpected error: ${(e as Error).message}`;
}

/** Runs `then` right away, or after the user chose to save / discard unsaved changes. */
export function guardUnsaved(what: string, then: () => void): void {
  if (!isDirty(get())) return then();
  set({
    dialog: {
      kind: 'confirm',
      title: 'Unsaved changes',
      message: `The current model has unsaved changes. Save them before you ${what}?`,
      choices: [
        { label: 'Cancel', run: () => set({ dialog: null }) },
        { label: 'Discard', run: () => (set({ dialog: null }), then()) },
        { label: 'Save', primary: true, run: () => void save().then((ok) => ok && then()) },
      ],
    },
  });
}

export function newFromPreset(name: string, opts: Partial<PresetOptions>): void {
  guardUnsaved('start a new model', () => {
    // Presets come laid out left to right (input → stem → layer1…4 → pool → neck → classifier).
    const doc = buildAnyPreset(name, opts);
    // Untouched presets count as clean: nothing to lose, so no unsaved-changes prompt for them.
    loadDoc(doc, null, true, name);
    set({ dialog: null });
    notify(`New model from ${name}`);
  });
}

export function newBlank(): void {
  guardUnsaved('start a new model', () => {
    loadDoc({ format: 'reid-studio-graph', version: 1, graph: { nodes: [], edges: [] } }, null, true);
    set({ dialog: null });
  });
}

export async function openPath(path: string): Promise<boolean> {
  try {
    // Marks let the editor benchmark split "open" into transfer, parse and analysis + projection.
    performance.mark('open:start');
    const f = await api.call('doc.open', { path });
    performance.mark('open:fetched');
    const doc = parseDocument(f.text);
    performance.mark('open:parsed');
    loadDoc(doc, f.path, true);
    performance.mark('open:loaded');
    set({ dialog: null });
    void api.call('autosave.write', { path: null, text: null, window: WINDOW_ID });
    notify(`Opened ${f.path}`);
    return true;
  } catch (e) {
    notify(`Open failed: ${errorText(e)}`, 'error');
    return false;
  }
}

export async function saveTo(path: string): Promise<boolean> {
  const doc = get().history.doc;
  try {
    const r = await api.call('doc.save', { path, text: serializeDocument(doc) });
    if (get().history.doc === doc) markSaved(r.path);
    else set({ path: r.path });
    set({ dialog: null });
    void api.call('autosave.write', { path: null, text: null, window: WINDOW_ID });
    notify(`Saved ${r.path}`);
    return true;
  } catch (e) {
    notify(`Save failed: ${errorText(e)}`, 'error');
    return false;
  }
}

/** Save as: the host's native save dialog where there is one, else the in-app file browser. */
export async function saveAs(): Promise<boolean> {
  const r = await nativeSave(docDisplayName(get()));
  if (r.native) return r.path ? saveTo(r.path) : false;
  set({ dialog: { kind: 'save' } });
  return false;
}

/** Save; asks for a file name when the document has none yet. Resolves true once written. */
export async function save(): Promise<boolean> {
  const path = get().path;
  if (path) return saveTo(path);
  return saveAs();
}

let timer: ReturnType<typeof setTimeout> | undefined;
let lastWritten: GraphDoc | null = null;

/** Keeps the last unsaved state on disk (debounced) so a crash or a closed tab loses nothing. */
export function startAutosave(): () => void {
  const unsub = useEditor.subscribe((s, prev) => {
    if (s.history.doc === prev.history.doc || !s.ready) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const st = get();
      if (!isDirty(st) || st.history.doc === lastWritten) return;
      lastWritten = st.history.doc;
      api.call('autosave.write', { path: st.path, text: serializeDocument(st.history.doc), window: WINDOW_ID }).catch((e) => notify(`Autosave failed: ${errorText(e)}`, 'warning'));
    }, 800);
  });
  const beforeUnload = (ev: BeforeUnloadEvent) => {
    if (isDirty(get())) ev.preventDefault();
  };
  window.addEventListener('beforeunload', beforeUnload);
  return () => {
    unsub();
    window.removeEventListener('beforeunload', beforeUnload);
  };
}

/** The Web Lock every open window of the app holds (shared) for as long as it lives. */
const LIVE_LOCK = 'reid-studio-window';

/**
 * Whether another window of the app (a browser tab on the same server, a second Electron window) is open
 * now, then holds this window's share of the lock until it closes or crashes (the browser releases it).
 * Web Locks API (W3C): a crashed or closed tab holds no lock, a live one does. False where the API is absent.
 */
async function otherWindowLive(): Promise<boolean> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return false;
  const held = (await locks.query()).held ?? [];
  void locks.request(LIVE_LOCK, { mode: 'shared' }, () => new Promise<void>(() => undefined));
  return held.some((l) => l.name === LIVE_LOCK);
}

/**
 * Launch: offer crash recovery, else reopen the last document, else the first-launch preset. The autosave
 * of a window that is still open is not a crash (issue 22: a second tab offered to recover the first's
 * unsaved changes; again from a tab in another browser or profile, which Web Locks do not see): then nothing
 * is offered and that window keeps them. The server decides from the writer's connection (session.start).
 */
export async function startSession(): Promise<void> {
  const otherLive = await otherWindowLive();
  let start: Awaited<ReturnType<typeof api.call<'session.start'>>> | null = null;
  try {
    start = await api.call('session.start', { window: WINDOW_ID });
  } catch (e) {
    notify(`Could not restore the last session: ${errorText(e)}`, 'warning');
  }
  let opened = false;
  if (start?.last) {
    try {
      loadDoc(parseDocument(start.last.text), start.last.path, true);
      opened = true;
    } catch (e) {
      notify(`Could not reopen ${start.last.path}: ${errorText(e)}`, 'warning');
    }
  } else if (start?.lastError) notify(start.lastError, 'warning');
  if (!opened) loadDoc(buildPreset(FIRST_PRESET), null, true, FIRST_PRESET);
  if (start) offerRecovery(start, otherLive);
}

/**
 * Offers the autosave session.start picked: this window's own slot or the newest of a window that is gone
 * (each window autosaves into its own slot). Discard clears that slot and offers the next gone window's;
 * Recover loads it here and moves it into this window's slot (`recovered`).
 */
function offerRecovery(start: Awaited<ReturnType<typeof api.call<'session.start'>>>, otherLive: boolean): void {
  const rec = start.recovery;
  const recovered = rec?.window;
  // The server knows whether a slot's writer is still connected (any browser or profile on this server); Web
  // Locks cover the windows of this browser profile it cannot name: writers of the legacy slot (older clients).
  if (start.recoveryHeld || (rec && recovered === LEGACY_AUTOSAVE_SLOT && otherLive)) notify('ReID Studio is open in another tab or window: its unsaved changes stay there', 'info');
  if (!rec || (recovered === LEGACY_AUTOSAVE_SLOT && otherLive)) return;
  const next = async () => {
    await api.call('autosave.write', { path: null, text: null, window: WINDOW_ID, recovered });
    if (start.moreRecoveries) offerRecovery(await api.call('session.start', { window: WINDOW_ID }), otherLive);
  };
  let doc: GraphDoc;
  try {
    doc = parseDocument(rec.text);
  } catch {
    return void next();
  }
  const when = new Date(rec.savedAt).toLocaleString();
  set({
    dialog: {
      kind: 'confirm',
      title: 'Recover unsaved changes?',
      message: `ReID Studio closed with unsaved changes${rec.path ? ` to ${rec.path}` : ' to a new model'} (autosaved ${when}).${start.moreRecoveries ? ` ${counted(start.moreRecoveries, 'more closed window', 'more closed windows')} left unsaved changes: Discard shows the next; after Recover, open a new window for them.` : ''}`,
      choices: [
        { label: 'Discard', run: () => (set({ dialog: null }), void next()) },
        {
          label: 'Recover',
          primary: true,
          run: () => {
            loadDoc(doc, rec.path, false);
            set({ dialog: null });
            notify('Recovered unsaved changes');
            // The recovered changes are this window's now: its slot, the gone window's removed.
            void api.call('autosave.write', { path: rec.path, text: rec.text, window: WINDOW_ID, recovered });
          },
        },
      ],
    },
  });
}
