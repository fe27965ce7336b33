/**
 * The I/O module (main/io/files.ts) and the service calls that use it, on real files: atomic replace keeps
 * the file mode, a full disk (a real 1 MB tmpfs) leaves no temp file and the right answer, and only regular
 * files are read (a FIFO and /dev/zero are refused at once, not read without end).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, statfsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreset, serializeDocument } from '../../core/index.js';
import { FileError, readRegularFile, READ_LIMITS, readTextFileSync, writeFileAtomic, type AtomicFs } from '../../main/io/files.js';
import { Service } from '../../main/service/index.js';
import { readCheckpoint } from '../../main/weights/index.js';
import { readCheckpoint as readRunCheckpoint, writeCheckpoint } from '../../main/runs/store/checkpoint.js';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'reid-io-'));
const small = join(tmp, 'small-disk');
const fifo = join(tmp, 'pipe.json');
const doc = serializeDocument(buildPreset('resnet18', { input: [64, 32], numClasses: 5 }));

beforeAll(() => {
  mkdirSync(small);
  // A real full disk: a 1 MB tmpfs (we run as root in CI and here). Mounting is part of the test.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0777', 'tmpfs', small]);
  execFileSync('mkfifo', [fifo]);
});
afterAll(() => {
  spawnSync('umount', [small]);
  rmSync(tmp, { recursive: true, force: true });
});

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

/** Fills the tmpfs until fewer than `keep` bytes are free. */
function fill(dir: string, keep: number): void {
  const { bavail, bsize } = statfsSync(dir);
  const free = bavail * bsize;
  if (free > keep) writeFileSync(join(dir, `filler-${Date.now()}`), Buffer.alloc(free - keep));
}

describe('atomic replace', () => {
  it('keeps the permission bits of the file it replaces; a new file gets 0644', async () => {
    const p = join(tmp, 'private.json');
    writeFileSync(p, 'old');
    chmodSync(p, 0o600);
    await writeFileAtomic(p, 'new');
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    chmodSync(p, 0o640);
    await writeFileAtomic(p, [Buffer.from('a'), Buffer.from('b')]);
    expect(statSync(p).mode & 0o777).toBe(0o640);
    expect(readFileSync(p, 'utf8')).toBe('ab');
    const fresh = join(tmp, 'sub', 'fresh.json');
    await writeFileAtomic(fresh, 'x');
    expect(statSync(fresh).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(leftovers(tmp)).toEqual([]);
  });

  it('a failed rename (injected through the fs parameter) removes the temp file and leaves the target as it was', async () => {
    const p = join(tmp, 'target.json');
    writeFileSync(p, 'before');
    const failing: AtomicFs = {
      open,
      rename: async () => {
        throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      },
    };
    const e = await writeFileAtomic(p, 'after', { fs: failing }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FileError);
    expect((e as Error).message).not.toContain('\n');
    expect(readFileSync(p, 'utf8')).toBe('before');
    expect(leftovers(tmp)).toEqual([]);
    await writeFileAtomic(p, 'after', { fs: { open, rename } });
    expect(readFileSync(p, 'utf8')).toBe('after');
  });

  it('a full disk (real tmpfs) gives ENOSPC, removes the partial temp file and keeps the old content', async () => {
    const dir = join(small, 'atomic');
    mkdirSync(dir);
    const p = join(dir, 'big.bin');
    writeFileSync(p, 'old');
    fill(small, 64 * 1024);
    const e = await writeFileAtomic(p, Buffer.alloc(512 * 1024, 7)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FileError);
    expect((e as FileError).code).toBe('ENOSPC');
    expect((e as Error).message).toBe(`${p}: the disk is full`);
    expect(readFileSync(p, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['big.bin']);
    for (const f of readdirSync(small)) if (f.startsWith('filler-')) rmSync(join(small, f));
  });
});

describe('checkpoints on a full disk (real tmpfs)', () => {
  it('a checkpoint that does not fit fails with ENOSPC, leaves no temp folder, and the previous checkpoint stays readable', async () => {
    const run = join(small, 'run');
    mkdirSync(run);
    const ckpt = (v: number, n: number) => ({ tensors: new Map([['w', { shape: [n], data: new Float32Array(n).fill(v) }]]), meta: { step: v } });
    await writeCheckpoint(run, ckpt(1, 1000));
    fill(small, 64 * 1024);
    const e = await writeCheckpoint(run, ckpt(2, 200_000)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FileError);
    expect((e as FileError).code).toBe('ENOSPC');
    expect(readdirSync(run)).toEqual(['checkpoint']);
    const c = await readRunCheckpoint<{ step: number }>(run);
    expect(c!.meta.step).toBe(1);
    expect(c!.tensors.get('w')!.data.every((x) => x === 1)).toBe(true);
    for (const f of readdirSync(small)) if (f.startsWith('filler-')) rmSync(join(small, f));
  });
});

describe('safe reads: regular files only, with a size cap', () => {
  it('a FIFO, a device, a folder and an oversized file are refused at once with one line', async () => {
    for (const [path, why] of [
      [fifo, /is a FIFO, not a regular file/],
      ['/dev/zero', /is a device, not a regular file/],
      [tmp, /is a folder, not a file/],
      [join(tmp, 'missing.json'), /no such file or folder/],
    ] as const) {
      const e = await readRegularFile(path, 'document').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(FileError);
      expect((e as Error).message).toMatch(why);
      expect((e as Error).message).not.toContain('\n');
      expect(() => readTextFileSync(path, 'config')).toThrow(why);
    }
    const big = join(tmp, 'big.yml');
    writeFileSync(big, Buffer.alloc(READ_LIMITS.config + 1, 0x20));
    await expect(readRegularFile(big, 'config')).rejects.toThrow(/is 4 MB, larger than the 4 MB limit for a config file/);
    await expect(readRegularFile(big, 'config', { maxBytes: 10 })).rejects.toThrow(/limit for a config file/);
  });

  it('the service refuses a FIFO or /dev/zero as a document, and a FIFO as weights, without blocking', async () => {
    const svc = new Service({ host: 'browser', version: '0', dataDir: join(tmp, 'data'), documentsDir: tmp });
    const r = await svc.dispatch('doc.open', { path: fifo });
    expect(r).toEqual({ ok: false, error: { code: 'E_IO', message: `${fifo}: is a FIFO, not a regular file; a graph document must be a regular file` } });
    const z = await svc.dispatch('doc.open', { path: '/dev/zero' });
    expect(!z.ok && z.error.message).toMatch(/\/dev\/zero: is a device/);
    // The file-I/O pool still answers (a blocked FIFO open would have taken one of its threads).
    const ok = join(tmp, 'fine.json');
    writeFileSync(ok, doc);
    expect((await svc.dispatch('doc.open', { path: ok })).ok).toBe(true);
    await expect(readCheckpoint(fifo)).rejects.toThrow(/cannot read .*pipe\.json: is a FIFO/);
  });

  it('the CLI refuses a FIFO as a config or a graph with exit 2 and one line', () => {
    for (const args of [['import', fifo, '--out', join(tmp, 'x.json')], ['summary', fifo]]) {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^reid-studio: error: cannot read .*pipe\.json: is a FIFO, not a regular file; a (config file|graph document) must be a regular file\n$/);
    }
    expect(existsSync(join(tmp, 'x.json'))).toBe(false);
  });

  it('export and import keep the mode of the file they replace (0600 stays 0600)', () => {
    const yml = join(tmp, 'private.yml');
    const out = join(tmp, 'imported.json');
    writeFileSync(yml, 'old');
    writeFileSync(out, 'old');
    chmodSync(yml, 0o600);
    chmodSync(out, 0o600);
    let r = spawnSync(process.execPath, [BIN, 'export', '--preset', 'resnet50', '--format', 'rsb-yaml', '--out', yml], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(yml, 'utf8')).toMatch(/MODEL:/);
    expect(statSync(yml).mode & 0o777).toBe(0o600);
    r = spawnSync(process.execPath, [BIN, 'import', yml, '--out', out], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(leftovers(tmp)).toEqual([]);
  });
});

describe('doc.save on a full disk (real tmpfs)', () => {
  it('the document folder is full: E_IO "disk is full, not saved", no temp file, the old file intact, mode kept on success', async () => {
    const docs = join(small, 'docs');
    mkdirSync(docs);
    const svc = new Service({ host: 'browser', version: '0', dataDir: join(tmp, 'data-a'), documentsDir: docs });
    const p = join(docs, 'mine.json');
    writeFileSync(p, doc);
    chmodSync(p, 0o600);
    const saved = await svc.dispatch('doc.save', { path: p, text: doc + '\n' });
    expect(saved.ok).toBe(true);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    const before = readFileSync(p, 'utf8');
    fill(small, 16 * 1024);
    const r = await svc.dispatch('doc.save', { path: p, text: doc + ' '.repeat(200_000) });
    expect(r).toEqual({ ok: false, error: { code: 'E_IO', message: `${p}: the disk is full: the document was not saved (the file on disk is unchanged)` } });
    expect(readdirSync(docs)).toEqual(['mine.json']);
    expect(readFileSync(p, 'utf8')).toBe(before);
    for (const f of readdirSync(small)) if (f.startsWith('filler-')) rmSync(join(small, f));
  });

  it('the data folder is full but the document folder is not: the save is reported as saved, with a notice', async () => {
    const data = join(small, 'data-b');
    mkdirSync(data);
    const svc = new Service({ host: 'browser', version: '0', dataDir: data, documentsDir: tmp });
    const notices: unknown[] = [];
    svc.onEvent((e, payload) => e === 'app.notice' && notices.push(payload));
    fill(small, 0);
    const p = join(tmp, 'saved-anyway.json');
    const r = await svc.dispatch('doc.save', { path: p, text: doc });
    expect(r).toEqual({ ok: true, result: { path: p, bytes: Buffer.byteLength(doc) } });
    expect(readFileSync(p, 'utf8')).toBe(doc);
    expect(notices).toEqual([{ level: 'warning', message: `the recent-files list was not updated: ${join(data, 'recent.json')}: the disk is full` }]);
    expect(readdirSync(data)).toEqual([]);
    const a = await svc.dispatch('autosave.write', { path: p, text: doc });
    expect(a).toEqual({ ok: false, error: { code: 'E_IO', message: `${join(data, 'autosave.json')}: the disk is full` } });
    expect(readdirSync(data)).toEqual([]);
    for (const f of readdirSync(small)) if (f.startsWith('filler-')) rmSync(join(small, f));
  });
});
