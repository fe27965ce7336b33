import { windowIdSchema, type EventMessage, type Reply } from '../../../core/api/contract.js';

/**
 * The Electron IPC host, free of any `electron` import so it is unit-testable: the main process passes
 * its real `ipcMain`. No behaviour lives here beyond the host's security checks; calls go to the service.
 * Electron's security checklist: validate the sender of every IPC message (a foreign or navigated frame
 * must not reach the API) and validate every payload (the service does, with the contract's schemas).
 */
export const CALL_CHANNEL = 'reid:call';
export const EVENT_CHANNEL = 'reid:event';
/** The renderer names its window id (renderer/src/api/client.ts WINDOW_ID) once its page has loaded. */
export const WINDOW_CHANNEL = 'reid:window';

export interface Dispatcher {
  dispatch(method: string, payload: unknown): Promise<Reply<unknown>>;
}

/** The part of Electron's IpcMainInvokeEvent this host reads. */
export interface InvokeEventLike {
  senderFrame: { url: string } | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** The renderer's origin: the app's own privileged scheme, nothing else (no file://, no remote pages). */
export const APP_ORIGIN = 'app://reid-studio';

export function isTrustedSender(event: InvokeEventLike): boolean {
  const url = event.senderFrame?.url;
  if (!url) return false;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

export function registerIpc(ipcMain: IpcMainLike, service: Dispatcher, trusted: (e: InvokeEventLike) => boolean = isTrustedSender): () => void {
  ipcMain.handle(CALL_CHANNEL, async (event, method, payload) => {
    if (!trusted(event)) {
      const reply: Reply<never> = { ok: false, error: { code: 'E_UNAUTHORIZED', message: 'IPC call from a frame that is not the ReID Studio window' } };
      return reply;
    }
    if (typeof method !== 'string' || method.length > 100) {
      const reply: Reply<never> = { ok: false, error: { code: 'E_BAD_REQUEST', message: 'IPC call without a method name' } };
      return reply;
    }
    return service.dispatch(method, payload);
  });
  return () => ipcMain.removeHandler(CALL_CHANNEL);
}

/** The part of a `webContents` the window registration reads: its id and its end. */
export interface SenderLike {
  id: number;
  once(event: 'destroyed' | 'render-process-gone', listener: () => void): unknown;
}
/** The part of Electron's IpcMainEvent (an `ipcMain.on` message) the window registration reads. */
export interface MessageEventLike extends InvokeEventLike {
  sender: SenderLike;
}
export interface IpcMainOnLike {
  on(channel: string, listener: (event: MessageEventLike, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: MessageEventLike, ...args: unknown[]) => void): unknown;
}

/**
 * Electron windows join the service's window liveness as browser tabs do with their event WebSocket
 * (main/hosts/server.ts `?window=<id>`): the page names its window id on WINDOW_CHANNEL and counts as
 * connected until its webContents is destroyed, its renderer process is gone (a crash), or the same
 * webContents names a new id (a reload is a new page with a new id). So a window's autosave slot is held
 * back from crash recovery exactly while it is open. Messages from an untrusted frame or with a malformed id
 * are ignored. Returns the unregistration (every registration released).
 */
export function registerWindows(ipcMain: IpcMainOnLike, service: { windowConnected(id: string): () => void }, trusted: (e: InvokeEventLike) => boolean = isTrustedSender): () => void {
  const held = new Map<number, () => void>();
  const listener = (event: MessageEventLike, id: unknown) => {
    if (!trusted(event) || !windowIdSchema.safeParse(id).success) return;
    const contents = event.sender;
    const first = !held.has(contents.id);
    held.get(contents.id)?.();
    held.set(contents.id, service.windowConnected(id as string));
    if (first) {
      const release = () => {
        held.get(contents.id)?.();
        held.delete(contents.id);
      };
      contents.once('destroyed', release);
      contents.once('render-process-gone', release);
    }
  };
  ipcMain.on(WINDOW_CHANNEL, listener);
  return () => {
    ipcMain.removeListener(WINDOW_CHANNEL, listener);
    for (const done of held.values()) done();
    held.clear();
  };
}

/** Wraps an event for the renderer; structured-clone safe. */
export function eventMessage(event: EventMessage['event'], payload: unknown): EventMessage {
  return { event, payload };
}

/**
 * In the desktop app the renderer never names arbitrary paths: documents are opened and saved only at
 * paths that came from a native dialog the main process showed, from the recent list, or from the OS
 * (file association). The browser-mode file browser (`fs.list`) is not available here.
 */
export class PathGrants {
  private granted = new Set<string>();
  grant(path: string): void {
    this.granted.add(path);
  }
  has(path: string): boolean {
    return this.granted.has(path);
  }
}

/** The native dialogs of the desktop host (Electron's dialog module in main.ts; a stand-in in tests). */
export type OpenDialogKind = 'document' | 'weights' | 'folder' | 'config';
const OPEN_KINDS: readonly OpenDialogKind[] = ['document', 'weights', 'folder', 'config'];

export interface NativeDialogs {
  open(kind: OpenDialogKind): Promise<string | null>;
  /** `kind: 'export'`: an export destination (any extension; folder formats take a new name). */
  save(suggestedName?: string, kind?: 'document' | 'export'): Promise<string | null>;
}

/** Paths in a payload that must come from a dialog: documents, weights files, dataset folders, configs, export destinations. */
function payloadPaths(method: string, payload: unknown): unknown[] | null {
  const p = (payload ?? {}) as Record<string, unknown>;
  const data = (p.data ?? {}) as Record<string, unknown>;
  const weights = (p.weights ?? {}) as Record<string, unknown>;
  const weightsFile = weights.kind === 'file' ? [weights.path] : [];
  switch (method) {
    case 'export.run':
      return [p.out, ...weightsFile];
    case 'config.import':
    case 'weights.inspect':
      return [p.path];
    case 'eval.run':
      return [...weightsFile, ...(data.kind === 'folder' ? [data.path] : [])];
    case 'doc.open':
    case 'doc.save':
      return [p.path];
    case 'train.start':
      return [...(p.weights ? [p.weights] : []), ...(data.kind === 'folder' ? [data.path] : [])];
    case 'dataset.inspect':
      return data.kind === 'folder' ? [data.path] : [];
    default:
      return null;
  }
}

export function guardPaths(service: Dispatcher, grants: PathGrants, dialogs?: NativeDialogs): Dispatcher {
  return {
    async dispatch(method, payload) {
      if (method === 'fs.list')
        return { ok: false, error: { code: 'E_UNAUTHORIZED', message: 'in the desktop app, files are chosen with the system dialogs' } };
      if (dialogs && (method === 'dialog.open' || method === 'dialog.save')) {
        const p = (payload ?? {}) as { kind?: unknown; suggestedName?: unknown };
        if (method === 'dialog.open' && !OPEN_KINDS.includes(p.kind as OpenDialogKind))
          return { ok: false, error: { code: 'E_BAD_REQUEST', message: `dialog.open: kind must be ${OPEN_KINDS.join(', ')}` } };
        if (method === 'dialog.save' && p.kind !== undefined && p.kind !== 'document' && p.kind !== 'export')
          return { ok: false, error: { code: 'E_BAD_REQUEST', message: 'dialog.save: kind must be document or export' } };
        const path =
          method === 'dialog.open'
            ? await dialogs.open(p.kind as OpenDialogKind)
            : await dialogs.save(typeof p.suggestedName === 'string' ? p.suggestedName : undefined, p.kind === 'export' ? 'export' : 'document');
        if (path) grants.grant(path);
        return { ok: true, result: { native: true, path } };
      }
      const paths = payloadPaths(method, payload);
      if (paths)
        for (const path of paths)
          if (typeof path !== 'string' || !grants.has(path))
            return { ok: false, error: { code: 'E_UNAUTHORIZED', message: `${method}: the path was not chosen in a system dialog` } };
      return service.dispatch(method, payload);
    },
  };
}
