import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { parseDocument, RESNET_DEPTHS } from '../../core/index.js';
import { autosaveSlots, cleanup, launchBrowser, openApp, serve, text, type Served } from './harness.js';

/* torchvision resnet18 (11,689,512 parameters) without its fc (512·1000 + 1000) + BNNeck BN(512) + classifier 512·751. */
const R18_TOTAL = 11_689_512 - 513_000 + 2 * 512 + 512 * 751;
const fmt = (n: number) => n.toLocaleString('en-US');

let s: Served;
let browser: Browser;
let page: Page;

async function blur(p: Page = page) {
  await p.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}
const nodeCount = async (p: Page = page) => Number(/^(\d+) blocks/.exec((await p.getByTestId('status-counts').textContent()) ?? '')?.[1]);

describe('editor workflows: composites, clipboard, unsaved changes, crash recovery', () => {
  beforeAll(async () => {
    s = await serve();
    browser = await launchBrowser();
    page = await openApp(browser, s.url, { width: 1600, height: 900 });
    await page.getByTestId('btn-presets').click();
    await page.getByTestId('preset-resnet18').click();
    await page.getByTestId('preset-create').click();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
    cleanup(s.home, s.docs);
  });

  it('a stage expands in place into its blocks and collapses back; the model is unchanged', async () => {
    await expect.poll(() => text(page, 'summary-total')).toBe(fmt(R18_TOTAL));
    const before = await nodeCount();
    await page.getByTestId('expand-layer2').click();
    const blocks = RESNET_DEPTHS.resnet18.layers[1]!;
    await expect.poll(() => nodeCount()).toBe(before - 1 + blocks);
    await expect.poll(() => page.locator('[data-testid="node-layer2/0"]').count()).toBe(1);
    await expect.poll(() => text(page, 'summary-total')).toBe(fmt(R18_TOTAL));
    await page.getByTestId('node-layer2/1').click();
    await page.getByTestId('inspector-collapse').click();
    await expect.poll(() => nodeCount()).toBe(before);
    await expect.poll(() => page.getByTestId('node-layer2').getByTestId('badge-norm').textContent()).toBe('BN');
  });

  it('multi-edits the parameters of nodes of the same kind from the inspector', async () => {
    await page.getByTestId('node-layer1').click();
    await page.getByTestId('node-layer2').click({ modifiers: ['Control'] });
    await page.getByTestId('param-norm').selectOption('in');
    await expect.poll(() => page.getByTestId('node-layer1').getByTestId('badge-norm').textContent()).toBe('IN');
    await expect.poll(() => page.getByTestId('node-layer2').getByTestId('badge-norm').textContent()).toBe('IN');
    await expect.poll(() => text(page, 'summary-in')).toBe('4'); // bn1 of the 2 + 2 basic blocks
    await blur();
    await page.keyboard.press('Control+z');
    await expect.poll(() => text(page, 'summary-in')).toBe('0');
  });

  it('copy, paste, duplicate and delete blocks with the keyboard', async () => {
    const before = await nodeCount();
    await page.getByTestId('node-gap').click();
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await expect.poll(() => nodeCount()).toBe(before + 1);
    await page.keyboard.press('Control+d');
    await expect.poll(() => nodeCount()).toBe(before + 2);
    // Copies arrive unconnected: the problems panel says so.
    await expect.poll(() => page.getByTestId('problem').filter({ hasText: 'is not connected' }).count()).toBe(2);
    await page.keyboard.press('Delete');
    await expect.poll(() => nodeCount()).toBe(before + 1);
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Control+x');
    await expect.poll(() => nodeCount()).toBe(0);
    await page.keyboard.press('Control+v');
    await expect.poll(() => nodeCount()).toBe(before + 1);
  });

  it('palette search filters the block kinds; the shortcuts overlay lists the keys', async () => {
    await page.getByTestId('palette-search').fill('instance');
    await expect.poll(() => page.getByTestId('palette-instance_norm').count()).toBe(1);
    await expect.poll(() => page.getByTestId('palette-conv2d').count()).toBe(0);
    await page.getByTestId('palette-search').fill('');
    await blur();
    await page.keyboard.press('?');
    await expect.poll(() => page.getByTestId('help-overlay').textContent()).toContain('Ctrl+Shift+Z');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('help-overlay').count()).toBe(0);
  });

  it('asks before discarding unsaved changes', async () => {
    await page.getByTestId('btn-presets').click();
    await page.getByTestId('preset-resnet34').click();
    await page.getByTestId('preset-create').click();
    await expect.poll(() => page.getByTestId('confirm-dialog').textContent()).toContain('unsaved changes');
    await page.getByTestId('confirm-cancel').click();
    await expect.poll(() => page.getByTestId('confirm-dialog').count()).toBe(0);
  });

  it('recovers the last unsaved state after the app was closed without saving', async () => {
    // With the backbone frozen only the BNNeck's γ (512; β is frozen anyway) and the classifier 512·751 train.
    const frozen = fmt(512 + 512 * 751);
    await expect.poll(() => text(page, 'summary-trainable')).not.toBe(frozen);
    await page.getByTestId('node-layer1').click({ button: 'right' });
    await page.getByTestId('menu-model.freezeBackbone').click();
    await expect.poll(() => text(page, 'summary-trainable')).toBe(frozen);
    // Wait for the (debounced) autosave of this very edit: an older autosave may already exist.
    const layer1Frozen = () => [...autosaveSlots(s.home).values()].some((r) => parseDocument(r.text).graph.nodes.find((n) => n.id === 'layer1')?.frozen === true);
    await expect.poll(layer1Frozen).toBe(true);
    await page.close(); // no save: like a crash or a closed tab
    const again = await openApp(browser, s.url);
    await expect.poll(() => again.getByTestId('confirm-dialog').textContent()).toContain('unsaved changes');
    await again.getByTestId('confirm-recover').click();
    await expect.poll(() => again.getByTestId('summary-trainable').textContent()).toBe(frozen);
    await expect.poll(() => again.getByTestId('doc-title').textContent()).toContain('•');
    await again.close();
  });
});
