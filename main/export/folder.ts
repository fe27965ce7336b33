/**
 * Folder exports (pytorch, tfjs) are written to a temp folder next to the target, then renamed into place,
 * so a crash leaves the previous export or the new one. Each export records what it wrote in a manifest,
 * `.reid-studio-export.json`; an existing target is replaced only when it is empty or when every file in
 * it is listed in that manifest. A folder holding anything else (the user's own `model.py`, notes, data)
 * is refused with the names of those files: nothing the app did not write is ever deleted. Replaced files
 * keep their permission bits.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { copyMode, readTextFile, syncFolder, writeFileSynced } from '../io/files.js';
import { ExportError } from './errors.js';

/** The manifest file of a folder export: `{ generator, format, files }`. */
export const EXPORT_MANIFEST = '.reid-studio-export.json';

interface ExportManifest {
  generator: 'ReID Studio';
  format: string;
  files: string[];
}

async function kindOf(path: string): Promise<'missing' | 'file' | 'dir'> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
}

/** The files of `dir` the previous export wrote, from its manifest; null when it has no readable manifest. */
async function previousExport(dir: string): Promise<Set<string> | null> {
  try {
    const m = JSON.parse(await readTextFile(join(dir, EXPORT_MANIFEST), 'json', { maxBytes: 1024 * 1024 })) as Partial<ExportManifest>;
    if (m.generator !== 'ReID Studio' || !Array.isArray(m.files)) return null;
    return new Set([...m.files.filter((f): f is string => typeof f === 'string'), EXPORT_MANIFEST]);
  } catch {
    return null;
  }
}

/** Entries of an existing target that no previous export of ours wrote (empty: the folder may be replaced). */
async function foreignEntries(dir: string): Promise<{ entries: string[]; foreign: string[]; hasManifest: boolean }> {
  const entries = await readdir(dir);
  const ours = await previousExport(dir);
  return { entries, foreign: entries.filter((e) => !ours?.has(e)), hasManifest: ours !== null };
}

function refusal(outDir: string, foreign: string[], hasManifest: boolean): ExportError {
  const names = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? `, … (${foreign.length} in all)` : '');
  return new ExportError(
    hasManifest
      ? `${outDir} holds files the previous export did not write (${names}): move them or choose an empty or new folder`
      : `${outDir} is a folder that holds other files (${names}) and no earlier ReID Studio export: choose an empty or new folder`,
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
    throw new ExportError(`cannot write ${outDir}: ${(e as Error).message}`);
  }
}

async function writeFolder(outDir: string, format: string, fill: (dir: string) => Promise<string[]>): Promise<string[]> {
  const out = resolve(outDir);
  const existing = await kindOf(out);
  if (existing === 'file') throw new ExportError(`${outDir} is a file; the export writes a folder`);
  if (existing === 'dir') {
    const { foreign, hasManifest } = await foreignEntries(out);
    if (foreign.length) throw refusal(outDir, foreign, hasManifest);
  }
  const parent = dirname(out);
  try {
    await mkdir(parent, { recursive: true });
  } catch (e) {
    throw new ExportError(`cannot create ${parent}: ${(e as Error).message}`);
  }
  const tag = randomBytes(6).toString('hex');
  const tmp = join(parent, `.${basename(out)}.${tag}.tmp`);
  const old = join(parent, `.${basename(out)}.${tag}.old`);
  await mkdir(tmp);
  let files: string[];
  try {
    files = await fill(tmp);
    const manifest: ExportManifest = { generator: 'ReID Studio', format, files };
    await writeFileSynced(join(tmp, EXPORT_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    if (existing === 'dir') {
      // A replaced export's files keep their permission bits, and the folder its own.
      for (const f of files) await copyMode(join(tmp, f), join(out, f));
      await chmod(tmp, (await stat(out)).mode & 0o7777);
      await rename(out, old);
      // A file added to the folder between the check and the rename is not ours: put everything back.
      const { foreign, hasManifest } = await foreignEntries(old);
      if (foreign.length) {
        await rename(old, out);
        throw refusal(outDir, foreign, hasManifest);
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
