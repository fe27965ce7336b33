/**
 * The run views line up (issue 22), browser mode in headless Chromium with one tiny demo run trained
 * through the service: every cell of a runs-table row shares the row's top and height, rank k of every rank
 * list sits under rank k of the row above, and the Evaluate on… result's metric cards fit their dialog.
 */
import { describe, expect, it } from 'vitest';
import { openApp, servedBrowser, trainDemoRun } from './harness.js';

const ctx = servedBrowser();

describe('run views', () => {
  it('runs table, rank lists and the Evaluate on… result are aligned and not cut off', async () => {
    const runId = await trainDemoRun(ctx.s, 'aligned', 1);
    const page = await openApp(ctx.browser, ctx.s.url, { width: 1440, height: 900 });
    await page.getByTestId('btn-train').click();
    await page.getByTestId('train-tab-runs').click();
    const row = page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
    await expect.poll(() => row.count()).toBe(1);
    const cells = await row.locator(':scope > td').evaluateAll((tds) => tds.map((td) => {
      const r = td.getBoundingClientRect();
      return { top: Math.round(r.top), height: Math.round(r.height), display: getComputedStyle(td).display };
    }));
    expect(new Set(cells.map((c) => `${c.top}/${c.height}/${c.display}`))).toEqual(new Set([`${cells[0]!.top}/${cells[0]!.height}/table-cell`]));

    await row.getByTestId('run-open').click();
    await page.getByTestId('train-tab-results').click();
    await expect.poll(() => page.getByTestId('ranklist-row').count()).toBeGreaterThan(1);
    // The left edge of the query and of every rank, per row: the same in every row.
    const columns = await page.getByTestId('ranklist-row').evaluateAll((rows) =>
      rows.map((r) => Array.from(r.querySelectorAll('figure')).map((f) => Math.round(f.getBoundingClientRect().left)).join(',')),
    );
    expect(new Set(columns).size).toBe(1);

    await page.getByTestId('run-evaluate').first().click();
    await page.getByTestId('eval-confirm').click();
    await expect.poll(() => page.getByTestId('eval-result').count(), { timeout: 120_000 }).toBe(1);
    const clipped = await page.getByTestId('eval-dialog').evaluate((d) => {
      const box = d.getBoundingClientRect();
      return { scroll: d.scrollWidth > d.clientWidth, out: Array.from(d.querySelectorAll('.metric-card')).filter((c) => c.getBoundingClientRect().right > box.right + 0.5).length };
    });
    expect(clipped).toEqual({ scroll: false, out: 0 });
    await page.close();
  }, 400_000);
});
