/**
 * Per-query results (AP, INP, first true match, top-k rank list) of one evaluation against the numpy port
 * of RSB's eval_func / torchreid's eval_market1501 (test/training/ref_eval.py), on a Market-like problem:
 * several cameras per identity, same-pid-same-camera gallery entries (removed by the protocol), distractors
 * (pid 0) and junk (pid −1) in the gallery, queries left without a cross-camera match. Then the service's
 * `runs.queries` pages, sorts and filters them as the reference orders them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CallOutput } from '../../core/api/contract.js';
import { Service } from '../../main/service/index.js';
import { evaluate, rankQueries } from '../../main/training/eval/evaluate.js';
import { writeEvalFeatures } from '../../main/training/engine/eval-features.js';
import { runPython, testRandom } from './python.js';

interface PerQuery {
  ap: (number | null)[];
  inp: (number | null)[];
  first: number[];
  top: number[][];
  order_ap_asc: number[];
  order_ap_desc: number[];
  failures: number[];
}
interface Ref {
  mAP: number;
  mINP: number;
  numValidQuery: number;
  perQuery: PerQuery;
}

/** Labels with camera structure: each query identity has gallery images in its own and other cameras. */
function problem(seed: number, Q: number, G: number, P: number, C: number) {
  const r = testRandom(seed);
  const int = (n: number) => Math.floor(r() * n);
  const qp = Array.from({ length: Q }, () => 1 + int(P));
  const qc = Array.from({ length: Q }, () => int(C));
  // Gallery: same-camera copies of the first half of the queries, then −1 junk, 0 distractors and
  // identities 1..0.8·P (the queries of the top fifth have at most same-camera entries: skipped).
  const gp = Array.from({ length: G }, (_, j) => (j < Q / 2 ? qp[j]! : int(Math.floor(0.8 * P) + 2) - 1));
  const gc = Array.from({ length: G }, (_, j) => (j < Q / 2 ? qc[j]! : int(C)));
  return { qp, qc, gp, gc, r };
}

const close = (a: number | null, b: number | null) => (a === null || b === null ? a === b : Math.abs(a - b) < 1e-9);

describe('per-query AP / INP / rank lists of one evaluation', () => {
  const home = mkdtempSync(join(tmpdir(), 'reid-queries-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('equal the numpy reference per query on a random distance matrix; their mean is the mAP / mINP', () => {
    const Q = 80, G = 500, K = 20;
    const { qp, qc, gp, gc, r } = problem(21, Q, G, 40, 6);
    const dist = Array.from({ length: Q }, () => Array.from({ length: G }, () => Math.fround(r() * 4)));
    const { result, queries } = rankQueries(Float32Array.from(dist.flat()), { pids: qp, camids: qc }, { pids: gp, camids: gc }, 50, K);
    const ref = runPython<Ref>('ref_eval.py', { op: 'eval', distmat: dist, q_pids: qp, q_camids: qc, g_pids: gp, g_camids: gc, top_k: K });
    const pq = ref.perQuery;
    // The problem has skipped queries and failures, or the test would not test the edge cases.
    expect(pq.ap.filter((a) => a === null).length).toBeGreaterThan(0);
    expect(pq.failures.length).toBeGreaterThan(5);
    for (let i = 0; i < Q; i++) {
      const ap = Number.isNaN(queries.ap[i]!) ? null : queries.ap[i]!;
      const inp = Number.isNaN(queries.inp[i]!) ? null : queries.inp[i]!;
      expect(close(ap, pq.ap[i]!), `AP of query ${i}: ${ap} vs ${pq.ap[i]}`).toBe(true);
      expect(close(inp, pq.inp[i]!), `INP of query ${i}`).toBe(true);
      expect(queries.firstMatch[i]).toBe(pq.first[i]);
      expect(Array.from(queries.top.subarray(i * K, (i + 1) * K))).toEqual(pq.top[i]);
      for (let t = 0; t < K; t++) expect(queries.topDistance[i * K + t]).toBe(Math.fround(dist[i]![pq.top[i]![t]!]!));
      if (pq.first[i]! >= 0) {
        expect(gp[queries.firstMatchIndex[i]!]).toBe(qp[i]);
        expect(gc[queries.firstMatchIndex[i]!]).not.toBe(qc[i]);
      }
    }
    const valid = Array.from(queries.ap).filter((a) => !Number.isNaN(a));
    expect(valid.length).toBe(ref.numValidQuery);
    expect(Math.abs(valid.reduce((s, a) => s + a, 0) / valid.length - result.mAP)).toBeLessThan(1e-12);
    expect(Math.abs(result.mAP - ref.mAP)).toBeLessThan(1e-9);
    expect(Math.abs(result.mINP - ref.mINP)).toBeLessThan(1e-9);
  });

  it('runs.queries pages every query, sorted by AP and failures first / only, as the reference orders them', async () => {
    const Q = 60, G = 300, D = 16;
    const { qp, qc, gp, gc, r } = problem(5, Q, G, 25, 4);
    const centre = Array.from({ length: 30 }, () => Array.from({ length: D }, () => r() * 2 - 1));
    const feat = (p: number) => centre[p + 1]!.map((c) => c + (r() - 0.5) * 2.4);
    const qf = qp.map(feat), gf = gp.map(feat);
    const qm = { data: Float32Array.from(qf.flat()), rows: Q, dim: D };
    const gm = { data: Float32Array.from(gf.flat()), rows: G, dim: D };
    const ev = await evaluate(qm, gm, { pids: qp, camids: qc }, { pids: gp, camids: gc }, { metric: 'cosine', featNorm: true, threads: 0, topK: 20 });
    const { queries, ...evalJson } = ev;
    const id = '20260101-000000-q';
    const dir = join(home, 'runs', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ id, name: 'q', status: 'completed', created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' }));
    writeFileSync(join(dir, 'eval.json'), JSON.stringify(evalJson));
    const rec = (split: string, pids: number[], cams: number[]) => pids.map((pid, i) => ({ path: `/data/m/${split}/${i}.jpg`, pid, camid: cams[i]!, label: pid }));
    await writeEvalFeatures(dir, { query: { feats: qm, records: rec('query', qp, qc) }, gallery: { feats: gm, records: rec('bounding_box_test', gp, gc) }, queries: queries! }, 'cosine', true);
    const ref = runPython<Ref>('ref_eval.py', { op: 'features', qf, gf, metric: 'cosine', feat_norm: true, q_pids: qp, q_camids: qc, g_pids: gp, g_camids: gc, top_k: 10 });
    const pq = ref.perQuery;
    expect(pq.failures.length).toBeGreaterThan(3);

    const svc = new Service({ host: 'browser', version: '0', dataDir: home, documentsDir: home });
    type Page = CallOutput<'runs.queries'>;
    const all = async (sort: 'query' | 'ap-asc' | 'ap-desc', failures: 'all' | 'first' | 'only') => {
      const items: Page['items'] = [];
      let page: Page;
      do {
        page = await svc.call('runs.queries', { runId: id, offset: items.length, limit: 25, sort, failures });
        expect(page.items.length).toBeLessThanOrEqual(25);
        items.push(...page.items);
      } while (items.length < page.total);
      return { items, page };
    };
    const byIndex = await all('query', 'all');
    expect(byIndex.page).toMatchObject({ numQuery: Q, numValidQuery: ref.numValidQuery, numFailures: pq.failures.length, total: Q });
    expect(Math.abs(byIndex.page.mAP - ref.mAP)).toBeLessThan(1e-6);
    expect(Math.abs(byIndex.page.mINP - ref.mINP)).toBeLessThan(1e-6);
    for (const it of byIndex.items) {
      expect(close(it.ap, pq.ap[it.index]!) || Math.abs(it.ap! - pq.ap[it.index]!) < 1e-6).toBe(true);
      expect(it.inp === null ? pq.inp[it.index] === null : Math.abs(it.inp - pq.inp[it.index]!) < 1e-6).toBe(true);
      expect(it.firstMatchRank).toBe(pq.first[it.index]! >= 0 ? pq.first[it.index]! + 1 : null);
      expect(it.results.map((x) => x.path)).toEqual(pq.top[it.index]!.map((g) => `/data/m/bounding_box_test/${g}.jpg`));
      expect(it.results.map((x) => x.match)).toEqual(pq.top[it.index]!.map((g) => gp[g] === qp[it.index]));
      expect(it.query).toEqual({ path: `/data/m/query/${it.index}.jpg`, pid: qp[it.index], camid: qc[it.index] });
      if (it.firstMatch) expect(it.firstMatch.pid).toBe(qp[it.index]);
    }
    expect((await all('ap-asc', 'all')).items.map((x) => x.index)).toEqual(pq.order_ap_asc);
    expect((await all('ap-desc', 'all')).items.map((x) => x.index)).toEqual(pq.order_ap_desc);
    const fail = new Set(pq.failures);
    const firstOrder = [...pq.order_ap_asc.filter((i) => fail.has(i)), ...pq.order_ap_asc.filter((i) => !fail.has(i))];
    expect((await all('ap-asc', 'first')).items.map((x) => x.index)).toEqual(firstOrder);
    const only = await all('query', 'only');
    expect(only.page.total).toBe(pq.failures.length);
    expect(only.items.map((x) => x.index)).toEqual(pq.failures);

    // A run folder from before per-query files: recomputed from its eval features, the same answers.
    rmSync(join(dir, 'eval-queries.json'));
    const again = await svc.call('runs.queries', { runId: id, offset: 0, limit: 100, sort: 'ap-desc', failures: 'all' });
    expect(again.items.map((x) => x.index)).toEqual(pq.order_ap_desc);
    again.items.forEach((x) => expect(close(x.ap, pq.ap[x.index]!) || Math.abs(x.ap! - pq.ap[x.index]!) < 1e-6).toBe(true));

    // Bounded payloads; bad requests are one-line errors.
    for (const bad of [{ limit: 101 }, { k: 21 }, { offset: -1 }, { sort: 'mAP' }])
      expect(await svc.dispatch('runs.queries', { runId: id, ...bad })).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    expect(await svc.dispatch('runs.queries', { runId: '20260101-000000-none' })).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
  });
});
