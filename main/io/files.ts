/**
 * The one place where the Node side writes files atomically and reads user files safely.
 *
 * Atomic replace: the bytes go to a temp file in the target's folder (same filesystem, so the rename is
 * atomic), are fsynced, then renamed over the target, and the folder is fsynced. A crash leaves the old
 * file or the new one, never half of either. The new file keeps the permission bits of the file it
 * replaces (a 0600 document stays 0600); a new file gets 0644 minus the umask. Every failure path removes
 * the temp file, and a failure is reported only when the target was not replaced.
 *
 * Safe read: only regular files are read (a FIFO, a device such as /dev/zero or a socket is refused at
 * once, without blocking), with a size cap per kind of file, checked with fstat on the opened handle
 * (what was checked is what is read). Errors are one line: `FileError` with an errno-like `code`.
 */
import { constants, closeSync, fstatSync, mkdirSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { displayPath, fsPath } from './raw-names.js';

/** Size caps, bytes. Documents match the API's 64 MB document limit; weights cover ResNet-101-IBN-a checkpoints with optimizer state. */
export const READ_LIMITS = {
  document: 64 * 1024 * 1024,
  config: 4 * 1024 * 1024,
  json: 64 * 1024 * 1024,
  weights: 2 * 1024 * 1024 * 1024 - 1,
  image: 64 * 1024 * 1024,
} as const;

export type FileKind = keyof typeof READ_LIMITS;

const KIND_NAMES: Record<FileKind, string> = {
  document: 'graph document',
  config: 'config file',
  json: 'JSON file',
  weights: 'weights file',
  image: 'image',
};

/** errno-like; EILSEQ: a path that is not valid UTF-8 where the app needs one (main/io/raw-names.ts). */
export type FileErrorCode = 'ENOENT' | 'EACCES' | 'EISDIR' | 'ENOTDIR' | 'ENOTREG' | 'EFBIG' | 'ENOSPC' | 'EROFS' | 'EIO' | 'EILSEQ';

/** A file could not be read or written; `message` is one line naming the path and the reason (`reason`: the reason alone). */
export class FileError extends Error {
  constructor(
    readonly code: FileErrorCode,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${displayPath(path)}: ${reason}`);
    this.name = 'FileError';
  }
}

function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / (1024 * 1024))} MB` : `${bytes} bytes`;
}

/** Turns a Node errno error into a one-line FileError (reads and writes). */
export function fileError(e: unknown, path: string): FileError {
  if (e instanceof FileError) return e;
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return new FileError('ENOENT', path, 'no such file or folder');
    case 'EACCES':
    case 'EPERM':
      return new FileError('EACCES', path, 'permission denied');
    case 'EISDIR':
      return new FileError('EISDIR', path, 'is a folder, not a file');
    case 'ENOTDIR':
      return new FileError('ENOTDIR', path, 'a part of the path is not a folder');
    case 'ENOSPC':
    case 'EDQUOT':
      return new FileError('ENOSPC', path, 'the disk is full');
    case 'EROFS':
      return new FileError('EROFS', path, 'the file system is read-only');
    case 'ERR_FS_FILE_TOO_LARGE':
      return new FileError('EFBIG', path, 'file too large');
    default:
      return new FileError('EIO', path, String(err?.message ?? e).split('\n')[0]!);
  }
}

/** True when `path` is an existing folder (false on any error). */
function isFolder(path: string): boolean {
  try {
    return statSync(fsPath(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * fileError for creating `path` (a file or a folder): ENOENT while its folder exists means the file system
 * takes no new entries there (/proc, /sys: `train --out /proc/self`), which "no such file" would hide.
 */
export function createError(e: unknown, path: string): FileError {
  if ((e as NodeJS.ErrnoException)?.code === 'ENOENT' && isFolder(dirname(path))) return new FileError('EACCES', path, 'the file system takes no new files here (a kernel file system such as /proc or /sys)');
  return fileError(e, path);
}

/** The folders of `dir` that do not exist yet, outermost first; FileError when a part of the path is a file. */
function missingFolders(dir: string, exists: (p: string) => 'dir' | 'missing' | 'other'): string[] {
  const missing: string[] = [];
  for (let cur = resolve(dir); ; cur = dirname(cur)) {
    const k = exists(cur);
    if (k === 'dir') break;
    if (k === 'other') throw new FileError('ENOTDIR', cur, 'is not a folder');
    missing.unshift(cur);
    if (dirname(cur) === cur) break;
  }
  return missing;
}

function kindSync(p: string): 'dir' | 'missing' | 'other' {
  try {
    return statSync(fsPath(p)).isDirectory() ? 'dir' : 'other';
  } catch (e) {
    // ENOTDIR: a file further up is in the way; the walk up names it.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw fileError(e, p);
  }
}

/**
 * `mkdir -p` that always ends: creates the missing folders of `dir`, outermost first. Node's own recursive
 * mkdir retries without end where mkdir(2) answers ENOENT under an existing folder (`/proc/self/x`: Node 20
 * and 22 hang; issue #25). Throws FileError naming the folder that could not be made (ENOTDIR for a file
 * in the way, EROFS, EACCES, ENOSPC, …); an existing folder is fine.
 */
export async function makeFolders(dir: string): Promise<void> {
  for (const d of missingFolders(dir, kindSync)) {
    try {
      await mkdir(fsPath(d));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !isFolder(d)) throw createError(e, d);
    }
  }
}

/** Synchronous makeFolders (same checks, same errors). */
export function makeFoldersSync(dir: string): void {
  for (const d of missingFolders(dir, kindSync)) {
    try {
      mkdirSync(fsPath(d));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !isFolder(d)) throw createError(e, d);
    }
  }
}

function checkStats(st: Stats, path: string, kind: FileKind, maxBytes: number): void {
  if (st.isDirectory()) throw new FileError('EISDIR', path, 'is a folder, not a file');
  if (!st.isFile()) {
    const what = st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a file';
    throw new FileError('ENOTREG', path, `is ${what}, not a regular file; a ${KIND_NAMES[kind]} must be a regular file`);
  }
  if (st.size > maxBytes) throw new FileError('EFBIG', path, `is ${mb(st.size)}, larger than the ${mb(maxBytes)} limit for a ${KIND_NAMES[kind]}`);
}

export interface ReadOptions {
  /** Overrides the kind's cap (bytes). */
  maxBytes?: number;
}

// O_NONBLOCK: opening a FIFO with no writer returns at once instead of blocking a libuv thread; the
// fstat below then refuses it. Regular files ignore the flag.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Reads a regular file of at most the kind's size cap (READ_LIMITS). Throws FileError: ENOENT, EACCES,
 * EISDIR, ENOTREG (FIFO, device, socket), EFBIG (over the cap, checked before anything is allocated).
 */
export async function readRegularFile(path: string, kind: FileKind, opts: ReadOptions = {}): Promise<Buffer> {
  const maxBytes = opts.maxBytes ?? READ_LIMITS[kind];
  let fh: FileHandle | undefined;
  try {
    fh = await open(fsPath(path), READ_FLAGS);
    const st = await fh.stat();
    checkStats(st, path, kind, maxBytes);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break; // the file shrank while we read it: return what is there
      off += bytesRead;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } catch (e) {
    throw fileError(e, path);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** readRegularFile, decoded as UTF-8. */
export async function readTextFile(path: string, kind: FileKind, opts: ReadOptions = {}): Promise<string> {
  return (await readRegularFile(path, kind, opts)).toString('utf8');
}

/** Synchronous readRegularFile for the CLI's argument parsing (same checks, same errors). */
export function readRegularFileSync(path: string, kind: FileKind, opts: ReadOptions = {}): Buffer {
  const maxBytes = opts.maxBytes ?? READ_LIMITS[kind];
  let fd: number | undefined;
  try {
    fd = openSync(fsPath(path), READ_FLAGS);
    const st = fstatSync(fd);
    checkStats(st, path, kind, maxBytes);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } catch (e) {
    throw fileError(e, path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** readRegularFileSync, decoded as UTF-8. */
export function readTextFileSync(path: string, kind: FileKind, opts: ReadOptions = {}): string {
  return readRegularFileSync(path, kind, opts).toString('utf8');
}

/**
 * The file-system calls an atomic write makes, so a test can inject a fault (ENOSPC at a chosen step)
 * where a real small file system cannot be mounted. Production code never passes one.
 */
export interface AtomicFs {
  open: typeof open;
  rename: typeof rename;
}

const realFs: AtomicFs = { open, rename };

export interface AtomicWriteOptions {
  /** Permission bits of a new file (default 0o644, minus the umask); an existing target keeps its own. */
  mode?: number;
  /** Test seam: the open / rename used (default node:fs/promises). */
  fs?: AtomicFs;
}

async function writeAll(fh: FileHandle, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const parts = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  for (const p of parts) {
    let off = 0;
    while (off < p.byteLength) off += (await fh.write(p, off, p.byteLength - off)).bytesWritten;
  }
}

async function existingMode(path: string): Promise<number | null> {
  try {
    const st = await stat(fsPath(path));
    return st.isFile() ? st.mode & 0o7777 : null;
  } catch {
    return null;
  }
}

/** fsync of a folder, so a rename in it survives a power loss; not every platform can (Windows), so best effort. */
export async function syncFolder(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(fsPath(dir), constants.O_RDONLY);
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** The temp name used for `path`: hidden, in the same folder, unique. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `data` (text as UTF-8, bytes, or byte parts in order) to `path` atomically: temp file in the same
 * folder, fsync, rename, fsync of the folder. Creates missing parent folders. The target keeps its
 * permission bits. On any failure the temp file is removed and a FileError is thrown (ENOSPC for a full
 * disk), and the target is untouched; when this returns, the new content is in place.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[], opts: AtomicWriteOptions = {}): Promise<void> {
  const fs = opts.fs ?? realFs;
  const dir = dirname(path);
  await makeFolders(dir);
  // Only a regular file (or nothing) is replaced: renaming over /dev/null, a FIFO or a socket would
  // destroy it (issue #25: `export --out /dev/null` replaced the device with a file when run as root).
  const target = await lstat(fsPath(path)).catch(() => null);
  if (target && !target.isFile() && !target.isSymbolicLink())
    throw new FileError(target.isDirectory() ? 'EISDIR' : 'ENOTREG', path, `is ${target.isDirectory() ? 'a folder' : 'a device, FIFO or socket'}, not a file to write`);
  const keep = await existingMode(path);
  const mode = keep ?? opts.mode ?? 0o644;
  const tmp = tempPathFor(path);
  let created = false;
  try {
    const fh = await fs.open(fsPath(tmp), 'wx', mode);
    created = true;
    try {
      await writeAll(fh, data);
      // open()'s mode is reduced by the umask; an existing file's bits are restored exactly.
      if (keep !== null) await fh.chmod(keep);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(fsPath(tmp), fsPath(path));
    created = false;
  } catch (e) {
    if (created) await rm(fsPath(tmp), { force: true }).catch(() => undefined);
    throw created ? fileError(e, path) : createError(e, path);
  }
  await syncFolder(dir);
}

/**
 * Writes a new file with fsync, no rename: for files inside a temp folder that is renamed into place as a
 * whole (folder exports, checkpoints). Throws FileError; a partly written file is removed.
 */
export async function writeFileSynced(path: string, data: string | Uint8Array | readonly Uint8Array[], mode = 0o644): Promise<void> {
  let created = false;
  try {
    const fh = await open(fsPath(path), 'wx', mode);
    created = true;
    try {
      await writeAll(fh, data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (created) await rm(fsPath(path), { force: true }).catch(() => undefined);
    throw created ? fileError(e, path) : createError(e, path);
  }
}

/** Gives `path` the permission bits of `like` when `like` is an existing file (an export replacing an earlier one). */
export async function copyMode(path: string, like: string): Promise<void> {
  const m = await existingMode(like);
  if (m !== null) await chmod(fsPath(path), m);
}
