import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { cleanup } from '../e2e/harness.js';

/**
 * The real desktop window, driven by Playwright's Electron support. vitest.config.ts lists this file only
 * where Electron's binary is installed (a developer's machine, a release build); the build box cannot
 * download it, so there the shell's decisions are covered by the pure-module tests beside this file.
 * Native dialogs cannot be clicked by a test: they are replaced in the main process by answers the test
 * chooses, and the test checks what the app does with each answer. It type-checks against Electron's own
 * typings (scripts/typecheck-electron.mjs, test/electron/tsconfig.json).
 */

let app: ElectronApplication;
let win: Page;
const home = mkdtempSync(join(tmpdir(), 'reid-electron-home-'));

/** Makes the next native message box answer `response` and records its options. */
async function answerMessageBox(response: number): Promise<void> {
  await app.evaluate(({ dialog }, r) => {
    const g = globalThis as unknown as { __boxes: unknown[] };
    g.__boxes = [];
    dialog.showMessageBoxSync = ((...args: unknown[]) => {
      g.__boxes.push(args.at(-1));
      return r;
    }) as typeof dialog.showMessageBoxSync;
  }, response);
}

async function menuClick(path: string[]): Promise<void> {
  await app.evaluate(({ Menu }, labels) => {
    let items = Menu.getApplicationMenu()!.items;
    let item: (typeof items)[number] | undefined;
    for (const l of labels) {
      item = items.find((i) => i.label === l);
      if (!item) throw new Error(`no menu item ${l}`);
      items = item.submenu?.items ?? [];
    }
    item!.click();
  }, path);
}

describe('the desktop window (Electron)', () => {
  beforeAll(async () => {
    app = await _electron.launch({ args: ['app'], env: { ...process.env, REID_STUDIO_HOME: home, REID_STUDIO_DOCUMENTS: join(home, 'docs') } });
    win = await app.firstWindow();
    await win.waitForSelector('[data-testid="app"][data-ready="true"]');
  });
  afterAll(async () => {
    await app?.close().catch(() => undefined);
    cleanup(home);
  });

  it('titles the window with the document name; an edit marks it unsaved', async () => {
    await expect.poll(() => win.title()).toMatch(/ — ReID Studio$/);
    await win.getByTestId('node-gap').click();
    await win.keyboard.press('Control+d');
    await expect.poll(() => win.title()).toMatch(/^• .* — ReID Studio$/);
  });

  it('the application menu has About, and page shortcuts are not global accelerators', async () => {
    const menu = await app.evaluate(({ Menu }) =>
      Menu.getApplicationMenu()!.items.map((i) => ({ label: i.label, sub: (i.submenu?.items ?? []).map((s) => ({ label: s.label, role: s.role, global: s.registerAccelerator })) })),
    );
    const all = menu.flatMap((m) => m.sub);
    expect(all.some((s) => s.role === 'about')).toBe(process.platform !== 'darwin');
    expect(all.find((s) => s.label === 'Undo')!.global).toBe(false);
    expect(all.find((s) => s.label === 'Select All')!.global).toBe(false);
  });

  it('Run ▸ Reveal opens the runs folder that exists under the data folder', async () => {
    await app.evaluate(({ shell }) => {
      const g = globalThis as unknown as { __opened: string[] };
      g.__opened = [];
      shell.openPath = (async (p: string) => (g.__opened.push(p), '')) as typeof shell.openPath;
    });
    await menuClick(['File', 'Reveal Runs Folder']);
    await expect.poll(() => app.evaluate(() => (globalThis as unknown as { __opened: string[] }).__opened)).toHaveLength(1);
    const [opened] = await app.evaluate(() => (globalThis as unknown as { __opened: string[] }).__opened);
    expect(opened!.startsWith(home)).toBe(true);
    expect(existsSync(opened!)).toBe(true);
  });

  it('closing with unsaved changes asks: Cancel keeps the window, Discard closes it', async () => {
    await answerMessageBox(1); // Cancel
    await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.close());
    await expect.poll(() => app.evaluate(() => (globalThis as unknown as { __boxes: unknown[] }).__boxes.length)).toBe(1);
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
    const closed = win.waitForEvent('close');
    await answerMessageBox(0); // Discard changes and close
    await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.close());
    await closed;
    // The window state is written as the window closes (quitting waits for it).
    await expect.poll(() => existsSync(join(home, 'window-state.json'))).toBe(true);
  });
});
