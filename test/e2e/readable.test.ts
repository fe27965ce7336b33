/**
 * The editor a person can read and trust (browser mode, headless Chromium): the first view's block titles
 * are at least 11 px on screen, the inspector stays reachable on a short window, a refused parameter value
 * does not stay in its field, the eval-feature choice follows the neck, Escape closes a dialog from its
 * text field, and frozen weights with live BN statistics are visible on the node.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { cleanup, launchBrowser, openApp, serve, titleSizes, type Served } from './harness.js';

let s: Served;
let browser: Browser;

describe('a readable, honest editor', () => {
  beforeAll(async () => {
    s = await serve();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
    cleanup(s.home, s.docs);
  });

  it('opens the Baseline readable on a 1440×900 window: every title ≥ 11 px, the whole backbone in view', async () => {
    const page = await openApp(browser, s.url, { width: 1440, height: 900 });
    await expect.poll(async () => (await titleSizes(page)).total).toBe(10);
    const t = await titleSizes(page);
    expect(t.inView).toBe(10);
    expect(Math.min(...t.px)).toBeGreaterThanOrEqual(11);
    // New from preset opens the same way.
    await page.getByTestId('btn-presets').click();
    await page.getByTestId('preset-resnet101').click();
    await page.getByTestId('preset-create').click();
    await expect.poll(() => page.getByTestId('preset-gallery').count()).toBe(0);
    await expect.poll(async () => Math.min(...(await titleSizes(page)).px)).toBeGreaterThanOrEqual(11);
    await page.close();
  });

  it('at 1024×700 the inspector scrolls on its own: a stage\'s last control is reachable and not covered', async () => {
    const page = await openApp(browser, s.url, { width: 1024, height: 700 });
    await page.getByTestId('node-layer3').click();
    const inspector = page.getByTestId('inspector');
    const last = inspector.locator('button, select, input').last();
    await last.scrollIntoViewIfNeeded();
    await expect.poll(() => last.isVisible()).toBe(true);
    const covered = await last.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return !(hit && (hit === el || el.contains(hit)));
    });
    expect(covered).toBe(false);
    await page.close();
  });

  it('a refused value (stride 0) is reverted in its field with the reason', async () => {
    const page = await openApp(browser, s.url);
    await page.getByTestId('node-layer2').click();
    const stride = page.getByTestId('param-stride');
    await stride.fill('0');
    await stride.press('Enter');
    await expect.poll(() => stride.inputValue()).toBe('2');
    await expect.poll(() => page.getByTestId('param-stride-problem').textContent()).toMatch(/at least 1/);
    await page.close();
  });

  it('with no neck the eval feature is the pooled one: before / after BN is not offered', async () => {
    const page = await openApp(browser, s.url);
    await page.getByTestId('node-neck').click();
    const feat = page.getByTestId('head-neck-feat');
    await expect.poll(() => feat.locator('option').allTextContents()).toEqual(['after BNNeck BN', 'before BNNeck BN']);
    await page.getByTestId('head-neck').selectOption('no');
    await expect.poll(() => feat.isDisabled()).toBe(true);
    await expect.poll(() => feat.locator('option').allTextContents()).toEqual(['pooled feature (no neck)']);
    await page.keyboard.press('Control+z');
    await page.close();
  });

  it('Escape closes a dialog from inside its text field', async () => {
    const page = await openApp(browser, s.url);
    await page.keyboard.press('Control+Shift+s');
    const field = page.locator('.modal input[type="text"], .modal input:not([type])').first();
    await expect.poll(() => field.count()).toBe(1);
    await field.focus();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('.modal').count()).toBe(0);
    await page.close();
  });

  it('frozen weights with BN statistics still updating show both on the node', async () => {
    const page = await openApp(browser, s.url);
    await page.getByTestId('node-layer1').click({ button: 'right' });
    await page.getByTestId('menu-model.freezeBackbone').click();
    const card = page.getByTestId('node-layer1');
    await expect.poll(() => card.getByTestId('badge-frozen').count()).toBe(1);
    await expect.poll(() => card.getByTestId('badge-stats-live').count()).toBe(0); // frozen weights, frozen statistics
    await card.click({ button: 'right' });
    await page.getByTestId('menu-model.statsOff').click();
    await expect.poll(() => card.getByTestId('badge-stats-live').count()).toBe(1);
    await expect.poll(() => card.getByTestId('badge-frozen').count()).toBe(1);
    await expect.poll(() => card.getByTestId('badge-stats-live').getAttribute('title')).toMatch(/weights frozen, BN statistics still update/);
    await page.close();
  });

  it('backends that cannot load are disabled in the training menu, with the reason the CLI reports', async () => {
    const cli = JSON.parse(execFileSync(process.execPath, ['bin/reid-studio.js', 'backend', '--json'], { encoding: 'utf8', env: { ...process.env, REID_STUDIO_HOME: s.home } })) as { backend: string; attempts: { name: string; status: string; message?: string }[]; onnxruntime: { available: boolean; message?: string } };
    const page = await openApp(browser, s.url);
    await page.getByTestId('btn-train').click();
    const select = page.getByTestId('set-backend');
    await expect.poll(() => select.locator('option').first().textContent()).toBe(`auto (${cli.onnxruntime.available ? 'onnxruntime' : cli.backend})`);
    for (const a of cli.attempts) {
      const option = page.getByTestId(`backend-${a.name}`);
      const broken = a.status === 'not-installed' || a.status === 'failed';
      await expect.poll(() => option.isDisabled(), { message: a.name }).toBe(broken);
      if (broken) await expect.poll(() => option.getAttribute('title')).toBe(a.message ?? a.status);
    }
    await expect.poll(() => page.getByTestId('backend-onnxruntime').isDisabled()).toBe(!cli.onnxruntime.available);
    await page.close();
  });
});
