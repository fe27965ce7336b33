import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { cleanup } from '../e2e/harness.js';
import { checkOnnxFile, expectedEngine, exportOnnx, loadPreset, trainTinyDemo, unpackedDir, waitForDrawnCanvas } from './smoke-flow.js';

/**
 * The release smoke test: the desktop app opens its window, a preset loads, a tiny demo training run
 * finishes on the default engine, its ONNX export runs in onnxruntime, and the app quits cleanly.
 *
 *   npm run test:electron                                   Electron from node_modules running app/
 *   REID_STUDIO_EXECUTABLE=<packaged executable> npm run test:electron   the installed app (what the
 *                                                           release workflow runs on each OS, under xvfb on Linux)
 *
 * It writes screenshots and metrics.json (launch → drawn canvas, memory after the preset loads) to
 * REID_STUDIO_SMOKE_OUT (default test/.tmp/smoke); scripts/check-budgets.mjs compares them with
 * .github/release-budgets.yml. Playwright drives the main process through Node's inspector, which the
 * shipped binary's EnableNodeCliInspectArguments fuse turns off: the workflow checks the installed app's
 * fuses first, then turns that one fuse on in its test install (scripts/fuses.mjs). Native dialogs cannot
 * be clicked by a test: the main process's dialog functions answer what the test chooses.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const packaged = process.env.REID_STUDIO_EXECUTABLE ? resolve(process.env.REID_STUDIO_EXECUTABLE) : null;
const OUT = resolve(process.env.REID_STUDIO_SMOKE_OUT ?? join(ROOT, 'test/.tmp/smoke'));
const home = mkdtempSync(join(tmpdir(), 'reid-smoke-home-'));
const docs = join(home, 'docs');
const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; optionalDependencies: Record<string, string> };

let app: ElectronApplication;
let win: Page;
const metrics: Record<string, unknown> = { platform: process.platform, arch: process.arch, packaged: !!packaged, executable: packaged ?? 'node_modules/electron + app/' };

async function shot(name: string): Promise<void> {
  await win.screenshot({ path: join(OUT, `${name}.png`) });
}

describe(`the desktop app, end to end (${packaged ? `packaged: ${packaged}` : 'Electron from node_modules'})`, () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    mkdirSync(docs, { recursive: true });
    if (packaged) expect(existsSync(packaged), `REID_STUDIO_EXECUTABLE=${packaged} does not exist`).toBe(true);
    const env = { ...process.env, REID_STUDIO_HOME: home, REID_STUDIO_DOCUMENTS: docs };
    app = await _electron.launch(packaged ? { executablePath: packaged, env, timeout: 120_000 } : { args: [join(ROOT, 'app')], env, timeout: 120_000 });
    win = await app.firstWindow({ timeout: 120_000 });
  });
  afterAll(async () => {
    writeFileSync(join(OUT, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    if (app && app.process().exitCode === null) await app.close().catch(() => undefined);
    cleanup(home);
  });

  it('opens its window and draws the canvas', async () => {
    await waitForDrawnCanvas(win);
    // Wall-clock times on one machine: the main process's creation, and the frame after the blocks were drawn.
    const drawnAt = await win.evaluate(() => performance.timeOrigin + performance.now());
    const info = await app.evaluate(({ app: electronApp, BrowserWindow }) => ({
      createdAt: process.getCreationTime() ?? performance.timeOrigin,
      packaged: electronApp.isPackaged,
      version: electronApp.getVersion(),
      electron: process.versions.electron,
      windows: BrowserWindow.getAllWindows().map((w) => w.id),
    }));
    metrics.launchToCanvasMs = Math.round(drawnAt - info.createdAt);
    metrics.electron = info.electron;
    expect(info.packaged).toBe(!!packaged);
    expect(info.version).toBe(root.version);
    expect(info.electron).toBe(root.optionalDependencies.electron);
    expect(info.windows).toHaveLength(1);
    // Shown on ready-to-show, titled by the page once its document is in: state the test waits for.
    await expect.poll(() => app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.isVisible())).toBe(true);
    await expect.poll(() => win.title()).toMatch(/ — ReID Studio$/);
    await shot('1-start');
  });

  it('loads a preset; the memory it then takes is recorded', async () => {
    await loadPreset(win);
    const processes = await app.evaluate(({ app: electronApp }) => electronApp.getAppMetrics().map((m) => ({ type: m.type, workingSetKB: m.memory.workingSetSize })));
    metrics.memoryAfterPresetMiB = Math.round(processes.reduce((a, p) => a + p.workingSetKB, 0) / 1024);
    metrics.memoryByProcess = processes;
    expect(processes.some((p) => p.type === 'Browser')).toBe(true);
    await shot('2-preset');
  });

  it('trains a tiny demo run to the end on the default engine', async () => {
    const { engine, mAP } = await trainTinyDemo(win);
    metrics.engine = engine;
    metrics.mAP = mAP;
    expect(engine).toMatch(expectedEngine(packaged ? unpackedDir(packaged) : join(ROOT, 'app/dist')));
    await shot('3-trained');
  });

  it('exports the run to ONNX; onnxruntime runs the file', async () => {
    const out = join(docs, 'smoke.onnx');
    const bytes = await exportOnnx(win, out, {
      before: () =>
        app.evaluate(({ dialog }, path) => {
          dialog.showSaveDialog = (async () => ({ canceled: false, filePath: path })) as unknown as typeof dialog.showSaveDialog;
        }, out),
    });
    metrics.onnxBytes = bytes;
    await checkOnnxFile(out);
    await shot('4-exported');
  });

  it('quits cleanly: exit code 0, the window state written on the way out', async () => {
    // Unsaved changes ask before closing: answer "Discard" (the first button) in the main process.
    await app.evaluate(({ dialog }) => {
      dialog.showMessageBoxSync = (() => 0) as unknown as typeof dialog.showMessageBoxSync;
    });
    const exited = new Promise<number | null>((ok) => app.process().once('exit', (code) => ok(code)));
    await app.close();
    const code = app.process().exitCode ?? (await exited);
    metrics.exitCode = code;
    expect(code).toBe(0);
    expect(existsSync(join(home, 'window-state.json'))).toBe(true);
  });
});
