/**
 * Issue 23, the analysis walk, in browser mode with the real server, training processes and Debian's
 * Chromium: two tiny demo runs (resnet18 at 64×32, 1 and 2 epochs) are trained through the service, then
 * - Runs ▸ Compare of the two lists every query's ΔAP (B − A), most improved first, equal to the per-query
 *   AP each run's evaluation wrote to its own folder (`eval-queries.json`, read here from disk);
 * - Results ▸ Rank lists with "activation maps" replaces the thumbnails with maps computed from the run's
 *   checkpoint; the status names the feature map (input / 16 with reid-strong-baseline's last stride 1) and
 *   the engine;
 * - Results ▸ Thresholds shows every TPR@FPR row of the run's `eval.json` (read from disk), AUC included;
 * - Camera pairs and Embedding map cover the evaluation's cameras and images (eval.json, eval-queries.json).
 * Each view's screenshot is refreshed under docs/screenshots (README, "Results" table), as results.test.ts does.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiCall, openApp, servedBrowser, text, trainDemoRun } from './harness.js';

const SHOTS = 'docs/screenshots';
const ctx = servedBrowser();
let page: Page;
const ids = { a: '', b: '' };

/** A file the run's evaluation wrote, read from its folder (`<data dir>/runs/<id>/`), not through the API. */
const runFile = <T,>(id: string, name: string): T => JSON.parse(readFileSync(join(ctx.s.home, 'runs', id, name), 'utf8')) as T;
interface EvalQueriesFile {
  numQuery: number;
  numGallery: number;
  ap: (number | null)[];
  firstMatch: number[];
}
interface EvalFile {
  mAP: number;
  roc: { auc: number };
  distanceHistogram: { edges: number[] };
  tprAtFpr: { fpr: number; actualFpr: number; tpr: number; threshold: number; acceptsNone: boolean }[];
  perCameraPair: { queryCameras: number[]; galleryCameras: number[]; cells: unknown[] };
}

describe('analysis walk: two runs query by query, activation maps, thresholds, camera pairs, embedding map', () => {
  beforeAll(async () => {
    ids.a = await trainDemoRun(ctx.s, 'walk-1-epoch', 1);
    ids.b = await trainDemoRun(ctx.s, 'walk-2-epochs', 2);
    for (const id of [ids.a, ids.b]) expect((await apiCall<{ summary: { status: string } }>(ctx.s, 'runs.get', { runId: id })).result.summary.status).toBe('completed');
    page = await openApp(ctx.browser, ctx.s.url, { width: 1440, height: 900 });
    await page.getByTestId('btn-train').click();
    await page.getByTestId('train-tab-runs').click();
    mkdirSync(SHOTS, { recursive: true });
  }, 600_000);

  it('the comparison of two runs lists each query’s ΔAP from the runs’ own per-query AP', async () => {
    const qa = runFile<EvalQueriesFile>(ids.a, 'eval-queries.json');
    const qb = runFile<EvalQueriesFile>(ids.b, 'eval-queries.json');
    expect(qb.numQuery).toBe(qa.numQuery);
    const valid = qa.ap.map((_, i) => i).filter((i) => qa.ap[i] !== null && qb.ap[i] !== null);
    const diff = (i: number) => qb.ap[i]! - qa.ap[i]!;
    const improved = valid.filter((i) => diff(i) > 0).length;
    const regressed = valid.filter((i) => diff(i) < 0).length;
    const bothFail = valid.filter((i) => qa.firstMatch[i]! > 0 && qb.firstMatch[i]! > 0).length;
    // Most improved first, ties by query index (the view's default order).
    const order = [...valid].sort((x, y) => diff(y) - diff(x) || x - y);

    for (const id of [ids.a, ids.b]) await page.locator(`[data-run-id="${id}"]`).getByTestId('run-compare').check();
    await page.getByTestId('runs-compare').click();
    const cq = page.getByTestId('compare-queries');
    await cq.waitFor({ timeout: 60_000 });
    expect(Number(await cq.getAttribute('data-total'))).toBe(valid.length);
    expect(await text(page, 'compare-counts')).toBe(`${improved} improved, ${regressed} regressed, ${valid.length - improved - regressed} unchanged, ${bothFail} fail in both`);
    const rows = () => page.getByTestId('compare-query').evaluateAll((els) => els.map((e) => [Number(e.getAttribute('data-index')), Number(e.getAttribute('data-diff'))] as const));
    await expect.poll(async () => (await rows()).map(([i]) => i)).toEqual(order.slice(0, 10));
    for (const [i, d] of await rows()) expect(Math.abs(d - diff(i)), `query ${i}`).toBeLessThan(1e-12);
    // Each side's AP as the row shows it (A then B).
    const first = page.getByTestId('compare-query').first();
    const sides = await first.locator('.compare-side > .small').allTextContents();
    expect(sides[0]).toContain(`A: AP ${(qa.ap[order[0]!]! * 100).toFixed(1)}% · first match at rank ${qa.firstMatch[order[0]!]! + 1}`);
    expect(sides[1]).toContain(`B: AP ${(qb.ap[order[0]!]! * 100).toFixed(1)}% · first match at rank ${qb.firstMatch[order[0]!]! + 1}`);

    // Regressed only, most regressed first.
    await page.getByTestId('compare-filter').selectOption('regressed');
    await page.getByTestId('compare-sort').selectOption('diff-asc');
    const worst = valid.filter((i) => diff(i) < 0).sort((x, y) => diff(x) - diff(y) || x - y);
    await expect.poll(async () => (await rows()).map(([i]) => i)).toEqual(worst.slice(0, 10));
    await page.getByTestId('compare-filter').selectOption('all');
    await page.getByTestId('compare-sort').selectOption('diff-desc');
    await expect.poll(async () => (await rows()).map(([i]) => i)).toEqual(order.slice(0, 10));
    // The ΔAP chart is drawn (its 520×140 size, not a blank canvas's default 300×150) whichever of the
    // first page and the ΔAPs arrived first.
    await expect.poll(() => page.getByTestId('compare-diff-chart').evaluate((c) => c.style.width)).toBe('520px');
    // Every thumbnail of the page loaded (the query and both top-8 lists per row), none unreadable.
    await expect.poll(() => cq.locator('.thumb-missing').count(), { timeout: 30_000 }).toBe(0);
    expect(await cq.locator('img[src^="data:image/jpeg"]').count()).toBe(10 * 17);
    // The view's head, ΔAP chart and first rows (the whole list is taller than the window).
    await cq.evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: `${SHOTS}/compare-queries.png` });
  }, 120_000);

  it('activation maps replace the rank-list thumbnails; the status names the feature map and the engine', async () => {
    await page.locator(`[data-run-id="${ids.b}"]`).getByTestId('run-open').click();
    if (!(await page.getByTestId('results').count())) await page.getByTestId('train-tab-results').click();
    const gallery = page.getByTestId('ranklist-gallery');
    await expect.poll(() => gallery.locator('img[src^="data:image/jpeg"]').count(), { timeout: 60_000 }).toBeGreaterThan(11);
    const srcs = () => page.getByTestId('ranklist-row').first().locator('img').evaluateAll((im) => im.map((i) => i.getAttribute('src')));
    const thumbs = await srcs();
    expect(thumbs.length).toBe(11); // the query and its top-10

    await page.getByTestId('ranklist-actmap-toggle').check();
    // resnet18 at 64×32 with reid-strong-baseline's last stride 1: the last feature map is input / 16.
    await expect.poll(() => text(page, 'ranklist-actmap-status'), { timeout: 120_000 }).toMatch(/^4×2 map · (onnxruntime|webgpu|tensorflow-gpu|tensorflow|wasm|cpu)$/);
    await expect.poll(async () => (await srcs()).filter((s) => s?.startsWith('data:image/jpeg')).length, { timeout: 60_000 }).toBe(11);
    const maps = await srcs();
    // Every image is now a map: none is the thumbnail it replaced.
    maps.forEach((m, i) => expect(m, `image ${i}`).not.toBe(thumbs[i]));
    expect(await page.getByTestId('ranklist-actmap-checkpoint').inputValue()).toBe('last');
    // The map is blended at 50 % by default (the person stays visible; test/onnx/actmap.test.ts checks the blend).
    expect(await page.getByTestId('ranklist-actmap-opacity').inputValue()).toBe('0.5');
    await page.screenshot({ path: `${SHOTS}/results-actmaps.png` });
    await page.getByTestId('ranklist-actmap-toggle').uncheck();
    await expect.poll(srcs).toEqual(thumbs);
  }, 240_000);

  it('Thresholds shows the TPR@FPR rows and AUC of the run’s eval.json; camera pairs cover its cameras', async () => {
    const ev = runFile<EvalFile>(ids.b, 'eval.json');
    await page.getByTestId('results-tab-thresholds').click();
    await page.getByTestId('thresholds').waitFor();
    expect(await text(page, 'roc-auc')).toBe(ev.roc.auc.toFixed(4));
    const table = page.getByTestId('tpr-at-fpr');
    expect(await table.locator('tbody tr').count()).toBe(ev.tprAtFpr.length);
    expect(ev.tprAtFpr.map((t) => t.fpr)).toEqual([1e-4, 1e-3, 1e-2]); // README "Thresholds and camera pairs"
    for (const t of ev.tprAtFpr) {
      const cells = (await table.locator(`tr[data-fpr="${t.fpr}"] td`).allTextContents()).map((c) => c.trim());
      // sklearn's "accept nothing" point has no distance threshold (its min distance − 1 is none): words, TPR 0.
      expect(cells).toEqual([t.fpr.toExponential(0), t.actualFpr.toExponential(2), `${(t.tpr * 100).toFixed(2)}%`, t.acceptsNone ? 'no pair accepted at this FPR' : t.threshold.toFixed(4)]);
      const attr = await table.locator(`tr[data-fpr="${t.fpr}"]`).getAttribute('data-threshold');
      if (t.acceptsNone) expect([attr, t.tpr, t.actualFpr]).toEqual([null, 0, 0]);
      else expect(Number(attr)).toBe(t.threshold);
      // A shown threshold is a distance of the evaluation: within the distance histogram's range.
      if (!t.acceptsNone) expect(t.threshold).toBeGreaterThanOrEqual(ev.distanceHistogram.edges[0]!);
    }
    await page.getByTestId('thresholds').screenshot({ path: `${SHOTS}/results-thresholds.png` });

    await page.getByTestId('results-tab-cameras').click();
    const grid = page.getByTestId('camera-pairs');
    await grid.waitFor();
    const g = ev.perCameraPair;
    expect(g.cells.length).toBe(g.queryCameras.length * g.galleryCameras.length);
    expect(Number(await grid.getAttribute('data-cells'))).toBe(g.cells.length);
    expect(g.queryCameras.length).toBeGreaterThan(1);
    await grid.screenshot({ path: `${SHOTS}/results-camera-pairs.png` });
  }, 60_000);

  it('the embedding map places every evaluated image', async () => {
    const q = runFile<EvalQueriesFile>(ids.b, 'eval-queries.json');
    await page.getByTestId('results-tab-map').click();
    await page.getByTestId('embedding-compute').click();
    const map = page.getByTestId('embedding-map');
    await expect.poll(() => map.getAttribute('data-points'), { timeout: 120_000 }).toBe(String(q.numQuery + q.numGallery));
    // The camera colours' legend lists exactly the evaluation's cameras (eval.json's camera-pair grid: query and
    // gallery cameras), each its own colour.
    const g = runFile<EvalFile>(ids.b, 'eval.json').perCameraPair;
    const cams = [...new Set([...g.queryCameras, ...g.galleryCameras])].sort((x, y) => x - y);
    const legend = page.getByTestId('embedding-legend');
    expect(await legend.getAttribute('data-by')).toBe('camera');
    const items = legend.locator('li');
    expect((await items.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-key')))))).toEqual(cams);
    expect((await items.allTextContents()).map((t) => t.trim())).toEqual(cams.map((c) => `cam ${c + 1}`));
    expect(new Set(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-colour')))).size).toBe(cams.length);
    await page.getByTestId('embedding-colour').selectOption('identity');
    await expect.poll(() => legend.getAttribute('data-by')).toBe('identity');
    expect(await legend.locator('li[data-key]').count()).toBeGreaterThan(1);
    await page.getByTestId('embedding-colour').selectOption('camera');
    await map.screenshot({ path: `${SHOTS}/results-embedding-map.png` });
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
  }, 180_000);
});
