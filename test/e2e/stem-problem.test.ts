/**
 * #22: the stem follows the IBN-a placement as reid-strong-baseline's MODEL.NAME does, and a stem no
 * framework pairs with its stages shows in the Problems panel the moment the graph stops matching, with the
 * "Convert the stem" fix (core/graph/stem.ts, core/commands/stem.ts; features against RSB's own code in
 * test/parity/ibn-trick.test.ts). Browser mode, headless Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openApp, servedBrowser } from './harness.js';

const ctx = servedBrowser();
let page: Page;
beforeAll(async () => {
  page = await openApp(ctx.browser, ctx.s.url, { width: 1600, height: 900 });
});
afterAll(async () => {
  await page?.close();
});

const stemProblems = () => page.locator('[data-testid="problem"][data-code="W_STEM_MISMATCH"]').count();

async function newFromPreset(name: string) {
  await page.getByTestId('btn-presets').click();
  await page.getByTestId(`preset-${name}`).click();
  await page.getByTestId('preset-create').click();
  await expect.poll(() => page.getByTestId('preset-gallery').count()).toBe(0);
}

describe('the stem in the editor', () => {
  it("the paper IBN-a placement on RSB's resnet50 adds the stem ReLU (resnet_ibn_a.py); nothing is flagged", async () => {
    await newFromPreset('resnet50');
    await page.getByTestId('node-stem').click();
    await expect.poll(() => page.getByTestId('param-relu').isChecked()).toBe(false);
    await page.getByTestId('node-layer2').click({ button: 'right' });
    await page.getByTestId('menu-model.ibnPlacement').click();
    await page.getByTestId('node-stem').click();
    await expect.poll(() => page.getByTestId('param-relu').isChecked()).toBe(true);
    expect(await stemProblems()).toBe(0);
  });

  it('removing that ReLU by hand is flagged in Problems at once; Convert the stem puts it back', async () => {
    await page.getByTestId('param-relu').uncheck();
    await expect.poll(stemProblems).toBe(1);
    const problem = page.locator('[data-testid="problem"][data-code="W_STEM_MISMATCH"]');
    await expect.poll(() => problem.textContent()).toMatch(/no ReLU after bn1.*IBN-a.*Convert the stem/);
    await problem.getByTestId('problem-fix-stem').click();
    await expect.poll(stemProblems).toBe(0);
    await page.getByTestId('node-stem').click();
    await expect.poll(() => page.getByTestId('param-relu').isChecked()).toBe(true);
  });
});
