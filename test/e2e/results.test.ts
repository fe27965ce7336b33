import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildPreset, serializeDocument } from '../../core/index.js';
import type { CallOutput } from '../../core/api/contract.js';
import { cleanup, launchBrowser, openApp, serve, text, type Served } from './harness.js';

/**
 * Issue 15, "Results a re-ID engineer can explore", in browser mode with the real server, training process
 * and Debian's Chromium: two short demo runs are trained through the service's API (resnet18 at 64×32 on
 * the tiny demo dataset, 1 and 2 epochs), then the Results tab pages through every query's rank list,
 * sorts it by AP and puts failures first, in the order the API's per-query AP gives; the CMC axis is
 * [0, 1]; the comparison names the epoch of each evaluation (one of them re-evaluated from its
 * checkpoint) and follows a rename.
 */
let s: Served;
let browser: Browser;
let page: Page;
const ids: Record<'a' | 'b', string> = { a: '', b: '' };
const SHOTS = 'docs/screenshots';

type Queries = CallOutput<'runs.queries'>;
async function call<T>(method: string, payload: unknown): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${s.port}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-reid-token': s.token }, body: JSON.stringify(payload) });
  const j = (await r.json()) as { ok: boolean; result: T; error?: { message: string } };
  if (!j.ok) throw new Error(`${method}: ${j.error?.message}`);
  return j.result;
}

/** Trains one run to completion through the service (the app's own path: train.start, a training process). */
async function train(name: string, epochs: number): Promise<string> {
  const doc = buildPreset('resnet18', { input: [64, 32] });
  doc.training = { dataset: { kind: 'demo', demoSize: 'tiny' }, epochs, evalPeriod: epochs, batch: { p: 4, k: 4 } };
  const { runId } = await call<{ runId: string }>('train.start', { doc: serializeDocument(doc), data: { kind: 'demo', size: 'tiny' }, name });
  // Waits in beforeAll (expect.poll belongs to tests); the hook's timeout bounds it.
  for (;;) {
    const run = (await call<{ id: string; status: string; active: boolean }[]>('runs.list', {})).find((r) => r.id === runId);
    if (run && !run.active && run.status !== 'running') break;
    await new Promise((ok) => setTimeout(ok, 1000));
  }
  expect((await call<{ summary: { status: string; message?: string } }>('runs.get', { runId })).summary).toMatchObject({ status: 'completed' });
  return runId;
}

const rowIndices = () => page.getByTestId('ranklist-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-query-index'))));
const rowAps = () => page.getByTestId('ranklist-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-ap')));

/** Every query of run `id` in the API's order for `sort` / `failures`. */
async function apiOrder(id: string, sort: string, failures: string, evalId?: string): Promise<Queries> {
  return call<Queries>('runs.queries', { runId: id, offset: 0, limit: 100, sort, failures, ...(evalId ? { evalId } : {}) });
}

describe('results: every rank list, AP order, failures first; CMC axis; comparison epochs and renames', () => {
  beforeAll(async () => {
    s = await serve();
    ids.a = await train('one-epoch', 1);
    ids.b = await train('two-epochs', 2);
    browser = await launchBrowser();
    page = await openApp(browser, s.url, { width: 1440, height: 900 });
    await page.getByTestId('btn-train').click();
    await page.getByTestId('train-tab-runs').click();
    mkdirSync(SHOTS, { recursive: true });
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
    if (s) cleanup(s.home, s.docs);
  });

  it('Results pages through every query; AP ascending and failures first follow the per-query AP of the API', async () => {
    await page.locator(`[data-run-id="${ids.b}"]`).getByTestId('run-open').click();
    await page.getByTestId('results').waitFor();
    // The CMC chart's y axis is [0, 1] whatever the curve (the scale uPlot drew).
    await expect.poll(() => page.getByTestId('chart-cmc').getAttribute('data-y-max')).toBe('1');
    expect(await page.getByTestId('chart-cmc').getAttribute('data-y-min')).toBe('0');
    await expect.poll(() => text(page, 'result-minp')).toMatch(/^\d+\.\d%$/);

    const all = await apiOrder(ids.b, 'query', 'all');
    expect(all.items.length).toBe(all.numQuery);
    expect(all.numQuery).toBeGreaterThan(12);
    const apOf = new Map(all.items.map((it) => [it.index, it.ap]));
    // The mean of the per-query AP is the run's mAP (eval.json, the results card).
    const valid = all.items.filter((it) => it.ap !== null);
    expect(Math.abs(valid.reduce((t, it) => t + it.ap!, 0) / valid.length - all.mAP)).toBeLessThan(1e-12);
    expect(await text(page, 'result-map')).toBe(`${(all.mAP * 100).toFixed(1)}%`);
    expect(await text(page, 'result-minp')).toBe(`${(all.mINP * 100).toFixed(1)}%`);

    // Page 1 and 2 in query order (6 per page), each row with its AP.
    await expect.poll(rowIndices).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await text(page, 'ranklist-page')).toBe(`1–6 of ${all.numQuery}`);
    expect((await rowAps()).map(Number)).toEqual([0, 1, 2, 3, 4, 5].map((i) => apOf.get(i)));
    expect(await text(page, 'ranklist-ap')).toBe(`AP ${(apOf.get(0)! * 100).toFixed(1)}%`);
    await page.getByTestId('ranklist-next').click();
    await expect.poll(rowIndices).toEqual([6, 7, 8, 9, 10, 11]);
    await page.getByTestId('ranklist-prev').click();
    await expect.poll(rowIndices).toEqual([0, 1, 2, 3, 4, 5]);
    // Paging to the end reaches every query once.
    await page.getByTestId('ranklist-page-size').selectOption('20');
    const seen: number[] = [];
    for (;;) {
      await expect.poll(rowIndices).toEqual(Array.from({ length: Math.min(20, all.numQuery - seen.length) }, (_, i) => seen.length + i));
      seen.push(...(await rowIndices()));
      if (await page.getByTestId('ranklist-next').isDisabled()) break;
      await page.getByTestId('ranklist-next').click();
    }
    expect(seen).toEqual(all.items.map((it) => it.index));

    // Sorted by AP, lowest first: the order of the API's per-query AP (ties by query index, no-AP last).
    await page.getByTestId('ranklist-sort').selectOption('ap-asc');
    const byAp = [...all.items].sort((x, y) => (x.ap === null || y.ap === null ? Number(x.ap === null) - Number(y.ap === null) : x.ap - y.ap) || x.index - y.index).map((it) => it.index);
    await expect.poll(rowIndices).toEqual(byAp.slice(0, 20));
    const aps = (await rowAps()).map(Number);
    expect(aps).toEqual([...aps].sort((x, y) => x - y));

    // Failures first: queries whose rank-1 is wrong (API: first match below rank 1), each group by AP.
    await page.getByTestId('ranklist-failures').selectOption('first');
    const failed = new Set(all.items.filter((it) => it.firstMatchRank !== null && it.firstMatchRank > 1).map((it) => it.index));
    expect(failed.size).toBe(all.numFailures);
    expect(failed.size).toBeGreaterThan(0);
    const firstOrder = [...byAp.filter((i) => failed.has(i)), ...byAp.filter((i) => !failed.has(i))];
    await expect.poll(rowIndices).toEqual(firstOrder.slice(0, 20));
    for (const r of await page.getByTestId('ranklist-row').all()) {
      const i = Number(await r.getAttribute('data-query-index'));
      expect(Number(await r.getAttribute('data-first-match')) > 1, `query ${i}`).toBe(failed.has(i));
    }
    // Only failures, AP highest first.
    await page.getByTestId('ranklist-failures').selectOption('only');
    await page.getByTestId('ranklist-sort').selectOption('ap-desc');
    const onlyApi = await apiOrder(ids.b, 'ap-desc', 'only');
    expect(onlyApi.total).toBe(failed.size);
    await expect.poll(rowIndices).toEqual(onlyApi.items.slice(0, 20).map((it) => it.index));
    expect(await text(page, 'ranklist-page')).toBe(`1–${Math.min(20, failed.size)} of ${failed.size}`);
    // Rows show the query and its top-10, matches marked by identity.
    const row = page.getByTestId('ranklist-row').first();
    expect(await row.locator('.thumb').count()).toBe(11);
    await expect.poll(() => page.getByTestId('ranklist-gallery').locator('img[src^="data:image/jpeg"]').count()).toBeGreaterThan(11);
    await page.getByTestId('ranklist-failures').selectOption('first');
    await page.getByTestId('ranklist-sort').selectOption('ap-asc');
    await page.getByTestId('ranklist-page-size').selectOption('6');
    await expect.poll(rowIndices).toEqual(firstOrder.slice(0, 6));
    await page.screenshot({ path: `${SHOTS}/results-ranklists.png` });
  });

  it('the comparison names the epoch each evaluation comes from and follows a rename in Runs', async () => {
    // Run A evaluated again from its checkpoint (eval.run, as "Evaluate on…" does): the new evaluation is its
    // own record (the training-time one stays the run's), records the checkpoint's epoch, and its per-query
    // results average to its mAP.
    const before = (await call<CallOutput<'runs.get'>>('runs.get', { runId: ids.a })).eval;
    const again = await call<CallOutput<'eval.run'>>('eval.run', { graph: { kind: 'run', runId: ids.a }, data: null });
    expect(again).toMatchObject({ savedToRun: true, epoch: 1 });
    const after = await call<CallOutput<'runs.get'>>('runs.get', { runId: ids.a });
    expect(after.eval).toEqual(before);
    expect(after.evals!.map((r) => [r.id, r.inDomain, r.epoch])).toEqual([[again.evalId, true, 1]]);
    const qa = await apiOrder(ids.a, 'query', 'all', again.evalId);
    expect(Math.abs(qa.mAP - again.mAP)).toBeLessThan(1e-12);
    expect(Math.abs(qa.mINP - again.mINP)).toBeLessThan(1e-12);
    await page.getByTestId('train-tab-runs').click();
    for (const id of [ids.a, ids.b]) await page.locator(`[data-run-id="${id}"]`).getByTestId('run-compare').check();
    await page.getByTestId('runs-compare').click();
    const table = page.getByTestId('compare-metrics');
    await table.waitFor();
    const cell = async (id: string, testId: string) => ((await table.locator(`tr[data-compare-run-id="${id}"]`).getByTestId(testId).textContent()) ?? '').trim();
    await expect.poll(() => cell(ids.a, 'compare-epoch')).toBe('epoch 1');
    expect(await cell(ids.b, 'compare-epoch')).toBe('epoch 2');
    expect(await cell(ids.a, 'compare-run-name')).toBe('one-epoch');
    const rowA = page.locator(`tr[data-testid="run-row"][data-run-id="${ids.a}"]`);
    await rowA.getByTestId('run-rename').click();
    await rowA.getByTestId('run-rename-input').fill('baseline, 1 epoch');
    await rowA.getByTestId('run-rename-input').press('Enter');
    // Without comparing again: the comparison shows the new name (table and the "what changed" heading).
    await expect.poll(() => cell(ids.a, 'compare-run-name')).toBe('baseline, 1 epoch');
    await expect.poll(() => text(page, 'compare-changes')).toContain('baseline, 1 epoch');
    await page.getByTestId('compare-view').screenshot({ path: `${SHOTS}/runs-compare-epochs.png` });
  });
});
