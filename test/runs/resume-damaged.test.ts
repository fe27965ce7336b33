/**
 * `train --resume` / the app's resume of a run whose checkpoint is on disk but damaged (a truncated or missing
 * tensors.bin, an unreadable manifest): the refusal names the damage, as `eval RUN` does — not "stopped before
 * its first checkpoint: start it again after deleting the folder", which is false and advises deleting the run.
 * The run is the version-1 fixture (test/fixtures/checkpoint-v1, a real run folder), damaged as a disk would.
 */
import { cpSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readResumePlan, RunStateError } from '../../main/runs/lifecycle.js';

const FIXTURE = new URL('../fixtures/checkpoint-v1/run', import.meta.url).pathname;
let tmp: string | undefined;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});
const copy = () => {
  tmp = mkdtempSync(join(tmpdir(), 'reid-resume-damaged-'));
  const dir = join(tmp, 'run');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
};

describe('resuming a run whose checkpoint is damaged', () => {
  it.each([
    ['tensors.bin cut short', (d: string) => truncateSync(join(d, 'checkpoint', 'tensors.bin'), 1000), /cannot resume: checkpoint in .* is truncated \(tensors\.bin has 1000 of 50784 bytes\)/],
    ['tensors.bin missing', (d: string) => rmSync(join(d, 'checkpoint', 'tensors.bin')), /cannot resume: checkpoint in .* is truncated \(tensors\.bin has 0 of 50784 bytes\)/],
    ['manifest.json unreadable', (d: string) => writeFileSync(join(d, 'checkpoint', 'manifest.json'), '{"format":'), /cannot resume: checkpoint manifest in .* is unreadable/],
  ])('%s: refused naming the damage, not "before its first checkpoint"', async (_what, damage, reason) => {
    const dir = copy();
    damage(dir);
    const e = await readResumePlan(dir).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(RunStateError);
    expect((e as Error).message).toMatch(reason);
    expect((e as Error).message).not.toMatch(/first checkpoint|deleting the folder/);
  });

  it('a run with no checkpoint folder at all still says it stopped before its first checkpoint', async () => {
    const dir = copy();
    rmSync(join(dir, 'checkpoint'), { recursive: true });
    await expect(readResumePlan(dir)).rejects.toThrow(/stopped before its first checkpoint/);
  });

  it('the intact fixture resumes (the plan reads)', async () => {
    // The fixture's dataset folder (a temp folder where it was made) is gone: the data comes from --data NEWDIR (relocating).
    const plan = await readResumePlan(copy(), { relocating: true });
    expect(plan.settings.batch).toEqual({ p: 4, k: 4 });
    await expect(readResumePlan(copy())).rejects.toThrow(/dataset folder .* is gone \(moved or deleted\): point the run at its new place with --resume .* --data NEWDIR/);
  });
});
