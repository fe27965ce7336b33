/**
 * The app as a new user walks through it (issue 22, "The editor and the app"), browser mode in headless
 * Chromium: the Train blocker leads to the graph problem, a second tab is not a crash, menus and dialogs
 * close and stack as expected, and nothing the user did wrong is logged as a console error.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discardRecovery, openApp, servedBrowser } from './harness.js';

const ctx = servedBrowser();

describe('a walkthrough of the app', () => {
  it('the Train blocker names the graph error and its link shows the block in the editor, Problems open', async () => {
    const page = await openApp(ctx.browser, ctx.s.url);
    await page.getByTestId('node-gap').click();
    await page.keyboard.press('Delete'); // the neck loses its input
    await expect.poll(() => page.getByTestId('problems-count').textContent()).toMatch(/^[1-9]\d* errors?/);
    const first = (await page.getByTestId('problem').first().locator('span').last().textContent())!;
    await page.getByTestId('btn-train').click();
    const blocker = page.getByTestId('train-problems').getByTestId('train-problem-error').first();
    await expect.poll(() => blocker.textContent()).toContain(first);
    await blocker.getByTestId('train-problem-show').click();
    await expect.poll(() => page.getByTestId('training-close').count()).toBe(0); // back in the editor
    await expect.poll(() => page.getByTestId('problem').first().isVisible()).toBe(true);
    await expect.poll(() => page.locator('.react-flow__node.selected').getAttribute('data-id')).toBe('neck');
    await page.close();
  });

  it('a second tab of a live app is not a crash: no recovery offered; once the first tab is gone, it is', async () => {
    const context = await ctx.browser.newContext({ viewport: { width: 1440, height: 900 } });
    const first = await context.newPage();
    await first.goto(ctx.s.url);
    await first.waitForSelector('[data-testid="app"][data-ready="true"]');
    await discardRecovery(first); // the first test's page closed with unsaved changes
    await expect.poll(() => existsSync(join(ctx.s.home, 'autosave.json'))).toBe(false);
    await first.getByTestId('node-layer4').click();
    await first.keyboard.press('Control+f'); // Freeze: an unsaved change, autosaved
    await expect.poll(() => existsSync(join(ctx.s.home, 'autosave.json'))).toBe(true);
    const second = await context.newPage();
    await second.goto(ctx.s.url);
    await second.waitForSelector('[data-testid="app"][data-ready="true"]');
    await expect.poll(() => second.getByTestId('toast').allTextContents()).toContainEqual(expect.stringMatching(/open in another tab/));
    expect(await second.getByTestId('confirm-dialog').count()).toBe(0);
    await second.close();
    await first.close({ runBeforeUnload: false }); // gone with unsaved changes, as a crash
    const third = await context.newPage();
    await third.goto(ctx.s.url);
    await expect.poll(() => third.getByTestId('confirm-dialog').textContent()).toMatch(/Recover unsaved changes/);
    await context.close();
  });
});
