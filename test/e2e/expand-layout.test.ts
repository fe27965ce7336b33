/**
 * Expanding and collapsing keep the editor readable (issue 22): the graph stays in rows (not one long row),
 * and after expand, collapse, undo, redo, Auto-layout and Fit view the block titles in view are at least
 * 11 px on screen, measured as the first view is (readable.test.ts). A 1440×900 window, headless Chromium.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { discardRecovery, openApp, servedBrowser, titleSizes } from './harness.js';

const ctx = servedBrowser();

/** Waits for `total` cards, then for every title in view to be ≥ 11 px and at least `inView` of them. */
async function readable(page: Page, total: number, inView: number) {
  await expect.poll(async () => (await titleSizes(page)).total).toBe(total);
  await expect.poll(async () => (await titleSizes(page)).inView, { message: 'cards in view' }).toBeGreaterThanOrEqual(inView);
  await expect.poll(async () => Math.min(...(await titleSizes(page)).px), { message: 'smallest title in view (px)' }).toBeGreaterThanOrEqual(11);
}

describe('expand / collapse keep readable rows', () => {
  it('a stage expanded, laid out, fitted, collapsed, undone and redone: every card in view at ≥ 11 px', async () => {
    const page = await openApp(ctx.browser, ctx.s.url, { width: 1440, height: 900 });
    await readable(page, 10, 10);
    // ResNet-50 layer1 → its 3 bottlenecks: 12 cards, all of them readable at once.
    await page.getByTestId('expand-layer1').click();
    await readable(page, 12, 12);
    await page.keyboard.press('f'); // Fit view
    await readable(page, 12, 12);
    await page.keyboard.press('l'); // Auto-layout keeps the rows
    await readable(page, 12, 12);
    await page.getByTestId('node-layer1/1').click();
    await page.getByTestId('inspector-collapse').click();
    await readable(page, 10, 10);
    await page.keyboard.press('Control+z'); // back to the expanded stage
    await readable(page, 12, 12);
    await page.keyboard.press('Control+z'); // before Auto-layout
    await readable(page, 12, 12);
    await page.keyboard.press('Control+z'); // back to the first view
    await readable(page, 10, 10);
    await page.keyboard.press('Control+Shift+z');
    await readable(page, 12, 12);
    await page.close();
  });

  it('a deeper stage (layer3, 6 blocks) and a block expanded into its layers stay readable and in view', async () => {
    const page = await openApp(ctx.browser, ctx.s.url, { width: 1440, height: 900 });
    await discardRecovery(page); // the first test's page closed with unsaved changes
    await page.getByTestId('expand-layer3').click();
    await readable(page, 15, 15);
    await page.keyboard.press('f');
    await readable(page, 15, 15);
    // One bottleneck into its layers (conv/bn/relu ×3, the downsample conv + bn, the add, the last ReLU):
    // too many for one screen at a readable size, so the view shows the new layers readable.
    await page.getByTestId('expand-layer3/0').click();
    await expect.poll(async () => (await titleSizes(page)).total).toBe(15 - 1 + 12);
    await readable(page, 26, 8);
    await expect.poll(() => page.getByTestId('node-layer3/0/conv1').isVisible()).toBe(true);
    await page.screenshot({ path: '/tmp/tu/l3.png' });
    await page.keyboard.press('Control+z');
    await readable(page, 15, 15);
    await page.close();
  });
});
