import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildPreset, serializeDocument } from '../../core/index.js';
import type { CallOutput, RunSummary } from '../../core/api/contract.js';
import { cleanup, launchBrowser, openApp, serve, text, type Served } from './harness.js';

/**
 * Issue 21, "any framework's output folder is a run", in browser mode with the real server and Chromium:
 * fast-reid's output folder (test/fixtures/external-runs/fastreid-r18, written by fast-reid's train_net.py, with
 * a model_final.pth as fast-reid's Checkpointer writes it) is imported through Runs ▸ Import training folder…
 * (the in-app folder picker) while its trainer is still writing, shows as "external: fast-reid", its dashboard
 * follows the folder (a metrics line landing later appears, under fast-reid's loss_dict names), it is evaluated from its checkpoint (eval.run, as
 * Evaluate on… does; its per-query rank lists are that evaluation record's), and it is compared with a run trained by the app.
 */
let s: Served;
let browser: Browser;
let page: Page;
let local = '';
const FIXTURE = fileURLToPath(new URL('../fixtures/external-runs/fastreid-r18', import.meta.url));
const CKPT_PY = fileURLToPath(new URL('../external/fastreid_checkpoint.py', import.meta.url));

async function call<T>(method: string, payload: unknown): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${s.port}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-reid-token': s.token }, body: JSON.stringify(payload) });
  const j = (await r.json()) as { ok: boolean; result: T; error?: { message: string } };
  if (!j.ok) throw new Error(`${method}: ${j.error?.message}`);
  return j.result;
}

const runs = () => call<RunSummary[]>('runs.list', {});
const metricsLines = () => readFileSync(join(FIXTURE, 'metrics.json'), 'utf8').split('\n').filter(Boolean);

describe('an imported fast-reid run: rank lists and comparison with a local run', () => {
  beforeAll(async () => {
    s = await serve();
    // A local run: resnet18 at 64×32 on the tiny demo dataset, one epoch, trained by the app's training process.
    const doc = buildPreset('resnet18', { input: [64, 32] });
    doc.training = { dataset: { kind: 'demo', demoSize: 'tiny' }, epochs: 1, evalPeriod: 1, batch: { p: 4, k: 4 } };
    local = (await call<{ runId: string }>('train.start', { doc: serializeDocument(doc), data: { kind: 'demo', size: 'tiny' }, name: 'local r18' })).runId;
    while ((await runs()).find((r) => r.id === local)?.status !== 'completed') await new Promise((ok) => setTimeout(ok, 1000));
    cpSync(FIXTURE, join(s.docs, 'fr-output'), { recursive: true });
    // The trainer is still writing: its last metrics line has not landed yet (it arrives in the second test).
    writeFileSync(join(s.docs, 'fr-output', 'metrics.json'), metricsLines().slice(0, 2).join('\n') + '\n');
    execFileSync('/usr/bin/python3', [CKPT_PY, join(s.docs, 'fr-output', 'model_final.pth'), '3', '12', '64', '32', join(s.docs, 'none.json')], { stdio: 'ignore', timeout: 120_000 });
    browser = await launchBrowser();
    page = await openApp(browser, s.url, { width: 1440, height: 900 });
    await page.getByTestId('btn-train').click();
    await page.getByTestId('train-tab-runs').click();
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
    if (s) cleanup(s.home, s.docs);
  });

  it('Runs ▸ Import training folder… makes the folder a run, shown as external with its last change', async () => {
    const before = readdirSync(join(s.docs, 'fr-output')).sort();
    await page.getByTestId('runs-import').click();
    const d = page.getByTestId('file-dialog-pick');
    await expect.poll(() => d.getByTestId('file-dir').inputValue()).not.toBe('');
    await d.getByTestId('file-dir').fill(join(s.docs, 'fr-output'));
    await d.getByTestId('file-dir').press('Enter');
    await expect.poll(() => d.getByTestId('file-dir').inputValue()).toBe(join(s.docs, 'fr-output'));
    await d.getByTestId('file-confirm').click();
    await expect.poll(async () => (await runs()).filter((r) => r.external).length, { timeout: 60_000 }).toBe(1);
    const imported = (await runs()).find((r) => r.external)!;
    expect(imported.external).toMatchObject({ framework: 'fastreid', source: join(s.docs, 'fr-output') });
    const row = page.locator(`tr[data-testid="run-row"][data-run-id="${imported.id}"]`);
    await expect.poll(() => row.getByTestId('run-status').textContent()).toBe('external: fast-reid');
    expect(await row.getByTestId('run-last-changed').textContent()).toMatch(/^changed /);
    expect(readdirSync(join(s.docs, 'fr-output')).sort()).toEqual(before);
  }, 120_000);

  it('the dashboard follows the folder: a metrics line that lands later appears, under fast-reid\'s loss names', async () => {
    const imported = (await runs()).find((r) => r.external)!;
    await page.locator(`[data-run-id="${imported.id}"]`).getByTestId('run-open').click();
    // The run opens on Results (it has the framework's evaluation); then its dashboard.
    await page.getByTestId('results').waitFor();
    await page.getByTestId('train-tab-dashboard').click();
    const loss = page.getByTestId('chart-loss');
    await expect.poll(() => loss.getAttribute('data-points')).toBe('2');
    expect(await text(page, 'train-phase')).toMatch(/^external: fast-reid · changed /);
    expect(await loss.locator('.u-legend').textContent()).toMatch(/total_loss.*loss_cls.*loss_triplet/);
    const file = join(s.docs, 'fr-output', 'metrics.json');
    writeFileSync(file, metricsLines().join('\n') + '\n');
    const later = new Date(Date.now() + 10_000);
    utimesSync(file, later, later);
    await expect.poll(() => loss.getAttribute('data-points'), { timeout: 30_000 }).toBe('3');
  }, 120_000);

  it('its checkpoint evaluates (Evaluate on…) with per-query rank lists; Compare sets it beside the local run', async () => {
    const imported = (await runs()).find((r) => r.external)!;
    await page.getByTestId('train-tab-runs').click();
    const ev = await call<CallOutput<'eval.run'>>('eval.run', { graph: { kind: 'run', runId: imported.id }, data: { kind: 'demo', size: 'tiny' } });
    // The checkpoint's epoch: model_final.pth after 3 epochs (fast-reid's MAX_EPOCH in config.yaml).
    expect(ev).toMatchObject({ savedToRun: true, epoch: 3 });
    // Evaluate on… keeps its own record (#22): its per-query rank lists come from that record's features.
    const q = await call<CallOutput<'runs.queries'>>('runs.queries', { runId: imported.id, evalId: (ev as { evalId?: string }).evalId, offset: 0, limit: 100 });
    expect(q.numQuery).toBe(ev.numQuery);
    expect(Math.abs(q.mAP - ev.mAP)).toBeLessThan(1e-12);
    expect(q.items[0]!.results.length).toBe(10);
    // In Results, that record's "Rank lists" pages its queries (the framework's own evaluation has no features).
    await page.locator(`[data-run-id="${imported.id}"]`).getByTestId('run-open').click();
    await page.getByTestId('train-tab-results').click();
    await page.locator(`[data-eval-id="${(ev as { evalId?: string }).evalId}"]`).getByTestId('eval-record-ranklists').click();
    await expect.poll(() => page.getByTestId('ranklist-gallery').getAttribute('data-total')).toBe(String(q.total));
    expect(await text(page, 'ranklists-of')).toMatch(/of the evaluation on /);
    await page.getByTestId('train-tab-runs').click();
    for (const id of [local, imported.id]) await page.locator(`[data-run-id="${id}"]`).getByTestId('run-compare').check();
    await page.getByTestId('runs-compare').click();
    const table = page.getByTestId('compare-metrics');
    await table.waitFor();
    await expect.poll(() => table.locator(`tr[data-compare-run-id="${imported.id}"]`).getByTestId('compare-epoch').textContent()).toBe('epoch 3');
    expect(await table.locator(`tr[data-compare-run-id="${local}"]`).getByTestId('compare-epoch').textContent()).toBe('epoch 1');
    // What changed between the app's resnet18 and fast-reid's: the stem and the settings (epochs 1 → 3).
    await expect.poll(() => text(page, 'compare-changes')).toMatch(/epochs: 1 → 3/);
  }, 300_000);
});
