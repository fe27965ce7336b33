import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, ConsoleMessage } from 'playwright-core';
import { cleanup, launchBrowser, serve, type Served } from './harness.js';

/**
 * A clean console: loading the editor and opening the training view logs no error and throws nothing —
 * no Content-Security-Policy report (a library probing `new Function` / `eval`), no 404 (the favicon),
 * no uncaught exception. Messages are collected from the first byte, before the app is ready.
 */
let s: Served;
let browser: Browser;

describe('the editor and the training view load without a console error', () => {
  beforeAll(async () => {
    s = await serve();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
    cleanup(s.home, s.docs);
  });

  it('collects console errors and page errors from load to the training view: none', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    await page.goto(s.url);
    await page.getByTestId('app').and(page.locator('[data-ready="true"]')).waitFor();
    // A document on the canvas, then the training view with its data probe and settings.
    await page.getByTestId('btn-presets').click();
    await page.getByTestId('preset-resnet18').click();
    await page.getByTestId('preset-input').fill('64x32');
    await page.getByTestId('preset-create').click();
    await page.getByTestId('btn-train').click();
    await page.getByTestId('train-start').waitFor();
    await page.getByTestId('train-tab-runs').click();
    await page.getByTestId('train-tab-setup').click();
    await page.getByTestId('train-start').waitFor();
    // Let late reports (CSP violations, the favicon request) arrive: wait on the network, not a clock.
    await page.waitForLoadState('networkidle');
    expect(errors).toEqual([]);
    // The favicon is linked and served (Chromium fetches it after load; fetch it explicitly too).
    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    expect(icon).toBeTruthy();
    const res = await page.request.get(new URL(icon!, page.url()).href);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toMatch(/^image\//);
  });
});
