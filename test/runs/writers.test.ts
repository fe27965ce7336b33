/**
 * One writer per run folder (#25) through the real CLI and the real service, with real training processes:
 * `train --out R` twice and `train --resume R` while the first lives are refused in one line naming its pid;
 * after the first is killed with SIGKILL, `--resume R` takes the stale lock over and finishes with every step
 * once in metrics.jsonl. In the app, two `train.start` with one name get two runs; a run folder deleted while it
 * trains is gone (not recreated as a stub) and `runs.get` answers E_NOT_FOUND, never E_INTERNAL.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPreset, serializeDocument } from '../../core/index.js';
import { Service } from '../../main/service/index.js';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'reid-writers-'));
const env = { ...process.env, REID_STUDIO_HOME: home };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 600_000 });
const SMALL = ['--preset', 'resnet18', '--input', '64x32', '--demo', '--demo-size', 'tiny', '--batch', '4,4', '--backend', 'wasm', '--warmup-epochs', '0'];
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('a second writer of a run folder is refused (CLI)', () => {
  it('train --out R twice and --resume R while the first lives: one line naming it; after kill -9, --resume takes over', async () => {
    const run = join(home, 'R');
    const first = spawn(process.execPath, [BIN, 'train', ...SMALL, '--epochs', '3', '--out', run], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    // Wait for the end of epoch 1: a checkpoint exists, so only the lock stands between a resume and the folder.
    await new Promise<void>((resolve, reject) => {
      first.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/epoch 1 done/.test(err)) resolve();
      });
      first.on('exit', (c) => reject(new Error(`first writer exited ${c} early: ${err}`)));
    });
    const held = new RegExp(`^reid-studio: error: ${run} is being written by pid ${first.pid} on host \\S+ \\(train since [^)]+\\); wait for it to finish or stop it\\n$`);
    const again = cli('train', ...SMALL, '--epochs', '1', '--out', run);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(held);
    const resumed = cli('train', '--resume', run);
    expect(resumed.status).toBe(2);
    expect(resumed.stderr).toMatch(held);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const r = cli('train', '--resume', run, '--json');
    expect(r.stderr).toMatch(/resumed from step \d+/);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).status).toBe('completed');
    const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.type === 'step').map((m) => m.step);
    expect(steps).toEqual(steps.map((_: number, i: number) => i + 1));
    expect(existsSync(join(run, 'run.lock'))).toBe(false);
  }, 900_000);
});

describe('runs in the app', () => {
  it('two train.start with one name get two runs; deleting a folder while it trains gives E_NOT_FOUND, no stub', async () => {
    const dataDir = join(home, 'app');
    const svc = new Service({ host: 'browser', version: '0', dataDir, documentsDir: dataDir });
    const d = buildPreset('resnet18', { input: [64, 32] });
    const doc = serializeDocument({ ...d, training: { ...(d.training ?? {}), epochs: 4, batch: { p: 4, k: 4 } } } as typeof d);
    const exits = new Map<string, { status: string; message?: string }>();
    const firstStep = new Set<string>();
    svc.onEvent((event, payload) => {
      const p = payload as { runId: string; status?: string; message?: string; event?: { type: string } };
      if (event === 'train.exit') exits.set(p.runId, { status: p.status!, ...(p.message ? { message: p.message } : {}) });
      if (event === 'train.event' && p.event?.type === 'step') firstStep.add(p.runId);
    });
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setTimeout(r, 100));
    };
    const start = () => svc.call('train.start', { doc, data: { kind: 'demo', size: 'tiny' }, name: 'twin', backend: 'wasm' });
    const [a, b] = await Promise.all([start(), start()]);
    expect(a.runId).not.toBe(b.runId);
    expect(a.runId.replace(/-\d+$/, '')).toBe(b.runId.replace(/-\d+$/, ''));
    await until(() => firstStep.has(a.runId));
    // The worker keeps writing while the folder goes (as under a user's `rm -rf`): a file it creates between rm's
    // listing and its rmdir gives ENOTEMPTY, which rm retries.
    rmSync(a.runDir, { recursive: true, force: true, maxRetries: 50, retryDelay: 20 });
    await until(() => exits.has(a.runId));
    expect(exits.get(a.runId)!.status).toBe('failed');
    expect(existsSync(a.runDir)).toBe(false);
    const got = await svc.dispatch('runs.get', { runId: a.runId });
    expect(got).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
    expect((await svc.call('runs.list', {})).map((r) => r.id)).toEqual([b.runId]);
    await until(() => firstStep.has(b.runId) || exits.has(b.runId));
    await svc.call('train.control', { runId: b.runId, action: 'stop' });
    await until(() => exits.has(b.runId));
    expect(exits.get(b.runId)!.status).toBe('stopped');
    // train.exit comes before the process ends; the run is inactive once it has.
    let summary = (await svc.call('runs.get', { runId: b.runId })).summary;
    while (summary.active) {
      await new Promise((r) => setTimeout(r, 100));
      summary = (await svc.call('runs.get', { runId: b.runId })).summary;
    }
    expect(summary).toMatchObject({ id: b.runId, name: 'twin', status: 'stopped' });
  }, 900_000);
});
