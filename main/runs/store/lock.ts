/**
 * One writer per run folder: `run.lock` in the folder names the process that writes it (pid, the process's
 * start time and the boot it belongs to, host name, what it does, since when). A lock whose process is gone
 * (killed, crashed, machine rebooted, pid reused by another program) is stale and is taken over.
 *
 * Protocol (atomic on a local file system; no step leaves two writers):
 *   acquire: the holder record is written and fsynced to `run.lock.<token>.tmp`, then hard-linked to
 *            `run.lock` — link(2) fails with EEXIST when the lock exists, so exactly one contender creates it,
 *            and it is complete the moment it appears.
 *   stale:   a contender takes `run.lock.takeover` (created by link(2) as well), re-reads `run.lock`, removes
 *            it only if it is still the same stale record, releases `run.lock.takeover`, and links again —
 *            so of two processes that both saw the stale lock, one wins and the other sees the winner alive.
 *            A takeover guard left by a process killed inside that window (microseconds) is removed when its
 *            holder is gone.
 *   release: `run.lock` is removed only while it still holds this acquisition's token.
 * Liveness: same host name, and the pid exists (signal 0), and — on Linux — its start time
 * (/proc/<pid>/stat field 22) and the boot id (/proc/sys/kernel/random/boot_id) equal the recorded ones.
 * A lock from another host cannot be checked and counts as held; the message says how to free it.
 * (Git's `index.lock` and PostgreSQL's `postmaster.pid` take the same approach: a file created with
 * O_EXCL naming the pid, checked against the running processes.)
 */
import { readFileSync } from 'node:fs';
import { link, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError, writeFileSynced } from '../../io/files.js';
import { hasRawBytes } from '../../io/raw-names.js';

export const LOCK_FILE = 'run.lock';
const TAKEOVER = 'run.lock.takeover';

export interface LockHolder {
  pid: number;
  hostname: string;
  /** Linux: the process start time in clock ticks after boot (/proc/<pid>/stat field 22). */
  startTime?: string;
  bootId?: string;
  /** What the holder does: `train`, `resume`, `app`, … */
  purpose: string;
  /** ISO time the lock was taken. */
  since: string;
  token: string;
}

/** The run folder is held by another live process; `holder` says which. Stable code E_RUN_LOCKED. */
export class RunLockedError extends Error {
  readonly code = 'E_RUN_LOCKED';
  constructor(
    readonly dir: string,
    readonly holder: LockHolder | null,
  ) {
    super(`${dir} is being written by ${holder ? describeHolder(holder) : 'another process (the lock is contended)'}; wait for it to finish or stop it${holder && holder.hostname !== hostname() ? ` (if that process no longer runs, delete ${join(dir, LOCK_FILE)})` : ''}`);
  }
}

/** "pid 4242 on host h (train since 2026-12-07T10:00:00.000Z)". */
export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on host ${h.hostname} (${h.purpose} since ${h.since})`;
}

function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let bootIdCache: string | undefined | null = null;
function bootId(): string | undefined {
  if (bootIdCache === null) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdCache = undefined;
    }
  }
  return bootIdCache;
}

function me(purpose: string): LockHolder {
  const startTime = procStartTime(process.pid);
  const boot = bootId();
  return { pid: process.pid, hostname: hostname(), ...(startTime ? { startTime } : {}), ...(boot ? { bootId: boot } : {}), purpose, since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
}

/** True while the process named by `h` may still write (another host: cannot tell, so true). */
export function holderIsLive(h: LockHolder): boolean {
  if (h.hostname !== hostname()) return true;
  const boot = bootId();
  if (h.bootId && boot && h.bootId !== boot) return false;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (h.startTime) {
    const now = procStartTime(h.pid);
    if (now !== undefined && now !== h.startTime) return false;
  }
  return true;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as LockHolder;
    return Number.isInteger(h?.pid) && typeof h.hostname === 'string' && typeof h.token === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** `run.lock`'s raw text, or null when there is none. */
async function readRaw(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** The folder's lock holder and whether it lives; null when the folder is not locked. A lock that does not parse is stale. */
export async function readRunLock(dir: string): Promise<{ holder: LockHolder | null; live: boolean } | null> {
  const raw = await readRaw(join(dir, LOCK_FILE));
  if (raw === null) return null;
  const holder = parseHolder(raw);
  return { holder, live: !!holder && holderIsLive(holder) };
}

export interface RunLock {
  readonly dir: string;
  readonly holder: LockHolder;
  /** Removes the lock if it is still this one's. Idempotent. */
  release(): Promise<void>;
}

const EEXIST = (e: unknown) => (e as NodeJS.ErrnoException).code === 'EEXIST';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Removes `path` if it still holds exactly `raw` (check, then unlink: see the protocol's window above). */
async function unlinkIfSame(path: string, raw: string): Promise<void> {
  if ((await readRaw(path)) !== raw) return;
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/** Under the takeover guard: removes `run.lock` if it still is the stale `raw`. */
async function takeOver(dir: string, tmp: string, raw: string): Promise<void> {
  const guard = join(dir, TAKEOVER);
  try {
    await link(tmp, guard);
  } catch (e) {
    if (!EEXIST(e)) throw e;
    const g = await readRaw(guard);
    if (g === null) return;
    const h = parseHolder(g);
    if (h && holderIsLive(h)) return void (await sleep(10 + Math.random() * 20));
    return unlinkIfSame(guard, g);
  }
  const mine = await readRaw(guard);
  try {
    await unlinkIfSame(join(dir, LOCK_FILE), raw);
  } finally {
    if (mine !== null) await unlinkIfSame(guard, mine);
  }
}

/**
 * A run folder's files are written by many parts of the app through plain string paths: a folder whose path
 * is not valid UTF-8 (main/io/raw-names.ts) is refused in words before anything is written, never left
 * half-written with "no such file" at the first link. Throws FileError EILSEQ.
 */
export function checkRunFolderName(dir: string): void {
  if (hasRawBytes(dir)) throw new FileError('EILSEQ', dir, "a run folder's path must be valid UTF-8; rename the folder or choose another");
}

/**
 * Takes the run folder `dir` (which must exist) for this process. Throws RunLockedError naming the live
 * holder, FileError naming `dir` when the folder cannot be written (read-only, full disk); a stale lock is taken over. `purpose` is shown to a refused second writer.
 */
export async function acquireRunLock(dir: string, purpose: string): Promise<RunLock> {
  checkRunFolderName(dir);
  const holder = me(purpose);
  const path = join(dir, LOCK_FILE);
  const tmp = join(dir, `${LOCK_FILE}.${holder.token}.tmp`);
  try {
    await writeFileSynced(tmp, JSON.stringify(holder));
  } catch (e) {
    // A read-only run folder, a full disk: say so about the folder (the temp name means nothing to the user).
    if (e instanceof FileError) throw new FileError(e.code, dir, `cannot write in the run folder: ${e.reason}`);
    throw e;
  }
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await link(tmp, path);
        let released = false;
        return {
          dir,
          holder,
          release: async () => {
            if (released) return;
            released = true;
            const raw = await readRaw(path).catch(() => null);
            if (raw !== null && parseHolder(raw)?.token === holder.token) await unlink(path).catch(() => undefined);
          },
        };
      } catch (e) {
        if (!EEXIST(e)) throw e;
      }
      const raw = await readRaw(path);
      if (raw === null) continue;
      const cur = parseHolder(raw);
      if (cur && holderIsLive(cur)) throw new RunLockedError(dir, cur);
      await takeOver(dir, tmp, raw);
    }
    throw new RunLockedError(dir, null);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Runs `fn` holding the run folder's lock (a short write by the app: status after a crash, a rename). */
export async function withRunLock<T>(dir: string, purpose: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireRunLock(dir, purpose);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
