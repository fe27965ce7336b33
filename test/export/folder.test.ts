/**
 * Folder exports never delete a file the app did not write: a folder holding the user's own model.py /
 * model.json plus other files is refused with the names of those files, and everything in it survives; an
 * earlier export (listed in its manifest) is replaced, keeping its files' permission bits; a file the user
 * added to an earlier export's folder blocks the replacement.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPreset } from '../../core/index.js';
import { EXPORT_MANIFEST, exportModel, ExportError } from '../../main/export/index.js';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'reid-export-folder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const doc = () => buildPreset('resnet18', { input: [64, 32], numClasses: 3 });

/** A folder of the user's files, returned as name → content. */
function userFolder(name: string, files: Record<string, string>): { dir: string; files: Record<string, string> } {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return { dir, files };
}

function contents(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

const hidden = () => readdirSync(tmp).filter((f) => f.startsWith('.'));

describe('folder exports keep the user files', () => {
  it('export --format pytorch into a folder with the user\'s model.py and other files: exit 2, one line, every file kept', () => {
    const u = userFolder('mine-pt', { 'model.py': 'my own model', 'train.csv': 'a,b\n1,2\n', 'notes.txt': 'keep' });
    const r = spawnSync(process.execPath, [BIN, 'export', '--preset', 'resnet18', '--input', '64x32', '--format', 'pytorch', '--out', u.dir], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`reid-studio: error: cannot export to pytorch: ${u.dir} is a folder that holds other files (model.py, notes.txt, train.csv) and no earlier ReID Studio export: choose an empty or new folder\n`);
    expect(contents(u.dir)).toEqual(u.files);
    expect(hidden()).toEqual([]);
  });

  it('tfjs into a folder with the user\'s model.json and other files is refused; every file kept', async () => {
    const u = userFolder('mine-tfjs', { 'model.json': '{"mine":true}', 'weights.bin': 'x' });
    const e = await exportModel(doc(), 'tfjs', u.dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExportError);
    expect((e as Error).message).toMatch(/holds other files \(model\.json, weights\.bin\)/);
    expect(contents(u.dir)).toEqual(u.files);
    expect(hidden()).toEqual([]);
  });

  it('an earlier export is replaced (modes kept); a file the user added to it blocks the next export', async () => {
    const out = join(tmp, 'again');
    const first = await exportModel(doc(), 'pytorch', out);
    expect(first.files).toEqual(['model.py', 'model.pth']);
    expect(JSON.parse(readFileSync(join(out, EXPORT_MANIFEST), 'utf8'))).toEqual({
      generator: 'ReID Studio',
      format: 'pytorch',
      files: ['model.py', 'model.pth'],
      written: ['model.py', 'model.pth'].map((name) => ({ name, size: statSync(join(out, name)).size, sha256: createHash('sha256').update(readFileSync(join(out, name))).digest('hex') })),
    });
    chmodSync(join(out, 'model.pth'), 0o600);
    chmodSync(out, 0o700);
    // A file edited since the export no longer matches its record: the export refuses to delete it.
    const generated = readFileSync(join(out, 'model.py'));
    writeFileSync(join(out, 'model.py'), 'edited by hand');
    const edited = await exportModel(doc(), 'tfjs', out).catch((x: unknown) => x);
    expect((edited as Error).message).toBe(`${out} holds files the previous export did not write or that changed since (model.py): move them or choose an empty or new folder`);
    expect(readFileSync(join(out, 'model.py'), 'utf8')).toBe('edited by hand');
    writeFileSync(join(out, 'model.py'), generated);
    // Replaced: every file still as the export wrote it.
    await exportModel(doc(), 'tfjs', out);
    await exportModel(doc(), 'pytorch', out);
    expect(readFileSync(join(out, 'model.py'), 'utf8')).toMatch(/nn\.Linear\(512, 3, bias=False\)/);
    expect(readdirSync(out).sort()).toEqual([EXPORT_MANIFEST, 'model.pth', 'model.py']);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    // The tfjs export in between wrote no model.py, so this model.py is a new file: default mode.
    expect(statSync(join(out, 'model.py')).mode & 0o777).toBe(0o644 & ~process.umask());
    chmodSync(join(out, 'model.pth'), 0o600);
    await exportModel(doc(), 'pytorch', out);
    expect(statSync(join(out, 'model.pth')).mode & 0o777).toBe(0o600);

    writeFileSync(join(out, 'results.txt'), 'my notes');
    const before = contents(out);
    const e = await exportModel(doc(), 'pytorch', out).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExportError);
    expect((e as Error).message).toBe(`${out} holds files the previous export did not write (results.txt): move them or choose an empty or new folder`);
    expect(contents(out)).toEqual(before);
    expect(hidden()).toEqual([]);
  });

  it('a forged manifest listing the user\'s file and folder (issue #25) deletes nothing: a manifest proves nothing', async () => {
    const u = userFolder('forged', { 'train.py': 'my training script' });
    mkdirSync(join(u.dir, 'data'));
    writeFileSync(join(u.dir, 'data', 'labels.csv'), 'id,label\n');
    writeFileSync(join(u.dir, EXPORT_MANIFEST), JSON.stringify({ generator: 'ReID Studio', format: 'pytorch', files: ['train.py', 'data'] }));
    const e = await exportModel(doc(), 'pytorch', u.dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExportError);
    expect((e as Error).message).toBe(`${u.dir} holds files the previous export did not write (data, train.py): move them or choose an empty or new folder`);
    expect(readFileSync(join(u.dir, 'train.py'), 'utf8')).toBe('my training script');
    expect(readFileSync(join(u.dir, 'data', 'labels.csv'), 'utf8')).toBe('id,label\n');
    // Even a manifest recording a folder's "hash" does not make a folder ours: only plain files match.
    writeFileSync(join(u.dir, EXPORT_MANIFEST), JSON.stringify({ generator: 'ReID Studio', format: 'pytorch', files: ['data'], written: [{ name: 'data', size: statSync(join(u.dir, 'data')).size, sha256: '0'.repeat(64) }] }));
    rmSync(join(u.dir, 'train.py'));
    const d = await exportModel(doc(), 'pytorch', u.dir).catch((x: unknown) => x);
    expect((d as Error).message).toMatch(/changed since \(data\)/);
    expect(readdirSync(join(u.dir, 'data'))).toEqual(['labels.csv']);
    expect(hidden()).toEqual([]);
  });
});
