/**
 * Folder exports (pytorch, tfjs) are written to a temp folder next to the target, then renamed into place,
 * so a crash leaves the previous export or the new one. Each export records what it wrote in a manifest,
 * `.reid-studio-export.json` (each plain file's name, size and SHA-256); an existing target is replaced only
 * when it is empty or when every entry in it is a plain file that still matches that record (a forged or
 * stale manifest proves nothing: a folder, a link or an edited file blocks the replacement). A folder holding anything else (the user's own `model.py`, notes, data)
 * is refused with the names of those files: nothing the app did not write is ever deleted. Replaced files
 * keep their permission bits.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { copyMode, fileError, makeFolders, readTextFile, syncFolder, writeFileSynced } from '../io/files.js';
import { ExportError } from './errors.js';

/** The manifest file of a folder export: `{ generator, format, files, written }`. */
export const EXPORT_MANIFEST = '.reid-studio-export.json';

/** A plain file an export wrote: its name in the folder, size in bytes and SHA-256 (hex). */
interface WrittenFile {
  name: string;
  size: number;
  sha256: string;
}

interface ExportManifest {
  generator: 'ReID Studio';
  format: string;
  /** Names of the files written (kept for readers of older manifests). */
  files: string[];
  /** What was written, file by file: an entry is replaced later only while it still matches. */
  written: WrittenFile[];
}

async function kindOf(path: string): Promise<'missing' | 'file' | 'dir'> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
}

/** SHA-256 (hex) of a file, streamed (model.pth can be hundreds of MB). */
function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Size and SHA-256 of each file `fill` wrote into `dir`. */
async function describeWritten(dir: string, files: string[]): Promise<WrittenFile[]> {
  return Promise.all(files.map(async (name) => ({ name, size: (await lstat(join(dir, name))).size, sha256: await sha256File(join(dir, name)) })));
}

/**
 * What the previous export recorded in `dir`'s manifest, by name; null when the folder has no readable
 * manifest of ours (a manifest is plain JSON anyone can write: it only says what to compare against).
 */
async function previousExport(dir: string): Promise<Map<string, WrittenFile> | null> {
  try {
    if (!(await lstat(join(dir, EXPORT_MANIFEST))).isFile()) return null;
    const m = JSON.parse(await readTextFile(join(dir, EXPORT_MANIFEST), 'json', { maxBytes: 1024 * 1024 })) as Partial<ExportManifest>;
    if (m.generator !== 'ReID Studio') return null;
    const written = Array.isArray(m.written) ? m.written : [];
    const ok = (w: Partial<WrittenFile> | null): w is WrittenFile => !!w && typeof w.name === 'string' && Number.isSafeInteger(w.size) && typeof w.sha256 === 'string' && /^[0-9a-f]{64}$/.test(w.sha256);
    return new Map(written.filter(ok).map((w) => [w.name, w]));
  } catch {
    return null;
  }
}

/**
 * Entries of an existing target that may not be deleted: anything but the manifest and the plain files
 * (not folders, not links) the previous export recorded with the same size and SHA-256. `changed`: recorded
 * files that no longer match (edited by the user). Empty `foreign`: the folder may be replaced.
 */
async function foreignEntries(dir: string): Promise<{ entries: string[]; foreign: string[]; changed: string[]; hasManifest: boolean }> {
  const entries = await readdir(dir);
  const ours = await previousExport(dir);
  const foreign: string[] = [];
  const changed: string[] = [];
  for (const e of entries) {
    if (ours && e === EXPORT_MANIFEST) continue;
    const w = ours?.get(e);
    const st = w ? await lstat(join(dir, e)) : null;
    if (w && st!.isFile() && st!.size === w.size && (await sha256File(join(dir, e))) === w.sha256) continue;
    foreign.push(e);
    if (w) changed.push(e);
  }
  return { entries, foreign, changed, hasManifest: ours !== null };
}

function refusal(outDir: string, foreign: string[], hasManifest: boolean, changed: string[] = []): ExportError {
  const names = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? `, … (${foreign.length} in all)` : '');
  return new ExportError(
    !hasManifest
      ? `${outDir} is a folder that holds other files (${names}) and no earlier ReID Studio export: choose an empty or new folder`
      : changed.length
        ? `${outDir} holds files the previous export did not write or that changed since (${names}): move them or choose an empty or new folder`
        : `${outDir} holds files the previous export did not write (${names}): move them or choose an empty or new folder`,
  );
}

/**
 * Runs `fill(tmpDir)` (which returns the names of the files it wrote) and moves the result to `outDir`,
 * with the manifest. Throws ExportError (one line) for a target that is a file or a folder holding files
 * no earlier export wrote, and for an unwritable target; the target is then untouched.
 */
export async function writeFolderAtomic(outDir: string, format: string, fill: (dir: string) => Promise<string[]>): Promise<string[]> {
  try {
    return await writeFolder(outDir, format, fill);
  } catch (e) {
    if (e instanceof ExportError) throw e;
    // A full disk, a read-only folder: the reason in one line, about the folder asked for (the temp folder is gone).
    throw new ExportError(`cannot write ${outDir}: ${fileError(e, outDir).reason}`);
  }
}

async function writeFolder(outDir: string, format: string, fill: (dir: string) => Promise<string[]>): Promise<string[]> {
  const out = resolve(outDir);
  const existing = await kindOf(out);
  if (existing === 'file') throw new ExportError(`${outDir} is a file; the export writes a folder`);
  if (existing === 'dir') {
    const { foreign, changed, hasManifest } = await foreignEntries(out);
    if (foreign.length) throw refusal(outDir, foreign, hasManifest, changed);
  }
  const parent = dirname(out);
  try {
    await makeFolders(parent);
  } catch (e) {
    throw new ExportError(`cannot create ${parent}: ${fileError(e, parent).reason}`);
  }
  const tag = randomBytes(6).toString('hex');
  const tmp = join(parent, `.${basename(out)}.${tag}.tmp`);
  const old = join(parent, `.${basename(out)}.${tag}.old`);
  await mkdir(tmp);
  let files: string[];
  try {
    files = await fill(tmp);
    const manifest: ExportManifest = { generator: 'ReID Studio', format, files, written: await describeWritten(tmp, files) };
    await writeFileSynced(join(tmp, EXPORT_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    if (existing === 'dir') {
      // A replaced export's files keep their permission bits, and the folder its own.
      for (const f of files) await copyMode(join(tmp, f), join(out, f));
      await chmod(tmp, (await stat(out)).mode & 0o7777);
      await rename(out, old);
      // A file added to the folder between the check and the rename is not ours: put everything back.
      const { foreign, changed, hasManifest } = await foreignEntries(old);
      if (foreign.length) {
        await rename(old, out);
        throw refusal(outDir, foreign, hasManifest, changed);
      }
    }
    try {
      await rename(tmp, out);
    } catch (e) {
      if (existing === 'dir') await rename(old, out);
      throw e;
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await syncFolder(parent);
  if (existing === 'dir') await rm(old, { recursive: true, force: true });
  return files;
}
