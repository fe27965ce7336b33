import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, renameSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_STEPS, CheckpointError, hasCheckpoint, readCheckpoint, recoverCheckpoint, writeCheckpoint, type CheckpointStep } from '../../../main/runs/store/checkpoint.js';
import { stepTensors } from './checkpoint-writer.js';

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

/**
 * The protocol under real crashes: a child process writing checkpoints is killed with SIGKILL at each step
 * of a write, resumed (recovering the checkpoint) and killed again at another step of its next write,
 * then resumed to the end. After every crash the latest complete checkpoint is readable; after the last
 * resume exactly one checkpoint folder is left, with the last step's tensors.
 */
describe('checkpoints survive two crashes in a row', () => {
  const WRITER = fileURLToPath(new URL('./checkpoint-writer.ts', import.meta.url));
  const run = (args: string[], kill?: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', WRITER, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, REID_STUDIO_CHECKPOINT_KILL: kill ?? '' } });
  const readable = async (dir: string) => {
    const c = await readCheckpoint<{ step: number }>(dir);
    expect(c).not.toBeNull();
    const want = stepTensors(c!.meta.step);
    for (const [k, t] of want) expect(c!.tensors.get(k)!.data).toEqual(t.data);
    return c!.meta.step;
  };
  /** The step a crash at `step` of write `n` leaves readable: that write's once its temp folder is complete. */
  const survives = (n: number, step: CheckpointStep, base: number) => base + n - (CHECKPOINT_STEPS.indexOf(step) >= CHECKPOINT_STEPS.indexOf('complete') ? 0 : 1);

  it.each(CHECKPOINT_STEPS.map((s, i) => [s, CHECKPOINT_STEPS[(i + CHECKPOINT_STEPS.length - 1) % CHECKPOINT_STEPS.length]!] as const))('killed at "%s", resumed, killed at "%s", resumed: the run continues and matches', async (first, second) => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-ckpt-kill-'));
    // First life: steps 1..6, killed in the 3rd write.
    let r = run(['fresh', dir, '6'], `3:${first}`);
    expect(r.signal).toBe('SIGKILL');
    const afterFirst = await readable(dir);
    expect(afterFirst).toBe(survives(3, first, 0));
    // Second life: resumes, killed in its 2nd write.
    r = run(['resume', dir, '6'], `2:${second}`);
    expect(r.signal, r.stderr).toBe('SIGKILL');
    const afterSecond = await readable(dir);
    expect(afterSecond).toBe(survives(2, second, afterFirst));
    // Third life: resumes and finishes.
    r = run(['resume', dir, '6']);
    expect(r.status, r.stderr).toBe(0);
    expect(await readable(dir)).toBe(6);
    expect(readdirSync(dir)).toEqual(['checkpoint']);
  });

  it('recovery removes incomplete temp folders and keeps a complete one that is newer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-ckpt-kill-'));
    expect(run(['fresh', dir, '2']).status).toBe(0);
    expect(run(['resume', dir, '5'], '1:partial').signal).toBe('SIGKILL');
    expect(readdirSync(dir).sort()).toEqual(['checkpoint', expect.stringMatching(/^checkpoint\.tmp-/)]);
    expect(await readable(dir)).toBe(2);
    expect(run(['resume', dir, '5'], '2:moved-aside').signal).toBe('SIGKILL');
    // A complete temp folder (step 4) next to checkpoint.prev (step 3): the newer one is read, then recovered.
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.prev', expect.stringMatching(/^checkpoint\.tmp-/)]);
    expect(await readable(dir)).toBe(4);
    expect(await hasCheckpoint(dir)).toBe(true);
    const c = await recoverCheckpoint<{ step: number }>(dir);
    expect(c!.meta.step).toBe(4);
    expect(readdirSync(dir)).toEqual(['checkpoint']);
  });
});
