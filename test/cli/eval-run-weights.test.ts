/**
 * `eval --weights RUN_DIR` with no GRAPH.json / --preset evaluates the run's own graph.json, as embed, actmap
 * and export do (README: CLI) — before, it built the default preset (resnet50) and failed with "base.conv1.weight:
 * expected 9408 values … got 216" or "the run checkpoint … holds no model weights". The run is the version-1
 * fixture (test/fixtures/checkpoint-v1, a real run folder); the reference is the same evaluation with the run's
 * graph named explicitly (`eval RUN/graph.json --weights RUN`).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const FIXTURE = new URL('../fixtures/checkpoint-v1/run', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'reid-eval-run-weights-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, REID_STUDIO_HOME: join(tmp, 'home') } });

describe('eval --weights RUN_DIR', () => {
  it("evaluates the run's own graph, as eval RUN/graph.json --weights RUN does", () => {
    const run = join(tmp, 'run');
    cpSync(FIXTURE, run, { recursive: true });
    const data = ['--demo', '--demo-size', 'tiny', '--progress', 'none', '--json'];
    const ref = cli('eval', join(run, 'graph.json'), '--weights', run, ...data);
    expect(ref.stderr.split('\n').filter((l) => l.includes('error'))).toEqual([]);
    expect(ref.status).toBe(0);
    const r = cli('eval', '--weights', run, ...data);
    expect(r.stderr.split('\n').filter((l) => l.includes('error'))).toEqual([]);
    expect(r.status).toBe(0);
    const [a, b] = [JSON.parse(r.stdout), JSON.parse(ref.stdout)];
    expect(a.mAP).toBe(b.mAP);
    expect(a.cmc).toEqual(b.cmc);
  }, 480_000);
});
