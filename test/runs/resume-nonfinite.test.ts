/**
 * `train --resume` of a run whose checkpoint holds NaN / ±Inf (a damaged tensors.bin): refused in one line
 * naming the tensors, before any step — not a run that starts and stops with "the total loss became NaN …
 * lower the learning rate or check the data", which blames the wrong thing. The run is the version-1 fixture
 * (test/fixtures/checkpoint-v1, a real run folder) with NaN written over one optimizer moment, as a disk would.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const FIXTURE = new URL('../fixtures/checkpoint-v1/run', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'reid-resume-nonfinite-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, REID_STUDIO_HOME: join(tmp, 'home') } });

describe('resuming a run whose checkpoint holds NaN', () => {
  it('is refused naming the damaged tensor, exit 2, one line', () => {
    // The fixture's dataset: the tiny demo set (seed 0) in a folder of this test, named in run.json.
    const data = join(tmp, 'demo');
    expect(cli('demo-data', '--out', data, '--size', 'tiny').status).toBe(0);
    const run = join(tmp, 'run');
    cpSync(FIXTURE, run, { recursive: true });
    const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
    info.dataset.root = data;
    writeFileSync(join(run, 'run.json'), JSON.stringify(info));
    const manifest = JSON.parse(readFileSync(join(run, 'checkpoint', 'manifest.json'), 'utf8'));
    const name = Object.keys(manifest.tensors).find((k) => k.startsWith('o:'))!;
    const { offset, length } = manifest.tensors[name];
    const bin = readFileSync(join(run, 'checkpoint', 'tensors.bin'));
    const floats = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
    floats.fill(Number.NaN, offset, offset + length);
    writeFileSync(join(run, 'checkpoint', 'tensors.bin'), bin);
    const r = cli('train', '--resume', run, '--progress', 'none');
    expect(r.stderr).toBe(`reid-studio: error: cannot resume: the checkpoint in ${run} holds NaN / ±Inf values in 1 tensor(s) (${name}): the file is damaged\n`);
    expect(r.status).toBe(2);
  }, 480_000);
});
