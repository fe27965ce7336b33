/**
 * Autosave slots: one per window (tryout finding: two live tabs with unsaved changes shared one
 * `autosave.json`; the later writer won and the other's unsaved work was silently lost on a crash).
 *
 * A window's unsaved state is `<data dir>/autosave/<window id>.json` (`{ path, text, savedAt, window }`),
 * written atomically; a writer that names no window (older clients) keeps the single `<data dir>/autosave.json`
 * of before, the legacy slot. A slot whose window is connected (Service.windowConnected: the browser's event
 * WebSocket, Electron's IPC registration) is that window's; any other is a crash's, offered for recovery.
 * Only files this module names are read or removed: `autosave/<id>.json` with a window id's characters, and
 * `autosave.json` (atomic writes' temporary files and anything else in the folder are left alone).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LEGACY_AUTOSAVE_SLOT } from '../../core/api/contract.js';
import { readTextFile, writeFileAtomic } from '../io/files.js';

/** The recovery id of the legacy `autosave.json` (session.start's `recovery.window`; no window uses it). */
export const LEGACY_SLOT = LEGACY_AUTOSAVE_SLOT;
/** Slots kept at most: a write for a new window beyond them is refused (each is a window's unsaved document). */
export const MAX_AUTOSAVE_SLOTS = 32;
const SLOT_FILE = /^([\w-]{8,64})\.json$/;

export interface AutosaveRecord {
  path: string | null;
  text: string;
  savedAt: string;
  window?: string;
}

interface Slot {
  /** The slot's id: its window's, or LEGACY_SLOT. */
  id: string;
  /** The window that wrote it (a legacy record may name one, or none). */
  writer: string | undefined;
  record: AutosaveRecord;
}

const isRecord = (v: unknown): v is AutosaveRecord => {
  const r = v as AutosaveRecord | null;
  return !!r && typeof r.text === 'string' && typeof r.savedAt === 'string' && (r.path === null || typeof r.path === 'string');
};

export class AutosaveSlots {
  constructor(
    private dataDir: string,
    /** Whether a window id is connected now. */
    private live: (window: string) => boolean,
  ) {}

  private get dir(): string {
    return join(this.dataDir, 'autosave');
  }
  /** The file of a slot id. */
  file(id: string): string {
    return id === LEGACY_SLOT ? join(this.dataDir, 'autosave.json') : join(this.dir, `${id}.json`);
  }

  private async read(id: string): Promise<Slot | null> {
    try {
      const record: unknown = JSON.parse(await readTextFile(this.file(id), 'json'));
      if (!isRecord(record)) return null;
      return { id, writer: id === LEGACY_SLOT ? (typeof record.window === 'string' ? record.window : undefined) : id, record };
    } catch {
      // Missing or corrupt: no slot (app state never blocks a launch).
      return null;
    }
  }

  private async ids(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.map((n) => SLOT_FILE.exec(n)?.[1]).filter((id): id is string => !!id && id !== LEGACY_SLOT);
  }

  private async all(): Promise<Slot[]> {
    const slots = await Promise.all([LEGACY_SLOT, ...(await this.ids())].map((id) => this.read(id)));
    return slots.filter((s): s is Slot => s !== null);
  }

  /** A slot nobody holds: its writer is not connected (a legacy record without a writer counts as gone). */
  private gone(s: Slot, asker: string | undefined): boolean {
    return s.writer === undefined || (s.writer !== asker && !this.live(s.writer));
  }

  /**
   * What session.start offers `asker`: its own slot if it has one (a reload keeps its id only in tests), else
   * the newest slot whose window is gone, with how many more such slots wait; `held` when none is offered
   * but another connected window has unsaved changes.
   */
  async offer(asker: string | undefined): Promise<{ recovery: (AutosaveRecord & { window: string }) | null; more: number; held: boolean }> {
    const slots = await this.all();
    const own = asker ? slots.find((s) => s.id === asker) : undefined;
    const gone = slots.filter((s) => s !== own && this.gone(s, asker)).sort((a, b) => b.record.savedAt.localeCompare(a.record.savedAt));
    const pick = own ?? gone[0];
    if (!pick) return { recovery: null, more: 0, held: slots.length > 0 };
    const { path, text, savedAt } = pick.record;
    return { recovery: { path, text, savedAt, window: pick.id }, more: gone.filter((s) => s !== pick).length, held: false };
  }

  /**
   * Writes `window`'s slot (no window: the legacy slot), then removes `recovered` (a gone window's slot this
   * window recovered: its content moved here). Errors: an Error with `code: 'E_SLOTS'` beyond MAX_AUTOSAVE_SLOTS,
   * the file system's.
   */
  async write(window: string | undefined, record: Omit<AutosaveRecord, 'window'>, recovered?: string): Promise<void> {
    const id = window ?? LEGACY_SLOT;
    if (window) {
      const ids = await this.ids();
      if (!ids.includes(window) && ids.length >= MAX_AUTOSAVE_SLOTS)
        throw Object.assign(new Error(`${ids.length} windows already hold unsaved changes (at most ${MAX_AUTOSAVE_SLOTS}): save or discard some`), { code: 'E_SLOTS' });
    }
    await writeFileAtomic(this.file(id), JSON.stringify({ ...record, ...(window ? { window } : {}) }));
    if (recovered && recovered !== id) await this.removeGone(recovered, window);
  }

  /**
   * Clears `window`'s own slot (a save, an open, a Discard) and `recovered` (the gone window's slot it was
   * offered and discarded). No window (older clients): the legacy slot, unless a connected window wrote it.
   */
  async clear(window: string | undefined, recovered?: string): Promise<void> {
    if (window) await rm(this.file(window), { force: true });
    else await this.removeGone(LEGACY_SLOT, undefined);
    if (recovered && recovered !== window) await this.removeGone(recovered, window);
  }

  /** Removes slot `id` if it is a slot (legacy included) and no other connected window holds it. */
  private async removeGone(id: string, asker: string | undefined): Promise<void> {
    const s = await this.read(id);
    if (s && this.gone(s, asker)) await rm(this.file(id), { force: true });
  }
}
