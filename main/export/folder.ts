/**
 * Folder exports are written to a temp folder next to the target, then renamed into place. An existing
 * target is replaced only when it is empty or holds a previous export of the same format (its marker
 * file is present): a folder of unrelated files is never deleted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ExportError } from './errors.js';

async function kindOf(path: string): Promise<'missing' | 'file' | 'dir'> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
}

/** Writes a file with fsync (inside the temp folder, which is renamed as a whole afterwards). */
export async function writeSynced(path: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(path, 'w', 0o644);
  try {
    await (typeof data === 'string' ? fh.writeFile(data, 'utf8') : fh.writeFile(data));
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Runs `fill(tmpDir)` and moves the result to `outDir`. `marker` is a file every export of this format
 * contains (e.g. `model.py`); an existing `outDir` without it and not empty is refused.
 */
export async function writeFolderAtomic(outDir: string, marker: string, fill: (dir: string) => Promise<void>): Promise<void> {
  try {
    await writeFolder(outDir, marker, fill);
  } catch (e) {
    if (e instanceof ExportError) throw e;
    throw new ExportError(`cannot write ${outDir}: ${(e as Error).message}`);
  }
}

async function writeFolder(outDir: string, marker: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const out = resolve(outDir);
  const existing = await kindOf(out);
  if (existing === 'file') throw new ExportError(`${outDir} is a file; the export writes a folder`);
  if (existing === 'dir') {
    const entries = await readdir(out);
    if (entries.length && !entries.includes(marker))
      throw new ExportError(`${outDir} is a folder that holds other files (no ${marker}): choose an empty or new folder`);
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
  try {
    await fill(tmp);
    if (existing === 'dir') await rename(out, old);
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
  if (existing === 'dir') await rm(old, { recursive: true, force: true });
}
