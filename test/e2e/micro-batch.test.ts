/**
 * The micro-batch is a training setting of the app, not only a CLI flag: set in the training settings
 * (undoable like every settings edit, refused when not a whole number), saved in the document's training
 * block, and used by the training process, whose plan on the dashboard says so. Browser mode, the real
 * server and training process, Debian's Chromium; resnet18 at 64×32 on the tiny demo dataset.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { cleanup, launchBrowser, openApp, serve, text, type Served } from './harness.js';

let s: Served;
let browser: Browser;
let page: Page;

async function setField(testId: string, value: string) {
  await page.getByTestId(testId).fill(value);
  await page.getByTestId(testId).press('Enter');
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}
const value = () => page.getByTestId('set-micro-batch').inputValue();

describe('micro-batch in the training settings', () => {
  beforeAll(async () => {
    s = await serve();
    browser = await launchBrowser();
    page = await openApp(browser, s.url);
    await page.getByTestId('btn-presets').click();
    await page.getByTestId('preset-resnet18').click();
    await page.getByTestId('preset-input').fill('64x32');
    await page.getByTestId('preset-create').click();
    await page.getByTestId('btn-train').click();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
    cleanup(s.home, s.docs);
  });

  it('is set, refused when invalid, undone, and trains with the value set', async () => {
    await page.getByTestId('dataset-kind').selectOption('demo:tiny');
    await setField('set-p', '4');
    await setField('set-k', '4');
    await expect.poll(value).toBe('auto');
    // Not a whole number from 1 to 4096: marked invalid and not committed.
    await page.getByTestId('set-micro-batch').fill('0');
    await expect.poll(() => page.getByTestId('set-micro-batch').getAttribute('class')).toContain('invalid');
    await setField('set-micro-batch', '0');
    await expect.poll(value).toBe('auto');
    await setField('set-micro-batch', '5');
    await expect.poll(value).toBe('5');
    await page.keyboard.press('Control+z');
    await expect.poll(value).toBe('auto');
    await setField('set-micro-batch', '5');
    await expect.poll(value).toBe('5');

    console.log('[e2e micro-batch] set, refused, undone; training');
    await page.getByTestId('run-name').fill('micro-batch 5');
    await page.getByTestId('train-start').click();
    await page.getByTestId('backend-badge').waitFor({ timeout: 120_000 });
    await expect.poll(() => text(page, 'microbatch-plan'), { timeout: 60_000 }).toBe('micro-batches: set by the user (5)');
    // The run folder's settings (written by the training process) hold it.
    const runs = join(s.home, 'runs');
    const settings = JSON.parse(readFileSync(join(runs, readdirSync(runs)[0]!, 'settings.json'), 'utf8'));
    expect(settings.microBatch).toBe(5);
    // Steps run with it (a one-image tail micro-batch once made BNNeck's BatchNorm refuse the step).
    await expect.poll(async () => Number(await page.getByTestId('chart-loss').getAttribute('data-points')), { timeout: 180_000 }).toBeGreaterThanOrEqual(2);
    await page.getByTestId('train-stop').click();
    await expect.poll(() => page.getByTestId('dashboard').getAttribute('data-phase'), { timeout: 120_000 }).toMatch(/^(stopped|completed)$/);
  }, 600_000);
});
