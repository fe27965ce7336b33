/**
 * The editor shows what will really run (browser mode, headless Chromium): residual shortcuts are drawn
 * around the layer cards they bypass (not under them); the classifier is shown at the size training gives
 * it (one output per training identity of the chosen dataset); a pretrained weights file is read and
 * matched against the model before Train (PyTorch writes the files), and a file that does not fit asks.
 *
 * Parameter counts (torchvision resnet.py, reid-strong-baseline baseline.py): torchvision resnet50 has
 * 25,557,032 parameters, its fc 2048·1000 + 1000; BNNeck adds BatchNorm1d(2048) and a bias-free classifier
 * 2048·num_classes. IBN-a keeps the count.
 */
const BACKBONE = 25_557_032 - (2048 * 1000 + 1000);
const bnneckTotal = (classes: number) => BACKBONE + 2 * 2048 + 2048 * classes;
const fmt = (n: number) => n.toLocaleString('en-US');
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { cleanup, openApp, servedBrowser } from './harness.js';

const app = servedBrowser();

/**
 * Samples the drawn SVG path of every edge into an `add` (residual join) every 2 px, in screen pixels, and
 * returns the points that fall strictly inside a block card's on-screen box, with the card's id.
 */
async function shortcutCrossings(page: Page): Promise<{ edges: number; hits: string[] }> {
  return page.evaluate(() => {
    const cards = Array.from(document.querySelectorAll<HTMLElement>('.react-flow__node [data-testid^="node-"]')).map((el) => ({ id: el.dataset.testid!.slice(5), r: el.getBoundingClientRect() }));
    const edges = Array.from(document.querySelectorAll<SVGGElement>('.react-flow__edge')).filter((g) => /->[^:]*\/add:/.test(g.dataset.testid ?? ''));
    const hits: string[] = [];
    for (const g of edges) {
      const path = g.querySelector<SVGPathElement>('path.react-flow__edge-path')!;
      const m = path.getScreenCTM()!;
      const len = path.getTotalLength();
      for (let l = 0; l <= len; l += 2) {
        const p = new DOMPoint(path.getPointAtLength(l).x, path.getPointAtLength(l).y).matrixTransform(m);
        for (const c of cards) if (p.x > c.r.left + 1 && p.x < c.r.right - 1 && p.y > c.r.top + 1 && p.y < c.r.bottom - 1) hits.push(`${g.dataset.testid} crosses ${c.id}`);
      }
    }
    return { edges: edges.length, hits: [...new Set(hits)] };
  });
}

/**
 * torchvision resnet18 state_dicts written by PyTorch: as is, and with layer1.0.conv1.weight of another
 * shape. `backbone` = the keys a re-ID model loads (all but fc.* and BatchNorm's num_batches_tracked).
 */
const PTH = `
import json, sys, torch, torchvision
torch.manual_seed(0)
sd = torchvision.models.resnet18().state_dict()
torch.save(sd, sys.argv[1] + '/r18.pth')
bad = dict(sd)
bad['layer1.0.conv1.weight'] = torch.zeros(64, 64, 1, 1)
torch.save(bad, sys.argv[1] + '/r18_bad.pth')
print(json.dumps({'backbone': sum(1 for k in sd if not k.startswith('fc.') and not k.endswith('num_batches_tracked')), 'tensors': len(sd)}))
`;

/** A page on the app; the previous page's unsaved changes (autosaved) are discarded, not recovered. */
async function fresh(): Promise<Page> {
  const page = await openApp(app.browser, app.s.url);
  const discard = page.locator('.modal').getByRole('button', { name: 'Discard' });
  if (await discard.count()) await discard.click();
  return page;
}

describe('an editor that shows what will run', () => {
  it('in an expanded residual block the shortcut is routed around the layer cards, also after a drag', async () => {
    const page = await openApp(app.browser, app.s.url);
    await page.getByTestId('btn-presets').click();
    await page.getByTestId('preset-resnet18').click();
    await page.getByTestId('preset-create').click();
    await expect.poll(() => page.getByTestId('preset-gallery').count()).toBe(0);
    await page.getByTestId('expand-layer2').dispatchEvent('click');
    await expect.poll(() => page.getByTestId('expand-layer2/1').count()).toBe(1);
    // layer2.1's identity shortcut spans its five layers, laid out in one row with them.
    await page.getByTestId('expand-layer2/1').dispatchEvent('click');
    await expect.poll(() => page.getByTestId('node-layer2/1/add').count()).toBe(1);
    await page.evaluate(() => window.dispatchEvent(new Event('reid:fit')));
    await page.waitForTimeout(300); // the fit animation (200 ms)
    await page.getByTestId('node-layer2/0').click();
    await page.getByTestId('node-layer2/1/relu2').click({ modifiers: ['Control'] });
    await page.evaluate(() => window.dispatchEvent(new Event('reid:fit-selection')));
    await page.waitForTimeout(300);
    await expect.poll(async () => (await shortcutCrossings(page)).edges).toBe(2);
    await expect.poll(async () => (await shortcutCrossings(page)).hits).toEqual([]);
    // The identity edge really detours, from before the first card it bypasses to after the last: below
    // them when the block is on one row, through the gap between rows where the layout wraps the block.
    const detour = await page.evaluate(() => {
      const box = document.querySelector('[data-testid="rf__edge-layer2/0:out->layer2/1/add:b"] path.react-flow__edge-path')!.getBoundingClientRect();
      const conv = document.querySelector('[data-testid="node-layer2/1/conv1"]')!.getBoundingClientRect();
      const bn2 = document.querySelector('[data-testid="node-layer2/1/bn2"]')!.getBoundingClientRect();
      const oneRow = Math.abs(conv.top - bn2.top) < conv.height;
      return { aside: oneRow ? box.bottom > conv.bottom && box.bottom > bn2.bottom : box.top < bn2.top && box.bottom > conv.bottom, spans: box.left < conv.left && box.right > bn2.right };
    });
    expect(detour).toEqual({ aside: true, spans: true });
    // Drag a bypassed layer down onto the lane: the shortcut finds another way around.
    const relu = (await page.getByTestId('node-layer2/1/relu1').boundingBox())!;
    await page.mouse.move(relu.x + relu.width / 2, relu.y + 6);
    await page.mouse.down();
    await page.mouse.move(relu.x + relu.width / 2, relu.y + 6 + relu.height * 0.8, { steps: 8 });
    await page.mouse.up();
    await expect.poll(async () => (await shortcutCrossings(page)).hits).toEqual([]);
    // With layer2.0 expanded as well (a downsample branch; the long chain wraps into rows) no shortcut crosses a card.
    await page.getByTestId('expand-layer2/0').dispatchEvent('click');
    await expect.poll(() => page.getByTestId('node-layer2/0/add').count()).toBe(1);
    await expect.poll(async () => (await shortcutCrossings(page)).edges).toBe(4);
    await expect.poll(async () => (await shortcutCrossings(page)).hits).toEqual([]);
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('once a dataset is inspected, the classifier node and the summary show its number of identities', async () => {
    const page = await fresh();
    const total = () => page.getByTestId('summary-total').textContent();
    await expect.poll(total).toBe(fmt(bnneckTotal(751)));
    await page.getByTestId('btn-train').click();
    await page.getByTestId('dataset-kind').selectOption('demo:tiny');
    await expect.poll(() => page.getByTestId('dataset-inspecting').count(), { timeout: 60_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('dataset-error').count()).toBe(0);
    // Market-1501 file names start with the person id: count the training identities of the demo folder.
    const ids = new Set(readdirSync(join(app.s.home, 'demo', 'tiny-seed0', 'bounding_box_train')).filter((f) => f.endsWith('.jpg')).map((f) => f.split('_')[0])).size;
    expect(ids).toBeGreaterThan(1);
    await page.getByTestId('training-close').click();
    await expect.poll(total).toBe(fmt(bnneckTotal(ids)));
    await expect.poll(() => page.getByTestId('summary-classes').textContent()).toBe(`${ids} (dataset)`);
    const card = page.getByTestId('node-classifier');
    await expect.poll(() => card.locator('.block-desc').textContent()).toBe(`${ids} classes`);
    await expect.poll(() => card.getByTestId('badge-dataset').getAttribute('title')).toMatch(new RegExp(`^set by dataset: ${ids} ids`));
    await expect.poll(() => card.getByTestId('node-params').getAttribute('title')).toMatch(new RegExp(`^${fmt(2048 * ids)} parameters`));
    await card.click();
    await expect.poll(() => page.getByTestId('param-units-dataset').textContent()).toBe(`${ids} set by dataset: ${ids} ids`);
    // Undo the dataset choice: the document's own size (751) is shown again.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Control+z');
    await expect.poll(total).toBe(fmt(bnneckTotal(751)));
    await expect.poll(() => card.getByTestId('badge-dataset').count()).toBe(0);
    await page.close();
  });

  it('a weights file is checked before Train: browsed to, its load report shown; unreadable blocks, a shape mismatch asks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-weights-'));
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', PTH, dir], { encoding: 'utf8' })) as { backbone: number; tensors: number };
    const page = await fresh();
    await page.getByTestId('btn-presets').click();
    await page.getByTestId('preset-resnet18').click();
    await page.getByTestId('preset-create').click();
    await expect.poll(() => page.getByTestId('preset-gallery').count()).toBe(0);
    await page.getByTestId('btn-train').click();
    await page.getByTestId('weights-choice').selectOption('imagenet');
    const browse = async (name: string) => {
      await page.getByTestId('weights-browse').click();
      const picker = page.getByTestId('file-dialog-pick');
      await expect.poll(() => picker.getByTestId('file-list').locator('li').count()).toBeGreaterThan(0); // the first listing is in
      await picker.getByTestId('file-dir').fill(dir);
      await picker.getByTestId('file-dir').press('Enter');
      await picker.getByTestId('file-list').locator('li', { hasText: new RegExp(`\\s${name.replace('.', '\\.')}$`) }).click();
      await picker.getByTestId('file-confirm').click();
      await expect.poll(() => page.getByTestId('weights-path').inputValue()).toBe(join(dir, name));
    };
    await browse('r18.pth');
    await expect.poll(() => page.getByTestId('weights-loaded').textContent()).toMatch(new RegExp(`^loads ${ref.backbone} of the graph's \\d+ tensors from ${ref.tensors} in the file`));
    await expect.poll(() => page.getByTestId('weights-fresh-head').textContent()).toBe('initialised fresh, as expected: bottleneck, classifier');
    expect(await page.getByTestId('weights-concerns').count()).toBe(0);
    await expect.poll(() => page.getByTestId('train-start').isEnabled()).toBe(true);
    // A file that is not there: the reason, and Train waits.
    await page.getByTestId('weights-path').fill(join(dir, 'gone.pth'));
    await page.getByTestId('weights-path').press('Enter');
    await expect.poll(() => page.getByTestId('weights-error').textContent()).toContain(join(dir, 'gone.pth'));
    await expect.poll(() => page.getByTestId('train-start').isEnabled()).toBe(false);
    // A shape mismatch is listed, and Train asks before starting; Cancel starts nothing.
    await browse('r18_bad.pth');
    await expect.poll(() => page.getByTestId('weights-concerns').textContent()).toMatch(/^1 shape mismatch \(kept at their initialisation\): (base\.)?layer1\.0\.conv1\.weight is \[64, 64, 1, 1\] in the file, \[64, 64, 3, 3\] in the graph/);
    await expect.poll(() => page.getByTestId('weights-loaded').textContent()).toMatch(new RegExp(`^loads ${ref.backbone - 1} of`));
    await expect.poll(() => page.getByTestId('train-problem-warning').allTextContents()).toContain('the weights file does not fully fit the model (listed under Pretrained weights): Train asks before starting');
    await page.getByTestId('train-start').click();
    const dialog = page.getByTestId('confirm-dialog');
    await expect.poll(() => dialog.locator('h3').textContent()).toBe('The weights do not fully match the model');
    await expect.poll(() => dialog.locator('p').textContent()).toContain('layer1.0.conv1.weight is [64, 64, 1, 1] in the file');
    await page.getByTestId('confirm-cancel').click();
    await expect.poll(() => dialog.count()).toBe(0);
    await expect.poll(() => page.getByTestId('train-start').isVisible()).toBe(true);
    const runs = await fetch(`http://127.0.0.1:${app.s.port}/api/runs.list`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-reid-token': app.s.token }, body: '{}' });
    expect(((await runs.json()) as { result: unknown[] }).result).toEqual([]);
    await page.close();
    cleanup(dir);
  });

  it('Open and Save start in the last folder used, also in a new session (the most recent document\'s folder)', async () => {
    const sub = join(app.s.docs, 'models', 'r18');
    mkdirSync(sub, { recursive: true });
    const newModel = async (page: Page) => {
      await page.getByTestId('btn-presets').click();
      await page.getByTestId('preset-resnet18').click();
      await page.getByTestId('preset-create').click();
      await expect.poll(() => page.getByTestId('preset-gallery').count()).toBe(0);
    };
    const dialogDir = async (page: Page, keys: string, testId: string) => {
      await page.keyboard.press(keys);
      const dirField = page.getByTestId(testId).getByTestId('file-dir');
      await expect.poll(() => dirField.inputValue()).not.toBe('');
      const dir = await dirField.inputValue();
      await page.keyboard.press('Escape');
      await expect.poll(() => page.getByTestId(testId).count()).toBe(0);
      return dir;
    };
    const page = await fresh();
    await newModel(page);
    await page.keyboard.press('Control+Shift+s');
    const save = page.getByTestId('file-dialog-save');
    await expect.poll(() => save.getByTestId('file-dir').inputValue()).toBe(app.s.docs); // nothing used yet: the documents folder
    await save.getByTestId('file-dir').fill(sub);
    await save.getByTestId('file-dir').press('Enter');
    await expect.poll(() => save.getByTestId('file-dir').inputValue()).toBe(sub);
    await save.getByTestId('file-name').fill('first.reidgraph');
    await save.getByTestId('file-confirm').click();
    await expect.poll(() => existsSync(join(sub, 'first.reidgraph'))).toBe(true);
    // A new, unsaved model: Open and Save as start in the folder used last, not the documents folder.
    await newModel(page);
    expect(await dialogDir(page, 'Control+o', 'file-dialog-open')).toBe(sub);
    expect(await dialogDir(page, 'Control+Shift+s', 'file-dialog-save')).toBe(sub);
    await page.close();
    // A new session (the page's memory is gone): the most recent document's folder.
    const next = await fresh();
    await newModel(next);
    expect(await dialogDir(next, 'Control+o', 'file-dialog-open')).toBe(sub);
    await next.close();
  });
});
