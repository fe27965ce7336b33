/**
 * `runs.compareQueries`: two runs evaluated on the same query / gallery images, query by query. The
 * per-query APs come from the numpy port of the reference evaluation (test/training/ref_eval.py) of each
 * run's features; the service's ΔAP, categories, orders and rank lists must agree with them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CallOutput } from '../../core/api/contract.js';
import { Service } from '../../main/service/index.js';
import { writeEvalFeatures } from '../../main/training/engine/eval-features.js';
import { evaluate } from '../../main/training/eval/evaluate.js';
import { runPython, testRandom } from './python.js';

interface Ref {
  perQuery: { ap: (number | null)[]; first: number[]; top: number[][] };
}

const Q = 50, G = 240, D = 12, P = 20, C = 4;

describe('runs.compareQueries: per-query AP of two runs on the same evaluation', () => {
  const home = mkdtempSync(join(tmpdir(), 'reid-compare-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const r = testRandom(77);
  const int = (n: number) => Math.floor(r() * n);
  const qp = Array.from({ length: Q }, () => 1 + int(P));
  const qc = Array.from({ length: Q }, () => int(C));
  const gp = Array.from({ length: G }, (_, j) => (j < Q ? qp[j]! : int(P + 1)));
  const gc = Array.from({ length: G }, () => int(C));
  const centre = Array.from({ length: P + 1 }, () => Array.from({ length: D }, () => r() * 2 - 1));

  /** A run folder whose last evaluation embedded the images with feature noise `noise` ("a model"). */
  async function run(id: string, noise: number, gallery = G) {
    const feat = (p: number) => centre[p]!.map((c) => c + (r() - 0.5) * noise);
    const qf = qp.map(feat), gf = gp.slice(0, gallery).map(feat);
    const qm = { data: Float32Array.from(qf.flat()), rows: Q, dim: D };
    const gm = { data: Float32Array.from(gf.flat()), rows: gallery, dim: D };
    const { queries, ...ev } = await evaluate(qm, gm, { pids: qp, camids: qc }, { pids: gp.slice(0, gallery), camids: gc.slice(0, gallery) }, { metric: 'cosine', featNorm: true, threads: 0, topK: 20 });
    const dir = join(home, 'runs', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ id, name: id, status: 'completed', created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' }));
    writeFileSync(join(dir, 'eval.json'), JSON.stringify(ev));
    const rec = (split: string, pids: number[], cams: number[]) => pids.map((pid, i) => ({ path: `/data/m/${split}/${i}.jpg`, pid, camid: cams[i]!, label: pid }));
    await writeEvalFeatures(dir, { query: { feats: qm, records: rec('query', qp, qc) }, gallery: { feats: gm, records: rec('bounding_box_test', gp.slice(0, gallery), gc) }, queries: queries! }, 'cosine', true);
    return runPython<Ref>('ref_eval.py', { op: 'features', qf, gf, metric: 'cosine', feat_norm: true, q_pids: qp, q_camids: qc, g_pids: gp.slice(0, gallery), g_camids: gc.slice(0, gallery), top_k: 10 }).perQuery;
  }

  it('ΔAP, improved / regressed / both-fail, the orders and both rank lists follow the reference APs', async () => {
    const a = await run('20260101-000000-a', 3.0);
    const b = await run('20260101-000000-b', 2.2);
    await run('20260101-000000-c', 2.2, G - 10);
    const svc = new Service({ host: 'browser', version: '0', dataDir: home, documentsDir: home });
    type Page = CallOutput<'runs.compareQueries'>;
    const all = async (sort: 'diff-desc' | 'diff-asc' | 'query', filter: 'all' | 'improved' | 'regressed' | 'both-fail') => {
      const items: Page['items'] = [];
      let page: Page;
      do {
        page = await svc.call('runs.compareQueries', { runIds: ['20260101-000000-a', '20260101-000000-b'], offset: items.length, limit: 7, sort, filter });
        items.push(...page.items);
      } while (items.length < page.total);
      return { items, page };
    };
    const valid = qp.map((_, i) => i).filter((i) => a.ap[i] !== null && b.ap[i] !== null);
    const d = (i: number) => b.ap[i]! - a.ap[i]!;
    const improved = valid.filter((i) => d(i) > 1e-9);
    const regressed = valid.filter((i) => d(i) < -1e-9);
    const bothFail = valid.filter((i) => a.first[i]! > 0 && b.first[i]! > 0);
    // The problem has every kind of query, or the test would not test them.
    expect([improved.length > 3, regressed.length > 3, bothFail.length > 1]).toEqual([true, true, true]);
    const byQuery = await all('query', 'all');
    expect(byQuery.page.numValidQuery).toBe(valid.length);
    expect(byQuery.page.counts).toMatchObject({ improved: improved.length, regressed: regressed.length, bothFail: bothFail.length });
    for (const it of byQuery.items) {
      expect(Math.abs(it.ap[0] - a.ap[it.index]!)).toBeLessThan(1e-6);
      expect(Math.abs(it.ap[1] - b.ap[it.index]!)).toBeLessThan(1e-6);
      expect(it.firstMatchRank).toEqual([a.first[it.index]! + 1, b.first[it.index]! + 1]);
      expect(it.results[0].map((x) => x.path)).toEqual(a.top[it.index]!.map((g) => `/data/m/bounding_box_test/${g}.jpg`));
      expect(it.results[1].map((x) => x.path)).toEqual(b.top[it.index]!.map((g) => `/data/m/bounding_box_test/${g}.jpg`));
    }
    const desc = (await all('diff-desc', 'all')).items.map((x) => d(x.index));
    desc.slice(1).forEach((v, k) => expect(v).toBeLessThanOrEqual(desc[k]! + 1e-9));
    expect((await all('diff-desc', 'improved')).items.map((x) => x.index).sort((x, y) => x - y)).toEqual(improved);
    const reg = (await all('diff-asc', 'regressed')).items;
    expect(reg.map((x) => x.index).sort((x, y) => x - y)).toEqual(regressed);
    expect(reg[0]!.index).toBe(regressed.reduce((m, i) => (d(i) < d(m) ? i : m)));
    expect((await all('query', 'both-fail')).items.map((x) => x.index)).toEqual(bothFail);

    // Different gallery lists: refused in one line, not compared.
    const other = await svc.dispatch('runs.compareQueries', { runIds: ['20260101-000000-a', '20260101-000000-c'] });
    expect(other).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST', message: expect.stringMatching(/different query \/ gallery images/) } });
  });
});
