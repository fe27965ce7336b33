/**
 * The best checkpoint by mAP (main/runs/store/best-checkpoint.ts), on a real tiny training run (the CLI, demo
 * data, 3 epochs, an evaluation after each): `best/` holds the weights of the evaluation with the highest mAP
 * (fast-reid's PeriodicCheckpointer: strictly greater replaces), and evaluating it again with
 * `eval RUN_DIR --checkpoint best` reproduces that training-time evaluation; `--checkpoint` reaches embed and
 * export, and bad uses are one-line errors.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keepBestCheckpoint, readBestInfo } from '../../main/runs/store/best-checkpoint.js';
import { resolveWeights } from '../../main/runs/store/run-weights.js';
import { runCheckpointPath } from '../../main/cli/checkpoint-arg.js';
import { evalCommand } from '../../main/cli/eval.js';
import { analyze } from '../../core/index.js';
import { tinyGraph } from '../training/engine/tiny.js';
import { Service } from '../../main/service/index.js';

const work = mkdtempSync(join(tmpdir(), 'reid-best-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/reid-studio.js', ...args], { encoding: 'utf8', timeout: 400_000 });

describe('best checkpoint by mAP', () => {
  it('a strictly higher mAP replaces the best; an equal or lower one does not', async () => {
    const dir = join(work, 'unit');
    rmSync(dir, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', dir]);
    // The tiny graph's stem conv: [8, 3, 3, 3] in PyTorch layout, HWIO [3, 3, 3, 8] in the engines' tfjs layout.
    const layers = analyze(tinyGraph(4).graph).layers;
    // An engine's weightValues(): PyTorch layout by state_dict key.
    const w = (v: number) => new Map([['base.conv1.weight', new Float32Array(216).fill(v)]]);
    expect(await readBestInfo(dir)).toBeNull();
    expect(await keepBestCheckpoint(dir, layers, w(1), { mAP: 0.5, rank1: 0.6, epoch: 1, step: 10 }, null)).toBe(true);
    const first = await readBestInfo(dir);
    expect(first).toEqual({ mAP: 0.5, rank1: 0.6, epoch: 1, step: 10 });
    expect(await keepBestCheckpoint(dir, layers, w(2), { mAP: 0.5, rank1: 0.9, epoch: 2, step: 20 }, first)).toBe(false);
    expect(await keepBestCheckpoint(dir, layers, w(3), { mAP: 0.7, rank1: 0.1, epoch: 3, step: 30 }, first)).toBe(true);
    const r = await resolveWeights(join(dir, 'best'), layers);
    expect([...r.values.get('base.conv1/kernel')!]).toEqual(new Array(216).fill(3));
    expect({ kind: r.kind, step: r.step, epoch: r.epoch, iteration: r.iteration }).toEqual({ kind: 'run', step: 30, epoch: 3, iteration: 0 });
  });

  it('--checkpoint best of a run with no best yet, or of a folder that is no run, is refused in words, not as a missing file', () => {
    const run = join(work, 'no-best');
    mkdirSync(join(run, 'checkpoint'), { recursive: true });
    writeFileSync(join(run, 'run.json'), JSON.stringify({ id: 'no-best', name: 'no-best', status: 'done', created: '2026-01-01T00:00:00Z' }));
    expect(runCheckpointPath(run, 'last')).toBe(run);
    expect(() => runCheckpointPath(run, 'best')).toThrow(`${run} has no best checkpoint yet`);
    expect(() => runCheckpointPath(join(run, 'checkpoint'), 'best')).toThrow(`--checkpoint applies to a training run folder; ${join(run, 'checkpoint')} is not one`);
    mkdirSync(join(run, 'best'));
    expect(runCheckpointPath(run, 'best')).toBe(join(run, 'best'));
    // eval's positional is a run folder: RUN/best there is pointed to --checkpoint best.
    writeFileSync(join(run, 'graph.json'), '{}');
    return expect(evalCommand([join(run, 'best')])).rejects.toThrow(`is not a ReID Studio run folder (no graph.json); for the run's best checkpoint: eval ${run} --checkpoint best`);
  });

  it('a tiny run keeps the best evaluation\'s weights; eval RUN --checkpoint best reproduces it; embed / export / Evaluate on… take it', async () => {
    const home = join(work, 'home');
    const id = '20260101-000000-best';
    const run = join(home, 'runs', id);
    const t = cli('train', '--preset', 'resnet18', '--input', '64x32', '--demo', '--demo-size', 'tiny', '--epochs', '3', '--batch', '4,4', '--eval-period', '1', '--out', run, '--progress', 'none', '--json');
    expect(t.status, t.stderr).toBe(0);
    const evals = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.type === 'eval') as { epoch: number; step: number; mAP: number; rank1: number }[];
    expect(evals.map((e) => e.epoch)).toEqual([1, 2, 3]);
    // fast-reid's rule over the evaluations as they landed: the first of the highest mAPs.
    const want = evals.reduce((b, e) => (e.mAP > b.mAP ? e : b));
    const manifest = JSON.parse(readFileSync(join(run, 'best', 'checkpoint', 'manifest.json'), 'utf8'));
    expect(manifest.meta.best).toEqual({ mAP: want.mAP, rank1: want.rank1, epoch: want.epoch, step: want.step });

    const e = cli('eval', run, '--checkpoint', 'best', '--json', '--progress', 'none');
    expect(e.status, e.stderr).toBe(0);
    const got = JSON.parse(e.stdout);
    expect(got.epoch).toBe(want.epoch);
    // The same weights, data and engine as the training-time evaluation: the same mAP up to near-tie reorderings
    // of one query (each weighs 1 / numValidQuery).
    expect(Math.abs(got.mAP - want.mAP)).toBeLessThanOrEqual(1 / got.numValidQuery);
    expect(Math.abs(got.rank1 - want.rank1)).toBeLessThanOrEqual(1 / got.numValidQuery + 1e-9);

    const images = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).dataset.root as string;
    const emb = cli('embed', join(run, 'graph.json'), '--weights', run, '--checkpoint', 'best', '--images', join(images, 'query'), '--out', join(work, 'f.json'), '--progress', 'none');
    expect(emb.status, emb.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'f.json'), 'utf8')).weights).toEqual({ source: 'checkpoint', step: want.step, checkpoint: 'best' });
    // --weights RUN_DIR without a graph: the run's own graph.json, not the default preset (same features).
    const emb2 = cli('embed', '--weights', run, '--checkpoint', 'best', '--images', join(images, 'query'), '--out', join(work, 'f2.json'), '--progress', 'none');
    expect(emb2.status, emb2.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'f2.json'), 'utf8')).features).toEqual(JSON.parse(readFileSync(join(work, 'f.json'), 'utf8')).features);
    const ex = cli('export', join(run, 'graph.json'), '--format', 'pytorch', '--weights', run, '--checkpoint', 'best', '--out', join(work, 'exported'));
    expect(ex.status, ex.stderr).toBe(0);
    const ex2 = cli('export', '--format', 'pytorch', '--weights', run, '--checkpoint', 'best', '--out', join(work, 'exported2'));
    expect(ex2.status, ex2.stderr).toBe(0);
    // By digest: vitest's toEqual walks a Buffer index by index (a 44 MB state_dict took the worker past its memory).
    const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(sha256(join(work, 'exported2', 'model.pth'))).toBe(sha256(join(work, 'exported', 'model.pth')));

    // The app: Evaluate on… with the best checkpoint (its step), a run without one refused in one line.
    const svc = new Service({ host: 'browser', version: '0', dataDir: home, documentsDir: home });
    const ev = await svc.call('eval.run', { graph: { kind: 'run', runId: id }, weights: { kind: 'run', runId: id, checkpoint: 'best' } });
    expect(ev.weights.step).toBe(want.step);
    expect(Math.abs(ev.mAP - want.mAP)).toBeLessThanOrEqual(1 / got.numValidQuery);
    rmSync(join(run, 'best'), { recursive: true });
    const none = await svc.dispatch('eval.run', { graph: { kind: 'run', runId: id }, weights: { kind: 'run', runId: id, checkpoint: 'best' } });
    expect(none).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST', message: `run ${id} has no best checkpoint yet (it is kept when an evaluation lands during training)` } });

    const bad = cli('eval', run, '--checkpoint', 'worst', '--json');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('reid-studio: error: --checkpoint must be one of last, best (got "worst")');
    const file = cli('export', join(run, 'graph.json'), '--format', 'pytorch', '--weights', join(work, 'exported', 'model.pth'), '--checkpoint', 'best', '--out', join(work, 'x'));
    expect(file.status).toBe(2);
    expect(file.stderr.trim()).toBe(`reid-studio: error: --checkpoint applies to a training run folder; ${join(work, 'exported', 'model.pth')} is not one`);
  }, 600_000);
});
