import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync, constants as zc } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, readCheckpoint } from '../../main/weights/index.js';
import { pickleStateDict } from '../../main/weights/pickle.js';

/**
 * Views of one storage (issue #25): torch.save writes each storage once however many tensors view it, and
 * torch.load shares it again (5,000 views of a 4 MB storage load in 4 MB). The files are written by real
 * torch.save (make_shared.py) and the values compared with what torch.load reads; the memory is checked
 * structurally (views share one buffer) and by the readers' budget, never by timing.
 */

const PYTHON = '/usr/bin/python3';
const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
let dir = '';
let ref: Record<string, Record<string, { shape: number[]; values: number[] }>> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-shared-'));
  execFileSync(PYTHON, [fileURLToPath(new URL('./make_shared.py', import.meta.url)), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  ref = JSON.parse(readFileSync(join(dir, 'ref.json'), 'utf8'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A zip (PKWARE APPNOTE 4.3: local headers, central directory, end record) whose `archive/data/0` is a
 * deflated storage of `bytes` zero bytes, built from 1 MiB deflate blocks ended by a sync flush (each block
 * starts fresh, so they concatenate into one valid raw deflate stream, RFC 1951 §3.2.3) and a final empty block.
 */
function deflatedZeroStorageZip(pkl: Uint8Array, bytes: number): Buffer {
  const MiB = 1 << 20;
  const chunk = Buffer.alloc(MiB);
  const block = deflateRawSync(chunk, { finishFlush: zc.Z_SYNC_FLUSH });
  const tail = deflateRawSync(Buffer.alloc(0));
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes / MiB; i++) parts.push(block);
  parts.push(tail);
  const deflated = Buffer.concat(parts);
  let crc = 0;
  for (let i = 0; i < bytes / MiB; i++) crc = crc32(chunk, crc);
  const entries = [
    { name: 'archive/data.pkl', method: 0, data: Buffer.from(pkl), size: pkl.length, crc: crc32(pkl) },
    { name: 'archive/data/0', method: 8, data: deflated, size: bytes, crc },
    { name: 'archive/version', method: 0, data: Buffer.from('3\n'), size: 2, crc: crc32(Buffer.from('3\n')) },
  ];
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let off = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    // [offset, bytes, value] fields of the local header (30 bytes) and the central directory entry (46 bytes).
    const header = (length: number, fields: [number, 2 | 4, number][]) => {
      const b = Buffer.alloc(length);
      for (const [at, n, v] of fields) (n === 2 ? b.writeUInt16LE(v, at) : b.writeUInt32LE(v >>> 0, at));
      return b;
    };
    local.push(header(30, [[0, 4, 0x04034b50], [4, 2, 20], [8, 2, e.method], [14, 4, e.crc], [18, 4, e.data.length], [22, 4, e.size], [26, 2, name.length]]), name, e.data);
    const c = header(46, [[0, 4, 0x02014b50], [4, 2, 20], [6, 2, 20], [10, 2, e.method], [16, 4, e.crc], [20, 4, e.data.length], [24, 4, e.size], [28, 2, name.length], [42, 4, off]]);
    central.push(c, name);
    off += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(off, 16);
  return Buffer.concat([...local, cd, end]);
}

describe('views of one storage', () => {
  it('5,000 views of one 4 MB storage share it: one buffer, not 5,000 copies', async () => {
    const c = await readCheckpoint(join(dir, 'shared.pth'));
    expect(c.tensors.size).toBe(5000);
    const buffers = new Set<ArrayBufferLike>();
    for (const t of c.tensors.values()) {
      expect(t.shape).toEqual([1 << 20]);
      buffers.add(t.data.buffer);
    }
    expect(buffers.size).toBe(1);
    expect([...buffers][0]!.byteLength).toBe(4 << 20);
    expect(c.tensors.get('t4999')!.data.every((v) => v === 0)).toBe(true);
  });

  it('the CLI lists the 5,000 views (JSON) and loads them against a graph', () => {
    const list = spawnSync(process.execPath, [BIN, 'weights', join(dir, 'shared.pth'), '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(list.stderr).toBe('');
    expect(list.status).toBe(0);
    const j = JSON.parse(list.stdout) as { count: number; elements: number };
    expect(j.count).toBe(5000);
    expect(j.elements).toBe(5000 * (1 << 20));
    const report = spawnSync(process.execPath, [BIN, 'weights', join(dir, 'shared.pth'), '--preset', 'resnet18', '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(report.status).toBe(0);
    expect((JSON.parse(report.stdout) as { counts: { skipped: number } }).counts.skipped).toBe(5000);
  });

  for (const name of ['views.pth', 'views_legacy.pth'])
    it(`slices, transposes, steps and blocks of one storage read as torch.load reads them (${name})`, async () => {
      const c = await readCheckpoint(join(dir, name));
      const want = ref[name]!;
      expect([...c.tensors.keys()]).toEqual(Object.keys(want));
      for (const [k, t] of c.tensors) {
        expect(t.shape, k).toEqual(want[k]!.shape);
        expect(Array.from(t.data), k).toEqual(want[k]!.values);
      }
      // Contiguous views share the storage; the transposed / stepped ones are copies.
      const whole = c.tensors.get('whole')!.data.buffer;
      expect(c.tensors.get('slice')!.data.buffer).toBe(whole);
      expect(c.tensors.get('row')!.data.buffer).toBe(whole);
      expect(c.tensors.get('T')!.data.buffer).not.toBe(whole);
    });

  it('a total budget over all views: 600 non-contiguous copies of a 4 MB storage (2.4 GB) are refused at once', async () => {
    const err = await readCheckpoint(join(dir, 'copies.pth')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).code).toBe('E_CHECKPOINT_TOO_LARGE');
    expect((err as Error).message).toMatch(/GiB as float32/);
  });

  it('listing a 1 MB zip that holds a 1 GiB tensor inflates nothing', async () => {
    const GiB = 1 << 30;
    const pkl = pickleStateDict([{ key: 'big', dtype: 'float32', size: [GiB / 4] }]);
    const file = join(dir, 'bomb.pth');
    const zip = deflatedZeroStorageZip(pkl, GiB);
    expect(zip.length).toBeLessThan(2 << 20);
    writeFileSync(file, zip);
    const before = process.memoryUsage().arrayBuffers;
    const c = await readCheckpoint(file);
    expect(c.tensors.get('big')!.shape).toEqual([GiB / 4]);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
    const list = spawnSync(process.execPath, [BIN, 'weights', file, '--json'], { encoding: 'utf8' });
    expect(list.status).toBe(0);
    expect((JSON.parse(list.stdout) as { elements: number }).elements).toBe(GiB / 4);
  });
});
