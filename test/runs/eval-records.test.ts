/**
 * Every evaluation of a run is its own record (#22): `eval RUN_DIR` on the run's dataset and `eval RUN_DIR
 * --data OTHER` (real CLI processes) each append a record — dataset, split, metric, re-ranking, the weights'
 * epoch / iteration, backend, time — and the training-time evaluation (eval.json) stays byte for byte. The
 * service lists them (runs.evals, runs.get, runs.compare) and serves each record's own per-query results.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, compileToKeras, parseTrainingSettings, serializeDocument } from '../../core/index.js';
import { writeCheckpoint } from '../../main/runs/store/checkpoint.js';
import { weightKey } from '../../main/runs/store/checkpoint-keys.js';
import { appendEvalRecord, listEvalRecords } from '../../main/runs/store/eval-records.js';
import { Service } from '../../main/service/index.js';
import { writeDemoDataset } from '../../main/training/data/demo.js';
import { openDataSource } from '../../main/training/sources.js';
import { randomWeights } from '../export/graphs.js';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'reid-evals-'));
const env = { ...process.env, REID_STUDIO_HOME: home };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 600_000 });
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('evaluation records', () => {
  it('eval RUN_DIR and eval RUN_DIR --data OTHER each add a record; eval.json (training-time) is untouched; the app lists and serves them', async () => {
    const own = await openDataSource({ demo: true, demoSize: 'tiny', dataDir: home, k: 4 });
    const otherRoot = join(home, 'other');
    await writeDemoDataset(otherRoot, 'tiny', 1);
    // A run as the trainer leaves it: graph, settings, run.json with its dataset, a checkpoint after 3 epochs, eval.json.
    const runId = '20261207-100000-resnet18';
    const run = join(home, 'runs', runId);
    mkdirSync(run, { recursive: true });
    const doc = buildPreset('resnet18', { input: [64, 32], numClasses: own.numClasses });
    const layers = compileToKeras(analyze(doc.graph)).layers;
    const weights = randomWeights(layers, 22);
    await writeCheckpoint(run, { tensors: new Map([...weights].map(([k, v]) => [weightKey(k), { shape: [v.length], data: v }])), meta: { weightKeys: [...weights.keys()], step: 21, epoch: 4, batch: 0 } });
    writeFileSync(join(run, 'graph.json'), serializeDocument(doc));
    const settings = parseTrainingSettings({});
    if (!settings.ok) throw new Error(settings.message);
    writeFileSync(join(run, 'settings.json'), JSON.stringify(settings.settings));
    writeFileSync(join(run, 'run.json'), JSON.stringify({ id: runId, name: 'r18', status: 'completed', created: '2026-12-07T10:00:00Z', updated: '2026-12-07T10:05:00Z', dataset: { kind: own.kind, root: own.root } }));
    const trainingTime = JSON.stringify({ mAP: 1, rank1: 1, rank5: 1, rank10: 1, mINP: 1, cmc: [1], numQuery: 29, numGallery: 60, numValidQuery: 29, numSkippedQuery: 0, epoch: 3, step: 21 });
    writeFileSync(join(run, 'eval.json'), trainingTime);

    const inDomain = cli('eval', run, '--backend', 'wasm', '--json');
    expect(inDomain.stderr).not.toMatch(/error/);
    expect(inDomain.status).toBe(0);
    const a = JSON.parse(inDomain.stdout);
    const cross = cli('eval', run, '--data', otherRoot, '--backend', 'wasm', '--rerank', '--json');
    expect(cross.status).toBe(0);
    const b = JSON.parse(cross.stdout);
    expect(readFileSync(join(run, 'eval.json'), 'utf8')).toBe(trainingTime);

    const records = await listEvalRecords(run);
    expect(records.map((r) => r.id)).toEqual([a.evalId, b.evalId]);
    const [ra, rb] = records;
    for (const [r, out, root, domain, rerank] of [
      [ra!, a, own.root, true, false],
      [rb!, b, otherRoot, false, true],
    ] as const) {
      expect(r).toMatchObject({ format: 'reid-studio-eval-record', version: 1, split: 'query/gallery', inDomain: domain, metric: 'cosine', reRanking: rerank, epoch: 3, iteration: 0, step: 21, backend: 'wasm' });
      expect(r.dataset).toEqual({ root, kind: own.kind, numQuery: out.numQuery, numGallery: out.numGallery });
      expect(r.results).toMatchObject({ mAP: out.mAP, rank1: out.rank1, rank5: out.rank5, rank10: out.rank10, mINP: out.mINP, cmc: out.cmc });
      expect(Date.parse(r.time)).toBeGreaterThan(Date.parse('2026-01-01'));
    }
    // A record that did not finish (crash before its rename) or is foreign is never listed.
    mkdirSync(join(run, 'evals', '.tmp-20261207-100000-deadbeef'));
    mkdirSync(join(run, 'evals', '20261207-100001-deadbeef'));
    expect((await listEvalRecords(run)).map((r) => r.id)).toEqual([a.evalId, b.evalId]);

    const svc = new Service({ host: 'browser', version: '0', dataDir: home, documentsDir: home });
    expect((await svc.call('runs.evals', { runId })).map((r) => r.id)).toEqual([a.evalId, b.evalId]);
    const got = await svc.call('runs.get', { runId });
    expect(got.eval).toMatchObject({ mAP: 1, epoch: 3 });
    expect(got.summary.mAP).toBe(1); // the training-time evaluation stays the run's headline
    expect(got.evals!.map((r) => [r.dataset.root, r.inDomain])).toEqual([
      [own.root, true],
      [otherRoot, false],
    ]);
    const page = await svc.call('runs.queries', { runId, evalId: a.evalId, limit: 100 });
    expect(page.mAP).toBeCloseTo(a.mAP, 12);
    expect(page.numQuery).toBe(a.numQuery);
    const list = await svc.call('runs.ranklist', { runId, evalId: b.evalId, queries: 2, k: 3 });
    expect(list[0]!.query.path.startsWith(otherRoot)).toBe(true);
    expect(await svc.dispatch('runs.queries', { runId, evalId: '20261207-100001-deadbeef' })).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
  }, 600_000);

  it('a record is never written into a folder that is gone, and two records never share an id', async () => {
    const run = join(home, 'r2');
    mkdirSync(run);
    const rec = { dataset: { root: '/d', kind: 'market1501', numQuery: 1, numGallery: 1 }, split: 'query/gallery' as const, inDomain: false, metric: 'cosine', reRanking: false, weights: {}, backend: 'wasm', results: { mAP: 0.5, rank1: 0, rank5: 1, rank10: 1, mINP: 0.5, cmc: [0, 1], numQuery: 1, numGallery: 1, numValidQuery: 1, numSkippedQuery: 0 } };
    const now = new Date('2026-12-07T11:00:00Z');
    const ids = (await Promise.all(Array.from({ length: 10 }, () => appendEvalRecord(run, rec, undefined, now)))).map((r) => r.id);
    expect(new Set(ids).size).toBe(10);
    expect((await listEvalRecords(run)).length).toBe(10);
    await expect(appendEvalRecord(join(home, 'no-such-run'), rec)).rejects.toThrow(/no longer exists/);
  });
});
