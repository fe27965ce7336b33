/**
 * File ▸ Export… and File ▸ Import config… in Chromium against the real `reid-studio serve`: every format
 * is exported from the UI (destinations chosen in the in-app picker of browser mode) and the files are
 * checked outside the app — the YAML is merged into the frameworks' defaults by YACS' rules
 * (test/config/yacs_merge.py), the PyTorch export is loaded by PyTorch and the tfjs export by a fresh Node
 * process (test/export/tfjs-child.mjs); both compute the same eval features within 1e-4 · max|PyTorch|.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { parseDocument } from '../../core/index.js';
import { maxDiff, PYTHON, readF32 } from '../parity/fixtures.js';
import { cleanup, launchBrowser, openApp, serve, text, type Served } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const YACS = fileURLToPath(new URL('../config/yacs_merge.py', import.meta.url));
const CHECK = fileURLToPath(new URL('../export/check_pytorch.py', import.meta.url));
const FR_CONFIG = fileURLToPath(new URL('../fixtures/configs/fastreid/Market1501/bagtricks_R50-ibn.yml', import.meta.url));
const [H, W] = [128, 64];

let s: Served;
let browser: Browser;
let page: Page;
let out: string;

beforeAll(async () => {
  s = await serve();
  // The user's project: exports land here, and it has @tensorflow/tfjs (node_modules) for the tfjs check.
  out = mkdtempSync(join(tmpdir(), 'reid-e2e-export-'));
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  copyFileSync(fileURLToPath(new URL('../export/tfjs-child.mjs', import.meta.url)), join(out, 'tfjs-child.mjs'));
  browser = await launchBrowser();
  page = await openApp(browser, s.url, { width: 1600, height: 900 });
  await page.getByTestId('btn-presets').click();
  await page.getByTestId('preset-resnet18').click();
  await page.getByTestId('preset-input').fill(`${H}x${W}`);
  await page.getByTestId('preset-create').click();
  await page.waitForFunction((h) => document.querySelector('[data-testid="summary-input"]')?.textContent?.includes(String(h)), H);
});
afterAll(async () => {
  await browser?.close();
  await s?.stop();
  cleanup(s.home, s.docs, out);
});

async function menu(id: string): Promise<void> {
  await page.getByTestId('menubar-file').click();
  await page.getByTestId(`menubar-${id}`).click();
}

/** The in-app picker of browser mode: go to `dir` (typed, Enter), then pick `name` in it (or the folder). */
async function pick(dir: string, name?: string): Promise<void> {
  const d = page.getByTestId('file-dialog-pick');
  // The picker first lists the documents folder; type the folder once that listing is in.
  await expect.poll(() => d.getByTestId('file-dir').inputValue()).not.toBe('');
  await d.getByTestId('file-dir').fill(dir);
  await d.getByTestId('file-dir').press('Enter');
  await expect.poll(() => d.getByTestId('file-dir').inputValue()).toBe(dir);
  if (name !== undefined) await d.getByTestId('file-name').fill(name);
  await d.getByTestId('file-confirm').click();
  await d.waitFor({ state: 'detached' });
}

/**
 * File ▸ Export… in `format` to `dir/name`; optional weights file (chosen, then the format switched to `switchTo`
 * when given). Resolves when the dialog reports the files.
 */
async function exportFromUi(format: string, name: string, weights?: { dir: string; name: string }, switchTo?: string): Promise<void> {
  await menu('file.export');
  const dlg = page.getByTestId('export-dialog');
  await dlg.getByTestId('export-format').selectOption(format);
  // fast-reid's stem differs from reid-strong-baseline's: the export refuses unless asked to convert it.
  if (format === 'fastreid-yaml') {
    await expect.poll(() => dlg.getByTestId('export-refusal').count()).toBe(1);
    await dlg.getByTestId('export-fastreid-stem').check();
    await expect.poll(() => dlg.getByTestId('export-warning').count()).toBeGreaterThan(0);
  }
  if (weights) {
    await dlg.getByTestId('export-weights-file').click(); // opens the picker; checked once a file is chosen
    await pick(weights.dir, weights.name);
    await expect.poll(() => dlg.getByTestId('export-weights-file').isChecked()).toBe(true);
    if (switchTo) await dlg.getByTestId('export-format').selectOption(switchTo);
  }
  await dlg.getByTestId('export-choose-out').click();
  await pick(out, name);
  await expect.poll(() => text(page, 'export-out')).toBe(join(out, name));
  // Enabled once the check found nothing to refuse (a refusal would show here with its reason).
  await expect.poll(async () => `${(await dlg.getByTestId('export-refusal').allTextContents()).join('; ')}${(await dlg.getByTestId('export-confirm').isEnabled()) ? 'enabled' : ''}`).toBe('enabled');
  await dlg.getByTestId('export-confirm').click();
  // The result, or the error the dialog shows instead (so a failure reads as the app's message, not a timeout).
  await dlg.getByTestId('export-result').or(dlg.getByTestId('export-error')).first().waitFor({ timeout: 180_000 });
  expect((await dlg.getByTestId('export-error').allTextContents()).join('; ')).toBe('');
  await expect.poll(() => dlg.getByTestId('export-progress').getAttribute('data-stage')).toBe('done');
  await dlg.getByTestId('export-close').click();
}

const merge = (fw: 'rsb' | 'fastreid', file: string) => JSON.parse(execFileSync(PYTHON, [YACS, fw, file], { encoding: 'utf8' })) as { ok: boolean; cfg: Record<string, Record<string, unknown>>; error?: string };

describe('File ▸ Export… and Import config… in the app', () => {
  it('refuses, with the reason and before writing, a graph reid-strong-baseline cannot express', async () => {
    await page.getByTestId('node-layer1').click();
    await page.getByTestId('param-norm').selectOption('in');
    await menu('file.export');
    const dlg = page.getByTestId('export-dialog');
    await dlg.getByTestId('export-format').selectOption('rsb-yaml');
    await expect.poll(() => dlg.getByTestId('export-refusal').count()).toBeGreaterThan(0);
    await expect.poll(async () => (await dlg.getByTestId('export-refusal').first().textContent())?.length).toBeGreaterThan(10);
    await expect.poll(() => dlg.getByTestId('export-confirm').isDisabled()).toBe(true);
    await dlg.getByTestId('export-close').click();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Control+z');
    await expect.poll(() => text(page, 'summary-in')).toBe('0');
  });

  it('exports the graph document and both YAML formats; the YAML merges into the frameworks\' defaults', async () => {
    await exportFromUi('graph', 'model.json');
    const doc = parseDocument(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(doc.graph.nodes.find((n) => n.kind === 'input')?.params).toMatchObject({ height: H, width: W });
    await exportFromUi('rsb-yaml', 'rsb.yml');
    await exportFromUi('fastreid-yaml', 'fastreid.yml');
    // fast-reid's training job refuses the same stem and offers the same conversion (the option was shown for
    // the YAML only: the job's refusal named an option the dialog did not have).
    await menu('file.export');
    const dlg = page.getByTestId('export-dialog');
    await dlg.getByTestId('export-format').selectOption('fastreid-job');
    await expect.poll(async () => (await dlg.getByTestId('export-refusal').allTextContents()).join('; ')).toContain('stem');
    await dlg.getByTestId('export-fastreid-stem').check();
    await expect.poll(async () => (await dlg.getByTestId('export-refusal').allTextContents()).join('; ')).not.toContain('stem');
    await expect.poll(() => dlg.getByTestId('export-warning').allTextContents()).toContainEqual(expect.stringContaining("the stem was converted to fast-reid's"));
    await dlg.getByTestId('export-close').click();
    const rsb = merge('rsb', join(out, 'rsb.yml'));
    expect(rsb.error).toBeUndefined();
    expect(rsb.cfg.MODEL).toMatchObject({ NAME: 'resnet18' });
    expect(rsb.cfg.INPUT!.SIZE_TEST).toEqual([H, W]);
    const fr = merge('fastreid', join(out, 'fastreid.yml'));
    expect(fr.error).toBeUndefined();
    expect(fr.cfg.MODEL!.BACKBONE).toMatchObject({ DEPTH: '18x' });
    expect(fr.cfg.INPUT!.SIZE_TEST).toEqual([H, W]);
  });

  it('exports PyTorch code + weights and a tfjs model with the same weights: PyTorch and a fresh Node process agree within 1e-4', async () => {
    await exportFromUi('pytorch', 'r18-pytorch');
    const pt = join(out, 'r18-pytorch');
    expect(readdirSync(pt).sort()).toEqual(['.reid-studio-export.json', 'model.pth', 'model.py']); // the manifest of what the export wrote
    // The tfjs export takes its weights from the PyTorch export's file (weights: a file).
    await exportFromUi('tfjs', 'r18-tfjs', { dir: pt, name: 'model.pth' });
    const tj = join(out, 'r18-tfjs');
    expect(existsSync(join(tj, 'model.json'))).toBe(true);
    // A weights file chosen for a model format, then the format switched to one without weights (the graph
    // document): it is written (the dialog sent the weights along and the export failed with "--weights applies to …").
    await exportFromUi('tfjs', 'switched.json', { dir: pt, name: 'model.pth' }, 'graph');
    expect(parseDocument(readFileSync(join(out, 'switched.json'), 'utf8')).graph.nodes.length).toBeGreaterThan(0);

    const n = 2;
    const input = new Float32Array(n * H * W * 3).map((_, i) => Math.sin(i * 0.37) * 1.5);
    const inputPath = join(out, 'input.f32');
    writeFileSync(inputPath, Buffer.from(input.buffer));
    // PyTorch (Debian python3-torch) loads model.py + model.pth.
    const spec = join(out, 'check.json');
    writeFileSync(spec, JSON.stringify({ export: pt, input: inputPath, shape: [n, H, W, 3], out: join(out, 'torch-out'), train: false }));
    const report = JSON.parse(execFileSync(PYTHON, [CHECK, spec], { encoding: 'utf8', timeout: 240_000 })) as { evalShape: number[] };
    expect(report.evalShape).toEqual([n, 512]);
    const torchFeat = readF32(join(out, 'torch-out', 'eval.f32'));
    // A fresh Node process with only @tensorflow/tfjs loads the tfjs export (its own layers file).
    const childOut = join(out, 'tfjs-out');
    mkdirSync(childOut);
    const child = JSON.parse(execFileSync(process.execPath, [join(out, 'tfjs-child.mjs'), tj, inputPath, JSON.stringify([n, H, W, 3]), childOut], { cwd: out, encoding: 'utf8', timeout: 240_000 })) as {
      shapes: number[][];
      metadata: { reidStudio: { roles: { evalFeature: string }; outputs: string[] } };
    };
    const evalIndex = child.metadata.reidStudio.outputs.indexOf(child.metadata.reidStudio.roles.evalFeature);
    const tfjsFeat = readF32(join(childOut, `out${evalIndex}.f32`));
    expect(tfjsFeat.length).toBe(torchFeat.length);
    const { diff, ref } = maxDiff(tfjsFeat, torchFeat);
    expect(ref).toBeGreaterThan(0);
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);
  }, 400_000);

  it('File ▸ Import config… turns a fast-reid YAML (with _BASE_) into a new document and lists the ignored keys', async () => {
    await menu('file.importConfig');
    const either = page.locator('[data-testid="confirm-dialog"], [data-testid="file-dialog-pick"]').first();
    await either.waitFor();
    if ((await either.getAttribute('data-testid')) === 'confirm-dialog') await page.getByTestId('confirm-discard').click();
    await pick(dirname(FR_CONFIG), 'bagtricks_R50-ibn.yml');
    const dlg = page.getByTestId('import-dialog');
    await dlg.waitFor();
    await expect.poll(() => dlg.textContent()).toMatch(/fast-reid/);
    // fast-reid's R50-ibn: IBN-a in bn1 of every block of layer1–3 (3 + 4 + 6 blocks).
    await expect.poll(() => text(page, 'summary-ibn')).toBe('13');
    const ignored = await dlg.getByTestId('import-ignored-key').allTextContents();
    const none = await dlg.getByTestId('import-ignored-none').count();
    expect(ignored.length > 0 || none === 1).toBe(true);
    await dlg.getByTestId('import-close').click();
    await expect.poll(() => text(page, 'doc-title')).toMatch(/Untitled model •/);
  });
});
