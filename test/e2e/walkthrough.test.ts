/**
 * The app as a new user walks through it (issue 22, "The editor and the app"), browser mode in headless
 * Chromium: the Train blocker leads to the graph problem, a second tab is not a crash, menus and dialogs
 * close and stack as expected, and nothing the user did wrong is logged as a console error.
 */
import { join } from 'node:path';
import { parseDocument } from '../../core/index.js';
import { describe, expect, it } from 'vitest';
import type { ConsoleMessage } from 'playwright-core';
import { autosaveSlots, discardRecovery, openApp, openWindow, servedBrowser } from './harness.js';
import { RUN_NAME_MAX } from '../../core/api/training-contract.js';

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
    const { page: first, id: firstId } = await openWindow(context, ctx.s.url);
    await discardRecovery(first); // the first test's page closed with unsaved changes
    await expect.poll(() => autosaveSlots(ctx.s.home).size).toBe(0);
    await first.getByTestId('node-layer4').click();
    await first.keyboard.press('Control+f'); // Freeze: an unsaved change, autosaved
    await expect.poll(() => autosaveSlots(ctx.s.home).has(firstId)).toBe(true);
    /** A page of `c` opens the app, says it is open in another tab and offers no recovery; then closes. */
    const opensWithoutRecovery = async (c: typeof context) => {
      const page = await c.newPage();
      await page.goto(ctx.s.url);
      await page.waitForSelector('[data-testid="app"][data-ready="true"]');
      await expect.poll(() => page.getByTestId('toast').allTextContents()).toContainEqual(expect.stringMatching(/open in another tab/));
      expect(await page.getByTestId('confirm-dialog').count()).toBe(0);
      await page.close();
    };
    await opensWithoutRecovery(context);
    // A tab in another browser profile (a new context: no shared Web Locks, as another browser): the server
    // knows the first tab is still connected, so nothing is offered, and loading leaves its autosave alone.
    const otherProfile = await ctx.browser.newContext({ viewport: { width: 1440, height: 900 } });
    await opensWithoutRecovery(otherProfile);
    await otherProfile.close();
    expect(autosaveSlots(ctx.s.home).has(firstId)).toBe(true);
    await first.close({ runBeforeUnload: false }); // gone with unsaved changes, as a crash
    const third = await context.newPage();
    await third.goto(ctx.s.url);
    await expect.poll(() => third.getByTestId('confirm-dialog').textContent()).toMatch(/Recover unsaved changes/);
    await third.getByTestId('confirm-discard').click();
    await expect.poll(() => autosaveSlots(ctx.s.home).size).toBe(0);
    await context.close();
  });

  it('two tabs with unsaved changes keep their own autosaves: one crashes, a new tab offers only its changes and its Discard leaves the other tab’s', async () => {
    const context = await ctx.browser.newContext({ viewport: { width: 1440, height: 900 } });
    const a = await openWindow(context, ctx.s.url);
    const b = await openWindow(context, ctx.s.url);
    const frozen = (text: string) => parseDocument(text).graph.nodes.filter((n) => n.frozen).map((n) => n.id);
    // Unsaved changes in both tabs: A freezes layer4, B layer3 (before, the later autosave replaced the other's).
    for (const [w, node] of [[a, 'layer4'], [b, 'layer3']] as const) {
      await w.page.getByTestId(`node-${node}`).click();
      await w.page.keyboard.press('Control+f');
    }
    await expect.poll(() => [...autosaveSlots(ctx.s.home).keys()].sort()).toEqual([a.id, b.id].sort());
    await expect.poll(() => frozen(autosaveSlots(ctx.s.home).get(a.id)!.text)).toEqual(['layer4']);
    await expect.poll(() => frozen(autosaveSlots(ctx.s.home).get(b.id)!.text)).toEqual(['layer3']);
    await a.page.close({ runBeforeUnload: false }); // A crashes
    // A new tab (B still open) offers A's changes, not B's; its Discard clears A's slot only.
    const c = await openWindow(context, ctx.s.url);
    await expect.poll(() => c.page.getByTestId('confirm-dialog').textContent()).toMatch(/Recover unsaved changes/);
    await c.page.getByTestId('confirm-discard').click();
    await expect.poll(() => [...autosaveSlots(ctx.s.home).keys()]).toEqual([b.id]);
    expect(frozen(autosaveSlots(ctx.s.home).get(b.id)!.text)).toEqual(['layer3']);
    expect(await c.page.getByTestId('confirm-dialog').count()).toBe(0);
    // B crashes too: the next tab recovers B's changes, which move into that tab's slot.
    await b.page.close({ runBeforeUnload: false });
    const d = await openWindow(context, ctx.s.url);
    await expect.poll(() => d.page.getByTestId('confirm-dialog').textContent()).toMatch(/Recover unsaved changes/);
    await d.page.getByTestId('confirm-recover').click();
    await expect.poll(() => d.page.locator('[data-testid="node-layer3"].frozen, [data-testid="node-layer3"] .frozen').count()).toBeGreaterThan(0);
    await expect.poll(() => [...autosaveSlots(ctx.s.home).keys()]).toEqual([d.id]);
    await context.close();
  });

  it('a user error (a folder that does not exist) is shown in the dialog and logs no console error', async () => {
    const page = await openApp(ctx.browser, ctx.s.url);
    await discardRecovery(page);
    const errors: string[] = [];
    page.on('console', (m: ConsoleMessage) => void (m.type() === 'error' && errors.push(m.text())));
    await page.keyboard.press('Control+o');
    const dir = page.getByTestId('file-dir');
    await dir.fill(join(ctx.s.docs, 'no-such-folder'));
    await dir.press('Enter');
    await expect.poll(() => page.locator('.modal .form-error').textContent()).toMatch(/no-such-folder/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Escape closes a menu-bar drop-down; the run name stops at its limit; Presets from the training view opens in the editor', async () => {
    const page = await openApp(ctx.browser, ctx.s.url);
    await discardRecovery(page);
    await page.getByTestId('menubar-edit').click();
    await expect.poll(() => page.locator('.menu.dropdown').count()).toBe(1);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('.menu.dropdown').count()).toBe(0);
    await page.getByTestId('btn-train').click();
    await expect.poll(() => page.getByTestId('training-close').count()).toBe(1);
    // The run name takes at most the API's limit (tryout finding: 5,000 characters reached the API's raw refusal).
    const runName = page.locator('input[data-testid="run-name"]');
    await runName.fill('x'.repeat(5000));
    expect((await runName.inputValue()).length).toBe(RUN_NAME_MAX);
    await page.getByTestId('btn-presets').click();
    await expect.poll(() => page.getByTestId('preset-gallery').isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('training-close').count()).toBe(0);
    // The gallery fits its dialog: no card or option cut off on the right.
    const cut = await page.getByTestId('preset-gallery').evaluate((d) => {
      const box = d.getBoundingClientRect();
      const clipped = Array.from(d.querySelectorAll<HTMLElement>('button, input, select, label')).filter((e) => e.getBoundingClientRect().right > box.right + 0.5);
      return { scroll: d.scrollWidth > d.clientWidth, clipped: clipped.map((e) => e.textContent?.trim() || e.dataset.testid || e.tagName) };
    });
    expect(cut).toEqual({ scroll: false, clipped: [] });
    await page.close();
  });

  it('with no neck the neck block says so: no "BNNeck" title, no "before / after BN" ports', async () => {
    const page = await openApp(ctx.browser, ctx.s.url);
    await discardRecovery(page);
    const card = page.getByTestId('node-neck');
    await expect.poll(() => card.getByTestId('block-title').textContent()).toBe('Neck (BNNeck)');
    await card.click();
    await page.getByTestId('head-neck').selectOption('no');
    await expect.poll(() => card.getByTestId('block-title').textContent()).toBe('Neck (none)');
    const ports = await card.locator('.port-label.out').allTextContents();
    expect(ports.filter((p) => /BN/.test(p))).toEqual([]);
    await page.close();
  });
});
