/**
 * Regenerates the editor screenshots under docs/screenshots (shown in README.md):
 * `npx tsx scripts/screenshots.ts` (after `npm run build`). Drives the real app in headless Chromium
 * against browser mode with a temporary data dir.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { applyCommand, buildPreset, expandNode, serializeDocument } from '../core/index.js';
import { cleanup, launchBrowser, openApp, serve } from '../test/e2e/harness.js';

const out = 'docs/screenshots';
const s = await serve();
const browser = await launchBrowser();

async function preset(page: Page, name: string) {
  await page.getByTestId('btn-presets').click();
  await page.getByTestId(`preset-${name}`).click();
  await page.getByTestId('preset-create').click();
  await page.waitForTimeout(400);
}
const shot = (page: Page, name: string) => page.screenshot({ path: join(out, name) });

try {
  for (const scheme of ['light', 'dark'] as const) {
    const page = await openApp(browser, s.url, { width: 1680, height: 960 }, scheme);
    await page.waitForTimeout(500);
    await page.getByTestId('node-layer3').click();
    await shot(page, `editor-${scheme}.png`);
    await page.close();
  }

  const page = await openApp(browser, s.url, { width: 1680, height: 960 });
  await preset(page, 'resnet50');
  await page.keyboard.press('Control+a');
  await page.getByTestId('node-layer2').click({ button: 'right' });
  await shot(page, 'context-menu.png');
  await page.getByTestId('menu-model.ibnPlacement').click();
  await page.getByTestId('node-layer1').click({ button: 'right' });
  await page.getByTestId('menu-model.freezeBackbone').click();
  const pane = (await page.getByTestId('canvas').boundingBox())!;
  await page.mouse.click(pane.x + 40, pane.y + 40); // empty canvas: clear the selection
  await page.getByTestId('node-layer4').click();
  await page.getByTestId('node-stem').click({ modifiers: ['Shift'] });
  await page.keyboard.press('Shift+F');
  await page.waitForTimeout(500);
  await shot(page, 'ibn-a-frozen-backbone.png');

  await page.getByTestId('btn-presets').click();
  await page.getByTestId('preset-resnet101_ibn_a').click();
  await shot(page, 'preset-gallery.png');
  await page.getByTestId('preset-create').click();
  await page.getByTestId('confirm-discard').click();
  await page.waitForTimeout(300);
  // A wrong connection: the pooled vector into a convolution.
  const canvas = (await page.getByTestId('canvas').boundingBox())!;
  const gap = (await page.getByTestId('node-gap').boundingBox())!;
  await page.getByTestId('palette-conv2d').dragTo(page.getByTestId('canvas'), { targetPosition: { x: gap.x - canvas.x, y: Math.max(40, gap.y - canvas.y - 200) } });
  await page.waitForTimeout(200);
  const center = async (id: string) => {
    const b = (await page.getByTestId(id).boundingBox())!;
    return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  };
  const from = await center('out-gap-out');
  const to = await center('in-conv2d-in');
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(from.x + 5, from.y + 5, { steps: 2 });
  await page.mouse.move(to.x, to.y, { steps: 12 });
  await page.mouse.up();
  await page.waitForTimeout(200);
  await page.getByTestId('problem').filter({ hasText: 'conv2d' }).first().click();
  await page.waitForTimeout(500);
  await page.locator('.react-flow__controls-zoomout').click();
  await page.locator('.react-flow__controls-zoomout').click();
  await page.waitForTimeout(300);
  await shot(page, 'diagnostics.png');

  await preset(page, 'resnet50_ibn_a');
  await page.getByTestId('confirm-discard').click().catch(() => undefined);
  await page.waitForTimeout(300);
  await page.getByTestId('expand-layer1').click();
  await page.waitForTimeout(600);
  await page.evaluate(() => window.dispatchEvent(new Event('reid:fit')));
  await page.waitForTimeout(400);
  await page.getByTestId('node-layer1/0').click();
  await page.getByTestId('node-layer1/2').click({ modifiers: ['Shift'] });
  await page.getByTestId('node-stem').click({ modifiers: ['Shift'] });
  await page.keyboard.press('Shift+F');
  await page.waitForTimeout(500);
  await page.getByTestId('node-layer1/0').click();
  await shot(page, 'stage-expanded.png');

  // A fully expanded ResNet-152 (516 blocks) opened from a file.
  let doc = buildPreset('resnet152');
  for (const id of ['stem', 'layer1', 'layer2', 'layer3', 'layer4']) doc = applyCommand(doc, expandNode(id));
  const file = join(s.docs, 'resnet152-expanded.json');
  writeFileSync(file, serializeDocument(doc));
  await page.keyboard.press('Control+o');
  await page.getByTestId('confirm-discard').click().catch(() => undefined);
  await page.waitForFunction(() => (document.querySelector('[data-testid="file-dir"]') as HTMLInputElement | null)?.value);
  await page.getByTestId('file-dir').fill(file);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(800);
  await page.keyboard.press('l');
  await page.waitForTimeout(1500);
  await page.keyboard.press('f');
  await page.waitForTimeout(600);
  await shot(page, 'resnet152-stages-expanded.png');
  await page.keyboard.press('?');
  await shot(page, 'shortcuts.png');
  await page.close();
} finally {
  await browser.close();
  await s.stop();
  cleanup(s.home, s.docs);
}
