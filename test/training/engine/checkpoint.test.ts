import { mkdtempSync, renameSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, readCheckpoint, writeCheckpoint } from '../../../main/training/engine/checkpoint.js';

const sample = (v: number) => ({
  tensors: new Map([
    ['a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, v]) }],
    ['b', { shape: [1], data: Float32Array.from([v]) }],
  ]),
  meta: { epoch: v },
});

describe('checkpoints', () => {
  it('round-trips tensors and meta; a new checkpoint replaces the old one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-ckpt-'));
    expect(await readCheckpoint(dir)).toBeNull();
    await writeCheckpoint(dir, sample(1));
    await writeCheckpoint(dir, sample(2));
    const c = await readCheckpoint<{ epoch: number }>(dir);
    expect(c!.meta.epoch).toBe(2);
    expect(Array.from(c!.tensors.get('a')!.data)).toEqual([1, 2, 3, 4, 5, 2]);
    expect(c!.tensors.get('a')!.shape).toEqual([2, 3]);
  });

  it('a crash between the two renames still leaves the previous checkpoint readable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-ckpt-'));
    await writeCheckpoint(dir, sample(1));
    renameSync(join(dir, 'checkpoint'), join(dir, 'checkpoint.prev'));
    mkdirSync(join(dir, 'checkpoint.tmp-dead'));
    writeFileSync(join(dir, 'checkpoint.tmp-dead', 'tensors.bin'), 'half');
    expect((await readCheckpoint<{ epoch: number }>(dir))!.meta.epoch).toBe(1);
  });

  it('a truncated or foreign checkpoint is refused with a message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-ckpt-'));
    await writeCheckpoint(dir, sample(1));
    truncateSync(join(dir, 'checkpoint', 'tensors.bin'), 8);
    await expect(readCheckpoint(dir)).rejects.toThrow(CheckpointError);
    writeFileSync(join(dir, 'checkpoint', 'manifest.json'), '{"format":"other"}');
    await expect(readCheckpoint(dir)).rejects.toThrow(/not a ReID Studio checkpoint/);
  });
});
