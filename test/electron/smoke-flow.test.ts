import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { cleanup, launchBrowser, openApp, serve, type Served } from '../e2e/harness.js';
import { checkOnnxFile, expectedEngine, exportOnnx, loadPreset, trainTinyDemo } from './smoke-flow.js';

/**
 * The release smoke test's steps (smoke-flow.ts) in browser mode: the real `reid-studio serve`, its real
 * training process and Debian's Chromium. The release workflow runs the same steps in the packaged
 * Electron app (smoke.electron.ts); Electron's binary cannot be downloaded here, so this twin is what
 * proves, on every `npm test`, that the steps still match the app (only the destination picker differs:
 * the in-app one here, the native dialog there).
 */
let s: Served;
let browser: Browser;
let page: Page;

describe('release smoke steps, in browser mode', () => {
  beforeAll(async () => {
    s = await serve();
    browser = await launchBrowser();
    page = await openApp(browser, s.url, { width: 1280, height: 800 });
  });
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
    if (s) cleanup(s.home, s.docs);
  });

  it('a preset loads, a tiny demo run trains on the default engine, and its ONNX export runs in onnxruntime', async () => {
    await loadPreset(page);
    const { engine } = await trainTinyDemo(page);
    expect(engine).toMatch(expectedEngine(new URL('../../app/dist', import.meta.url).pathname));
    const out = join(s.docs, 'smoke.onnx');
    const picker = page.getByTestId('file-dialog-pick');
    const bytes = await exportOnnx(page, out, {
      after: async () => {
        // The picker first lists the documents folder; type the folder once that listing is in.
        await expect.poll(() => picker.getByTestId('file-dir').inputValue()).not.toBe('');
        await picker.getByTestId('file-dir').fill(s.docs);
        await picker.getByTestId('file-dir').press('Enter');
        await expect.poll(() => picker.getByTestId('file-dir').inputValue()).toBe(s.docs);
        await picker.getByTestId('file-name').fill('smoke.onnx');
        await picker.getByTestId('file-confirm').click();
      },
    });
    expect(bytes).toBeGreaterThan(1_000_000); // resnet18's ~11 M float32 weights
    await checkOnnxFile(out);
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
  }, 900_000);
});
