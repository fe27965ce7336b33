import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildPreset, parseDocument, serializeDocument } from '../../core/index.js';
import { cleanup, launchBrowser, openApp, serve, text, type Served } from './harness.js';

/*
 * Outside references (torchvision resnet.py / reid-strong-baseline baseline.py, 751 Market-1501 ids):
 * torchvision resnet50 has 25,557,032 parameters, of which the fc layer is 2048·1000 + 1000 = 2,049,000,
 * so the backbone is 23,508,032. BNNeck adds BatchNorm1d(2048) (2·2048, shift frozen) and a bias-free
 * classifier 2048·751; without a neck the classifier has a bias. IBN-a (Pan et al. 2018) keeps the
 * parameter count: half the channels use IN with affine, half BN, 13 of them in layer1–3 (3 + 4 + 6).
 */
const BACKBONE = 25_557_032 - (2048 * 1000 + 1000);
const BNNECK_TOTAL = BACKBONE + 2 * 2048 + 2048 * 751; // 25,050,176
const BNNECK_TRAINABLE = BNNECK_TOTAL - 2048; // β of the BNNeck is frozen: 25,048,128
const FROZEN_BACKBONE_TRAINABLE = 2048 + 2048 * 751; // γ of BNNeck + classifier: 1,540,096
const NO_NECK_TOTAL = BACKBONE + 2048 * 751 + 751; // 25,046,831
const fmt = (n: number) => n.toLocaleString('en-US');

let s: Served;
let browser: Browser;
let page: Page;

async function blur() {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}

async function center(testId: string) {
  const box = await page.getByTestId(testId).boundingBox();
  if (!box) throw new Error(`${testId} is not visible`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Drags a connection from one handle to another (the first move only starts the drag). */
async function connectHandles(from: string, to: string) {
  const a = await center(from);
  const b = await center(to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(a.x + 5, a.y + 5, { steps: 2 });
  await page.mouse.move(b.x, b.y, { steps: 12 });
  await page.mouse.up();
}

async function newFromPreset(name: string) {
  await page.getByTestId('btn-presets').click();
  await page.getByTestId(`preset-${name}`).click();
  await page.getByTestId('preset-create').click();
  await expect.poll(() => page.getByTestId('preset-gallery').count()).toBe(0);
}

async function contextMenu(nodeId: string, action: string) {
  await page.getByTestId(`node-${nodeId}`).click({ button: 'right' });
  await page.getByTestId(`menu-${action}`).click();
}

const norm = (id: string) => text(page, `node-${id}`).then(() => page.getByTestId(`node-${id}`).getByTestId('badge-norm').textContent());

describe('editor in browser mode (headless Chromium)', () => {
  beforeAll(async () => {
    s = await serve();
    browser = await launchBrowser();
    page = await openApp(browser, s.url, { width: 1600, height: 900 });
  });
  afterAll(async () => {
    await browser?.close();
    const code = await s?.stop();
    cleanup(s.home, s.docs);
    expect(code).toBe(0); // Ctrl-C (SIGINT) stops the server cleanly
  });

  it('first launch shows the resnet50_ibn_a Baseline, and the URL token is removed from the address bar', async () => {
    await expect.poll(() => text(page, 'summary-total')).toBe(fmt(BNNECK_TOTAL));
    await expect.poll(() => text(page, 'summary-ibn')).toBe('13');
    expect(page.url()).not.toContain('token=');
  });

  it('builds resnet50_ibn_a from the preset gallery', async () => {
    await newFromPreset('resnet50_ibn_a');
    await expect.poll(() => text(page, 'summary-total')).toBe(fmt(BNNECK_TOTAL));
    await expect.poll(() => text(page, 'summary-trainable')).toBe(fmt(BNNECK_TRAINABLE));
    await expect.poll(() => text(page, 'summary-feature-dim')).toBe('2048');
    await expect.poll(() => text(page, 'summary-feature-map')).toBe('16×8×2048'); // 256×128 input, last stride 1
    await expect.poll(() => norm('layer3')).toBe('IBN-a');
    await expect.poll(() => norm('layer4')).toBe('BN');
  });

  it('turns a plain resnet50 into IBN-a from the selection menu: 13 IBN-a layers, same parameter count', async () => {
    await newFromPreset('resnet50');
    await expect.poll(() => text(page, 'summary-ibn')).toBe('0');
    await expect.poll(() => norm('layer1')).toBe('BN');
    await blur();
    await page.keyboard.press('Control+a');
    await contextMenu('layer2', 'model.ibnPlacement');
    await expect.poll(() => text(page, 'summary-ibn')).toBe('13');
    for (const id of ['layer1', 'layer2', 'layer3']) await expect.poll(() => norm(id)).toBe('IBN-a');
    await expect.poll(() => norm('layer4')).toBe('BN');
    await expect.poll(() => text(page, 'summary-total')).toBe(fmt(BNNECK_TOTAL));
    // Readable, not just present: the badge text is white on the IBN-a colour, visible on screen.
    const badge = page.getByTestId('node-layer1').getByTestId('badge-norm');
    await expect.poll(() => badge.isVisible()).toBe(true);
    const { color, background } = await badge.evaluate((el) => ({ color: getComputedStyle(el).color, background: getComputedStyle(el).backgroundColor }));
    expect(color).toBe('rgb(255, 255, 255)');
    expect(background).not.toBe(color);
  });

  it('freezes the backbone: trainable parameters drop to 1,540,096', async () => {
    await contextMenu('layer1', 'model.freezeBackbone');
    await expect.poll(() => text(page, 'summary-trainable')).toBe(fmt(FROZEN_BACKBONE_TRAINABLE));
    await expect.poll(() => page.getByTestId('node-layer1').getByTestId('badge-frozen').count()).toBe(1);
    await expect.poll(() => page.getByTestId('node-classifier').getByTestId('badge-frozen').count()).toBe(0);
  });

  it('switching the neck to none changes the count (classifier gains a bias, BNNeck goes)', async () => {
    await page.getByTestId('head-neck').selectOption('no');
    await expect.poll(() => text(page, 'summary-total')).toBe(fmt(NO_NECK_TOTAL));
    await expect.poll(() => text(page, 'summary-trainable')).toBe(fmt(2048 * 751 + 751));
  });

  it('refuses a cycle with the reason, and shows the diagnostic of a wrong connection on the node', async () => {
    await connectHandles('out-neck-after', 'in-layer1-in');
    await expect.poll(() => page.getByTestId('toast').allTextContents()).toContainEqual(expect.stringContaining('would create a cycle'));
    await expect.poll(() => text(page, 'problems-count')).toBe('0 errors, 0 warnings');

    // Drag a Conv 2D from the palette onto the canvas (HTML5 drag and drop).
    const canvas = await page.getByTestId('canvas').boundingBox();
    const gap = await center('node-gap');
    await page.getByTestId('palette-conv2d').dragTo(page.getByTestId('canvas'), { targetPosition: { x: gap.x - canvas!.x, y: Math.max(40, gap.y - canvas!.y - 220) } });
    await expect.poll(() => page.locator('[data-testid^="node-conv2d"]').count()).toBe(1);
    // A vector (the pooled feature) into a convolution: structurally allowed, wrong in shape.
    await connectHandles('out-gap-out', 'in-conv2d-in');
    const conv = page.getByTestId('node-conv2d');
    await expect.poll(() => conv.getAttribute('data-state')).toBe('error');
    await expect.poll(() => conv.getByTestId('node-error').textContent()).toMatch(/conv2d/i);
    // The convolution feeds no output yet: it is not part of the model, whose counts stand (the error is listed).
    await expect.poll(() => text(page, 'summary-total')).toBe(fmt(NO_NECK_TOTAL));
    expect(await page.getByTestId('summary-partial').count()).toBe(0);
    // Wired into the model's path, its weights (and everything after it) cannot be counted: the summary does not
    // show a total without them as if it were the model's, it shows "–" and says which blocks are missing.
    await connectHandles('out-conv2d-out', 'in-neck-in');
    await expect.poll(() => text(page, 'summary-total')).toBe('–');
    expect(await text(page, 'summary-partial')).toMatch(/\d+ blocks? (is|are) not analysed/);
    const problem = page.getByTestId('problem').filter({ hasText: 'conv2d' }).first();
    await expect.poll(() => problem.getAttribute('data-code')).toMatch(/^E_/);
    await problem.click();
    await expect.poll(() => page.getByTestId('status-counts').textContent()).toContain('1 selected');
  });

  it('undoes everything back to the start (the plain resnet50 preset)', async () => {
    await blur();
    for (let i = 0; i < 40 && (await page.getByTestId('btn-undo').isEnabled()); i++) await page.keyboard.press('Control+z');
    await expect.poll(() => page.getByTestId('btn-undo').isEnabled()).toBe(false);
    await expect.poll(() => text(page, 'summary-total')).toBe(fmt(BNNECK_TOTAL));
    await expect.poll(() => text(page, 'summary-trainable')).toBe(fmt(BNNECK_TRAINABLE));
    await expect.poll(() => text(page, 'summary-ibn')).toBe('0');
    await expect.poll(() => page.locator('[data-testid^="node-conv2d"]').count()).toBe(0);
    // Redo works too, then undo again.
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => text(page, 'summary-ibn')).toBe('13');
    await page.keyboard.press('Control+z');
  });

  it('saves, reopens on the next launch, and gets the same document', async () => {
    await page.keyboard.press('Control+Shift+s');
    await page.getByTestId('file-name').fill('plain-r50.json');
    await page.getByTestId('file-confirm').click();
    const file = join(s.docs, 'plain-r50.json');
    await expect.poll(() => existsSync(file)).toBe(true);
    await expect.poll(() => text(page, 'doc-title')).toBe('plain-r50.json'); // the reply lands after the rename
    const saved = readFileSync(file, 'utf8');
    // The start state is exactly the resnet50 preset: same nodes, edges, params and positions.
    expect(saved).toBe(serializeDocument(buildPreset('resnet50')));

    // A later launch reopens the last document.
    const again = await openApp(browser, s.url);
    await expect.poll(() => again.getByTestId('doc-title').textContent()).toBe('plain-r50.json');
    await expect.poll(() => again.getByTestId('summary-ibn').textContent()).toBe('0');
    await again.keyboard.press('Control+Shift+s');
    await again.getByTestId('file-name').fill('copy.json');
    await again.getByTestId('file-confirm').click();
    const copy = join(s.docs, 'copy.json');
    await expect.poll(() => existsSync(copy)).toBe(true);
    expect(readFileSync(copy, 'utf8')).toBe(saved);
    expect(parseDocument(readFileSync(copy, 'utf8'))).toEqual(parseDocument(saved));
    await again.close();
  });

  it('raised no uncaught errors in the page', () => {
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
  });
});
