import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ZodError } from 'zod';
import {
  ApiError,
  calls,
  isMethod,
  type CallInput,
  type CallOutput,
  type CallParsed,
  type EventName,
  type EventPayload,
  type Method,
  type RecentEntry,
  type Reply,
} from '../../core/api/contract.js';
import { payloadErrorText, payloadIssueText } from '../../core/api/payload-errors.js';
import { DOC_EXTENSIONS, DocumentError, isDocumentPath, parseDocument } from '../../core/index.js';
import { FileError, readTextFile, writeFileAtomic } from '../io/files.js';
import { delegateTraining, TrainingService } from './training.js';
import { AutosaveSlots, LEGACY_SLOT } from './autosave-slots.js';
import { OpsService } from './ops.js';
import type { WorkerSpawner } from '../runs/process.js';
import { defaultDataDir, defaultDocumentsDir } from '../io/paths.js';

export interface ServiceOptions {
  host: 'browser' | 'electron';
  version: string;
  dataDir?: string;
  documentsDir?: string;
  /** How to start the training process (Electron passes utilityProcess; default: a forked Node process). */
  spawner?: WorkerSpawner;
}

/** Handlers receive the payload after zod parsing (defaults applied, unknown keys refused). */
type Handlers = { [M in Method]: (input: CallParsed<M>) => Promise<CallOutput<M>> };
type Listener = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

const MAX_RECENT = 12;
function ioError(e: unknown, what: string): ApiError {
  if (e instanceof FileError) return new ApiError(e.code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO', e.message);
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return new ApiError('E_NOT_FOUND', `${what}: no such file or folder`);
  if (err.code === 'EACCES' || err.code === 'EPERM') return new ApiError('E_IO', `${what}: permission denied`);
  if (err.code === 'EISDIR') return new ApiError('E_IO', `${what}: is a folder, not a file`);
  if (err.code === 'ENOTDIR') return new ApiError('E_IO', `${what}: a part of the path is not a folder`);
  return new ApiError('E_IO', `${what}: ${err.message}`);
}

/**
 * The one Node-side service behind every host (design.md: no behaviour lives in a host). Every call
 * validates its payload with the contract's zod schema and fails with an ApiError, never a crash.
 */
export class Service {
  readonly dataDir: string;
  readonly documentsDir: string;
  /** Training runs, datasets and backend status (main/service/training.ts). */
  readonly training: TrainingService;
  /** Export, config import, evaluation, weights inspection (main/service/ops.ts). */
  readonly ops: OpsService;
  private listeners = new Set<Listener>();
  private recentCache: RecentEntry[] | null = null;
  /** Windows connected now (id → connection count; a reconnecting page may briefly hold two). */
  private liveWindows = new Map<string, number>();

  constructor(private opts: ServiceOptions) {
    this.dataDir = resolve(opts.dataDir ?? defaultDataDir());
    this.documentsDir = resolve(opts.documentsDir ?? defaultDocumentsDir());
    this.training = new TrainingService(this.dataDir, (event, payload) => this.emit(event, payload), opts.spawner);
    this.ops = new OpsService(this.training.runsDir, (event, payload) => this.emit(event, payload), (id) => this.training.isActive(id), opts.spawner);
  }

  /**
   * A host's window is connected (browser mode: its event WebSocket, main/hosts/server.ts) until the returned
   * function is called (socket closed: tab closed, crashed or navigated away). Only a connected window's
   * autosave is held back from crash recovery; an id the host never registered counts as gone.
   */
  windowConnected(id: string): () => void {
    this.liveWindows.set(id, (this.liveWindows.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.liveWindows.get(id) ?? 1) - 1;
      if (n > 0) this.liveWindows.set(id, n);
      else this.liveWindows.delete(id);
    };
  }

  /** Each window's autosave (./autosave-slots.ts); a slot whose window is connected is held back from recovery. */
  private get autosaves(): AutosaveSlots {
    return (this.slots ??= new AutosaveSlots(this.dataDir, (id) => this.liveWindows.has(id)));
  }
  private slots?: AutosaveSlots;

  onEvent(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const l of this.listeners) l(event, payload);
  }

  /** Entry point of every host: untrusted method name and payload in, a Reply out. Never throws. */
  async dispatch(method: string, payload: unknown): Promise<Reply<unknown>> {
    try {
      if (!isMethod(method)) throw new ApiError('E_UNKNOWN_METHOD', `unknown API method "${method}"`);
      const input = calls[method].input.parse(payload ?? {}, { error: payloadIssueText });
      const result = await (this.handlers[method] as (i: unknown) => Promise<unknown>)(input);
      return { ok: true, result };
    } catch (e) {
      if (e instanceof ApiError) return { ok: false, error: { code: e.code, message: e.message } };
      // A file that could not be read or written (full disk, permission, not a regular file) is the user's situation, not a bug.
      if (e instanceof FileError) {
        const err = ioError(e, e.path);
        return { ok: false, error: { code: err.code, message: err.message } };
      }
      if (e instanceof ZodError) {
        return { ok: false, error: { code: 'E_BAD_REQUEST', message: payloadErrorText(method, e) } };
      }
      return { ok: false, error: { code: 'E_INTERNAL', message: `internal error in ${method}: ${(e as Error).message}` } };
    }
  }

  /** Typed in-process call (Electron main, tests). Throws ApiError on failure. */
  async call<M extends Method>(method: M, input: CallInput<M>): Promise<CallOutput<M>> {
    const r = await this.dispatch(method, input);
    if (!r.ok) throw new ApiError(r.error.code, r.error.message);
    return r.result as CallOutput<M>;
  }

  private file(name: string): string {
    return join(this.dataDir, name);
  }

  private async readJson(name: string): Promise<unknown> {
    try {
      return JSON.parse(await readTextFile(this.file(name), 'json'));
    } catch {
      // Missing or corrupt state files are treated as empty: app state must never block a launch.
      return null;
    }
  }

  private async recent(): Promise<RecentEntry[]> {
    if (this.recentCache) return this.recentCache;
    const raw = await this.readJson('recent.json');
    const parsed = calls['recent.list'].output.safeParse(raw);
    this.recentCache = parsed.success ? parsed.data : [];
    return this.recentCache;
  }

  private async setRecent(list: RecentEntry[]): Promise<void> {
    this.recentCache = list.slice(0, MAX_RECENT);
    try {
      await writeFileAtomic(this.file('recent.json'), JSON.stringify(this.recentCache, null, 2) + '\n');
    } catch (e) {
      throw ioError(e, this.file('recent.json'));
    } finally {
      this.emit('recent.changed', this.recentCache);
    }
  }

  /**
   * Records a document in the recent list. The document itself was already read or saved: a failure
   * here (full disk in the data folder) is a notice, never the call's failure.
   */
  private async touchRecent(path: string): Promise<void> {
    const list = (await this.recent()).filter((r) => r.path !== path);
    try {
      await this.setRecent([{ path, name: basename(path), openedAt: new Date().toISOString() }, ...list]);
    } catch (e) {
      this.emit('app.notice', { level: 'warning', message: `the recent-files list was not updated: ${(e as Error).message}` });
    }
  }

  private async readDoc(path: string): Promise<{ path: string; text: string }> {
    const abs = resolve(path);
    let text: string;
    try {
      text = await readTextFile(abs, 'document');
    } catch (e) {
      throw ioError(e, abs);
    }
    try {
      parseDocument(text);
    } catch (e) {
      if (e instanceof DocumentError) throw new ApiError('E_INVALID_DOCUMENT', `${basename(abs)}: ${e.message}`);
      throw e;
    }
    return { path: abs, text };
  }

  private opsTable?: ReturnType<OpsService['handlers']>;
  /** Resolved when called: `handlers` is initialised before the constructor body builds `ops`. */
  private opsHandlers(): ReturnType<OpsService['handlers']> {
    const t = () => (this.opsTable ??= this.ops.handlers());
    return {
      'export.check': (i) => t()['export.check'](i),
      'export.run': (i) => t()['export.run'](i),
      'config.import': (i) => t()['config.import'](i),
      'eval.run': (i) => t()['eval.run'](i),
      'weights.inspect': (i) => t()['weights.inspect'](i),
    };
  }

  private handlers: Handlers = {
    ...delegateTraining(() => this.training),
    ...this.opsHandlers(),
    // Browser mode has no native dialogs; the desktop host answers these itself (main/hosts/electron/ipc.ts).
    'dialog.open': async () => ({ native: false, path: null }),
    'dialog.save': async () => ({ native: false, path: null }),
    'app.info': async () => ({
      name: 'ReID Studio',
      version: this.opts.version,
      host: this.opts.host,
      platform: process.platform,
      documentsDir: this.documentsDir,
      dataDir: this.dataDir,
    }),
    'session.start': async ({ window }) => {
      const { recovery, more, held } = await this.autosaves.offer(window);
      let last: { path: string; text: string } | null = null;
      let lastError: string | null = null;
      const first = (await this.recent())[0];
      if (first) {
        try {
          last = await this.readDoc(first.path);
        } catch (e) {
          lastError = `could not reopen ${first.path}: ${(e as Error).message}`;
        }
      }
      return { recovery, recoveryHeld: held, moreRecoveries: more, last, lastError };
    },
    'doc.open': async ({ path }) => {
      const doc = await this.readDoc(path);
      await this.touchRecent(doc.path);
      return doc;
    },
    'doc.save': async ({ path, text }) => {
      const abs = resolve(path);
      try {
        parseDocument(text);
      } catch (e) {
        if (e instanceof DocumentError) throw new ApiError('E_INVALID_DOCUMENT', `refusing to save an invalid document: ${e.message}`);
        throw e;
      }
      if (!isDocumentPath(abs)) throw new ApiError('E_BAD_REQUEST', `graph documents are saved as ${DOC_EXTENSIONS.join(' or ')} files`);
      try {
        await writeFileAtomic(abs, text);
      } catch (e) {
        const err = ioError(e, abs);
        throw new ApiError(err.code, `${err.message}: the document was not saved (the file on disk is unchanged)`);
      }
      await this.touchRecent(abs);
      return { path: abs, bytes: Buffer.byteLength(text) };
    },
    'recent.list': async () => this.recent(),
    'recent.clear': async () => {
      await this.setRecent([]);
      return { ok: true as const };
    },
    'autosave.write': async ({ path, text, window, recovered }) => {
      if (text === null) {
        // Another window's unsaved changes are its own: a save, open or Discard here clears only this window's
        // slot (and the gone window's it discarded).
        try {
          await this.autosaves.clear(window, recovered);
        } catch (e) {
          throw ioError(e, this.autosaves.file(window ?? LEGACY_SLOT));
        }
        return { ok: true as const };
      }
      try {
        parseDocument(text);
      } catch (e) {
        if (e instanceof DocumentError) throw new ApiError('E_INVALID_DOCUMENT', `autosave refused: ${e.message}`);
        throw e;
      }
      try {
        await this.autosaves.write(window, { path, text, savedAt: new Date().toISOString() }, recovered);
      } catch (e) {
        if ((e as { code?: string }).code === 'E_SLOTS') throw new ApiError('E_BAD_REQUEST', `autosave refused: ${(e as Error).message}`);
        throw ioError(e, this.autosaves.file(window ?? LEGACY_SLOT));
      }
      return { ok: true as const };
    },
    'fs.list': async ({ dir, extensions }) => {
      const exts = extensions ?? [...DOC_EXTENSIONS];
      const abs = resolve(dir);
      let names: import('node:fs').Dirent[];
      try {
        names = await readdir(abs, { withFileTypes: true });
      } catch (e) {
        throw ioError(e, abs);
      }
      const entries = names
        .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || exts.some((x) => d.name.toLowerCase().endsWith(x))))
        .map((d) => ({ name: d.name, path: join(abs, d.name), dir: d.isDirectory() }))
        .sort((a, b) => (a.dir === b.dir ? a.name.localeCompare(b.name) : a.dir ? -1 : 1));
      return { dir: abs, parent: dirname(abs) === abs ? null : dirname(abs), entries };
    },
  };
}
