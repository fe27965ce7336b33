import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { text } from '../e2e/harness.js';

/**
 * The release smoke test's steps on the app's page, shared by the packaged-app test (smoke.electron.ts,
 * the file the release workflow runs) and its browser-mode twin (smoke-flow.test.ts, run here, where
 * Electron's binary cannot be downloaded). Only the stable flows: a preset on the canvas, a tiny demo
 * training run on the default engine, its ONNX export. Every wait is for state, never for time; the
 * generous timeouts only bound a CI runner that is slow, they are not expectations.
 */

/** resnet18 at 64×32 (height × width): the smallest preset input that trains in seconds. */
export const SMOKE_PRESET = { id: 'resnet18', input: '64x32', height: 64, width: 32 } as const;
/** torchvision's resnet18 ends with 512 channels: the BNNeck feature the ONNX export outputs. */
export const RESNET18_FEATURE_DIM = 512;

/** Resolves once the first document's blocks are in the DOM and two animation frames have been painted. */
export async function waitForDrawnCanvas(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid="app"][data-ready="true"]', { timeout: 120_000 });
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length > 0, undefined, { timeout: 120_000, polling: 'raf' });
  await page.evaluate(() => new Promise<void>((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok()))));
}

/** Presets ▸ resnet18 at 64×32; resolves when the summary shows the new input and the canvas has drawn it. */
export async function loadPreset(page: Page): Promise<void> {
  await page.getByTestId('btn-presets').click();
  await page.getByTestId(`preset-${SMOKE_PRESET.id}`).click();
  await page.getByTestId('preset-input').fill(SMOKE_PRESET.input);
  await page.getByTestId('preset-create').click();
  await expect.poll(() => text(page, 'summary-input'), { timeout: 60_000 }).toContain(String(SMOKE_PRESET.height));
  await waitForDrawnCanvas(page);
}

async function setField(page: Page, testId: string, value: string): Promise<void> {
  await page.getByTestId(testId).fill(value);
  await page.getByTestId(testId).press('Enter');
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await expect.poll(() => page.getByTestId(testId).inputValue()).toBe(value);
}

/**
 * Train ▸ the tiny demo dataset, one epoch of P=4 × K=4, default engine ("auto"). Resolves with the engine
 * the dashboard's badge named once the run completed and its evaluation (mAP, rank-1) is shown.
 */
export async function trainTinyDemo(page: Page): Promise<{ engine: string; mAP: string }> {
  await page.getByTestId('btn-train').click();
  await page.getByTestId('dataset-kind').selectOption('demo:tiny');
  await setField(page, 'set-epochs', '1');
  await setField(page, 'set-p', '4');
  await setField(page, 'set-k', '4');
  await page.getByTestId('run-name').fill('smoke');
  await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 60_000 }).toBe(true);
  await page.getByTestId('train-start').click();
  await page.getByTestId('dashboard').waitFor({ timeout: 120_000 }); // the training process starts in seconds, minutes on a loaded machine
  await page.getByTestId('backend-badge').waitFor({ timeout: 180_000 });
  const engine = await text(page, 'backend-badge');
  // A failed run shows its phase at once: report it instead of waiting out the timeout. A completed run may
  // already have moved on to Results (the dashboard is then gone), which counts as completed.
  const phase = async () => ((await page.getByTestId('results').count()) ? 'completed' : ((await page.getByTestId('dashboard').getAttribute('data-phase', { timeout: 1_000 }).catch(() => null)) ?? 'pending'));
  await expect.poll(phase, { timeout: 600_000 }).toMatch(/^(completed|failed|interrupted|stopped)$/);
  expect(await phase()).toBe('completed');
  await page.getByTestId('results').waitFor({ timeout: 300_000 });
  await expect.poll(() => text(page, 'result-map'), { timeout: 120_000 }).toMatch(/^\d+\.\d%$/);
  return { engine, mAP: await text(page, 'result-map') };
}

/**
 * Results ▸ Export… as ONNX with the run's weights to `out`. `chooseDestination` answers the host's
 * destination picker (Electron: its native save dialog, answered in the main process before the click;
 * browser mode: the in-app picker, after it). Resolves when the dialog reports the written file.
 */
export async function exportOnnx(page: Page, out: string, chooseDestination: { before?: () => Promise<void>; after?: () => Promise<void> }): Promise<number> {
  await page.getByTestId('results').getByTestId('run-export-weights').click();
  const dlg = page.getByTestId('export-dialog');
  await dlg.getByTestId('export-format').selectOption('onnx');
  await expect.poll(() => dlg.getByTestId('export-weights-run').isChecked()).toBe(true);
  await chooseDestination.before?.();
  await dlg.getByTestId('export-choose-out').click();
  await chooseDestination.after?.();
  await expect.poll(() => text(page, 'export-out')).toBe(out);
  await expect.poll(async () => `${(await dlg.getByTestId('export-refusal').allTextContents()).join('; ')}${(await dlg.getByTestId('export-confirm').isEnabled()) ? 'enabled' : ''}`, { timeout: 60_000 }).toBe('enabled');
  await dlg.getByTestId('export-confirm').click();
  // The result, or the error the dialog shows instead (a failure reads as the app's message, not a timeout).
  await dlg.getByTestId('export-result').or(dlg.getByTestId('export-error')).first().waitFor({ timeout: 300_000 });
  expect((await dlg.getByTestId('export-error').allTextContents()).join('; ')).toBe('');
  await expect.poll(() => dlg.getByTestId('export-progress').getAttribute('data-stage')).toBe('done');
  expect(existsSync(out)).toBe(true);
  return statSync(out).size;
}

/**
 * Runs the exported file in Microsoft's onnxruntime (the test process's own copy, not the app's): one
 * 64×32 image in, one feature of RESNET18_FEATURE_DIM floats out, all finite.
 */
export async function checkOnnxFile(path: string): Promise<number[]> {
  const ort = (await import('onnxruntime-node')) as typeof import('onnxruntime-node');
  const session = await ort.InferenceSession.create(path);
  const x = new ort.Tensor('float32', new Float32Array(3 * SMOKE_PRESET.height * SMOKE_PRESET.width).fill(0.25), [1, 3, SMOKE_PRESET.height, SMOKE_PRESET.width]);
  const out = await session.run({ [session.inputNames[0]!]: x });
  const feat = out[session.outputNames[0]!]!;
  await session.release();
  expect([...feat.dims]).toEqual([1, RESNET18_FEATURE_DIM]);
  expect([...(feat.data as Float32Array)].every(Number.isFinite)).toBe(true);
  return [...feat.dims];
}

/**
 * The engine the app should train on by default: onnxruntime where its binary for this OS and architecture
 * is installed where the app resolves packages from (Node's resolution, walking up from `appDir`: app/ or the
 * repository in development, the unpacked asar of a packaged app), else a tfjs backend. The file's presence
 * is the outside fact; the dashboard's badge is the app's answer.
 */
export function expectedEngine(appDir: string): RegExp {
  for (let dir = resolve(appDir); ; dir = dirname(dir)) {
    const pkg = join(dir, 'node_modules/onnxruntime-node');
    if (existsSync(join(pkg, 'package.json')) || existsSync(join(pkg, 'bin'))) {
      const binding = join(pkg, 'bin/napi-v6', process.platform, process.arch, 'onnxruntime_binding.node');
      return existsSync(binding) ? /^onnxruntime$/ : TFJS_ENGINE;
    }
    if (dirname(dir) === dir) return TFJS_ENGINE;
  }
}
const TFJS_ENGINE = /^(wasm|tensorflow|tensorflow-gpu( · on the CPU)?)$/;

/** Where a packaged app resolves its native packages from: the unpacked part of its asar, beside app.asar. */
export function unpackedDir(executable: string, platform: NodeJS.Platform = process.platform): string {
  const resources = platform === 'darwin' ? join(dirname(dirname(executable)), 'Resources') : join(dirname(executable), 'resources');
  return join(resources, 'app.asar.unpacked');
}
