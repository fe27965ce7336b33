/**
 * Fuzzer (fast-check) for the atomic writes on a real file system that fills up and turns read-only (issue
 * #25): random sequences of document writes (writeFileAtomic), checkpoint writes (writeCheckpoint) and
 * remounts read-only / read-write on a real 1 MiB tmpfs. After every step: each file holds exactly the last
 * content written successfully (a failed write leaves the previous one, never half of it), no temp file or
 * folder is left, a failure is a one-line FileError ENOSPC / EROFS, ENOSPC only for a write larger than the
 * free space, and the last good checkpoint reads back. mount(8) needs root, as CI runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileError, writeFileAtomic } from '../../main/io/files.js';
import { readCheckpoint, writeCheckpoint } from '../../main/runs/store/checkpoint.js';
import { mountTmpfs } from './tmpfs.js';

const home = mkdtempSync(join(tmpdir(), 'reid-disk-fuzz-'));
const disk = join(home, 'disk');

let unmount = () => {};
beforeAll(() => void (unmount = mountTmpfs(disk, '1m')));
afterAll(() => {
  unmount();
  rmSync(home, { recursive: true, force: true });
});

type Op = { kind: 'doc'; name: number; size: number; fill: number } | { kind: 'ckpt'; floats: number; step: number } | { kind: 'ro' } | { kind: 'rw' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('doc' as const), name: fc.integer({ min: 0, max: 3 }), size: fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 100_000, max: 700_000 })), fill: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ckpt' as const), floats: fc.integer({ min: 1, max: 150_000 }), step: fc.integer({ min: 1, max: 1e6 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'ro' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rw' as const }) },
);

const remount = (mode: 'ro' | 'rw') => execFileSync('mount', ['-o', `remount,${mode}`, disk]);
const freeBytes = () => {
  const s = statfsSync(disk);
  return s.bavail * s.bsize;
};
const pages = (n: number) => Math.ceil(n / 4096) * 4096;

describe('atomic writes on a tmpfs that fills up and turns read-only (fuzz)', () => {
  it('every file holds its last good content; failures are one-line ENOSPC / EROFS; nothing is left behind', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const dir = join(disk, `r${round++}`);
        remount('rw');
        mkdirSync(dir);
        const run = join(dir, 'run');
        mkdirSync(run);
        const docs = new Map<string, Buffer>();
        let ckpt: { step: number; floats: number } | null = null;
        let readOnly = false;
        try {
          for (const o of ops) {
            if (o.kind === 'ro' || o.kind === 'rw') {
              remount(o.kind);
              readOnly = o.kind === 'ro';
              continue;
            }
            const free = freeBytes();
            const bytes = o.kind === 'doc' ? o.size : o.floats * 4;
            let err: unknown = null;
            try {
              if (o.kind === 'doc') await writeFileAtomic(join(dir, `doc${o.name}.json`), Buffer.alloc(o.size, o.fill));
              else await writeCheckpoint(run, { tensors: new Map([['w', { shape: [o.floats], data: new Float32Array(o.floats).fill(o.step) }]]), meta: { step: o.step } });
            } catch (e) {
              err = e;
            }
            if (err) {
              expect(err).toBeInstanceOf(FileError);
              expect((err as Error).message).not.toContain('\n');
              expect((err as FileError).code).toBe(readOnly ? 'EROFS' : 'ENOSPC');
              if (!readOnly) expect(pages(bytes)).toBeGreaterThan(free - 64 * 1024);
            } else {
              expect(readOnly).toBe(false);
              if (o.kind === 'doc') docs.set(`doc${o.name}.json`, Buffer.alloc(o.size, o.fill));
              else ckpt = { step: o.step, floats: o.floats };
            }
            // The state: last good contents, nothing half-written, no temp file or folder.
            for (const [name, content] of docs) expect(readFileSync(join(dir, name)).equals(content)).toBe(true);
            expect(readdirSync(dir).sort()).toEqual([...docs.keys(), 'run'].sort());
            expect(readdirSync(run)).toEqual(ckpt ? ['checkpoint'] : []);
            const c = await readCheckpoint<{ step: number }>(run);
            if (!ckpt) expect(c).toBeNull();
            else {
              expect(c!.meta.step).toBe(ckpt.step);
              const w = c!.tensors.get('w')!.data;
              expect([w.length, w[0], w[w.length - 1]]).toEqual([ckpt.floats, Math.fround(ckpt.step), Math.fround(ckpt.step)]);
            }
          }
        } finally {
          remount('rw');
          rmSync(dir, { recursive: true, force: true });
          expect(existsSync(dir)).toBe(false);
        }
      }),
      { numRuns: 25, seed: 25 },
    );
  }, 300_000);
});
