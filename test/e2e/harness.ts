import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { buildPreset, serializeDocument } from '../../core/index.js';

/** Debian's Chromium, headless; never a downloaded browser (issue 5). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

export interface Served {
  url: string;
  port: number;
  token: string;
  home: string;
  docs: string;
  proc: ChildProcess;
  stop(): Promise<number | null>;
}

/**
 * Runs the real `reid-studio serve` (the built CLI bundle, as users and scripts run it) on a free port
 * with a temporary data dir, so tests never touch the user's recent files or autosave.
 */
export async function serve(opts: { home?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Served> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'reid-home-'));
  const docs = mkdtempSync(join(tmpdir(), 'reid-docs-'));
  const proc = spawn(process.execPath, ['bin/reid-studio.js', 'serve', '--no-open', '--port', '0', ...(opts.args ?? [])], {
    env: { ...process.env, REID_STUDIO_HOME: home, REID_STUDIO_DOCUMENTS: docs, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((ok, fail) => {
    let out = '';
    const t = setTimeout(() => fail(new Error(`serve did not print its URL in 20 s; stderr: ${err}`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        ok(out.slice(0, nl));
      }
    });
    proc.on('exit', (code) => fail(new Error(`serve exited with ${code}: ${err}`)));
  });
  const m = /^ReID Studio: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=(\S+))$/.exec(line);
  if (!m) throw new Error(`unexpected serve output: ${line}`);
  return {
    url: m[1]!,
    port: Number(m[2]),
    token: m[3]!,
    home,
    docs,
    proc,
    stop: () =>
      new Promise((ok) => {
        if (proc.exitCode !== null) return ok(proc.exitCode);
        proc.once('exit', (code) => ok(code));
        proc.kill('SIGINT');
      }),
  };
}

export function cleanup(...dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** Opens the app and waits until the first document is on the canvas. */
export async function openApp(browser: Browser, url: string, size = { width: 1440, height: 900 }, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const page = await browser.newPage({ viewport: size, colorScheme });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(url);
  await page.waitForSelector('[data-testid="app"][data-ready="true"]');
  return page;
}

/** The autosave slots the app wrote (main/service/autosave-slots.ts, `<home>/autosave/<window id>.json`), by window id. */
export function autosaveSlots(home: string): Map<string, { path: string | null; text: string; window: string }> {
  const dir = join(home, 'autosave');
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    // no slot yet
  }
  return new Map(names.map((n) => [n.slice(0, -5), JSON.parse(readFileSync(join(dir, n), 'utf8'))]));
}

/** A page of the app in `context` and its window id, read from the URL of its event WebSocket (`/ws?window=<id>`). */
export async function openWindow(context: BrowserContext, url: string): Promise<{ page: Page; id: string }> {
  const page = await context.newPage();
  const id = new Promise<string>((ok) => page.on('websocket', (ws) => ok(new URL(ws.url()).searchParams.get('window')!)));
  await page.goto(url);
  await page.waitForSelector('[data-testid="app"][data-ready="true"]');
  return { page, id: await id };
}

/** Discards the crash-recovery offer an earlier test's unsaved page left (one served app per file). */
export async function discardRecovery(page: Page): Promise<void> {
  if (await page.getByTestId('confirm-dialog').count()) await page.getByTestId('confirm-discard').click();
}

export const text = async (page: Page, testId: string) => (await page.getByTestId(testId).first().textContent())?.trim() ?? '';

/**
 * One served app and one browser for a whole test file (registered as beforeAll / afterAll): the
 * returned object's `s` and `browser` are set once the file's tests run.
 */
export function servedBrowser(): { s: Served; browser: Browser } {
  const ctx = {} as { s: Served; browser: Browser };
  beforeAll(async () => {
    ctx.s = await serve();
    ctx.browser = await launchBrowser();
  });
  afterAll(async () => {
    await ctx.browser?.close();
    await ctx.s?.stop();
    if (ctx.s) cleanup(ctx.s.home, ctx.s.docs);
  });
  return ctx;
}

/**
 * On-screen size of every block title in view (computed font size × the canvas zoom), how many titles are in
 * the canvas pane, how many cards there are, and the zoom.
 */
export async function titleSizes(page: Page): Promise<{ px: number[]; inView: number; total: number; zoom: number }> {
  return page.evaluate(() => {
    const vp = document.querySelector('.react-flow__viewport') as HTMLElement;
    const zoom = new DOMMatrixReadOnly(getComputedStyle(vp).transform).a;
    const pane = document.querySelector('[data-testid="canvas"]')!.getBoundingClientRect();
    const titles = Array.from(document.querySelectorAll<HTMLElement>('.react-flow__node .block-kind'));
    const visible = titles.filter((t) => {
      const r = t.getBoundingClientRect();
      return r.right > pane.left && r.left < pane.right && r.bottom > pane.top && r.top < pane.bottom;
    });
    return { px: visible.map((t) => parseFloat(getComputedStyle(t).fontSize) * zoom), inView: visible.length, total: titles.length, zoom };
  });
}

/** One browser-mode API call (POST /api/<method> with the session token): the JSON reply. */
export async function apiCall<T = unknown>(s: Served, method: string, payload: unknown): Promise<{ ok: boolean; result: T; error?: { code: string; message: string } }> {
  const r = await fetch(`http://127.0.0.1:${s.port}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-reid-token': s.token }, body: JSON.stringify(payload) });
  return (await r.json()) as { ok: boolean; result: T; error?: { code: string; message: string } };
}

/** apiCall's result; throws the API's error message. */
async function apiResult<T>(s: Served, method: string, payload: unknown): Promise<T> {
  const j = await apiCall<T>(s, method, payload);
  if (!j.ok) throw new Error(`${method}: ${j.error?.message}`);
  return j.result;
}

/**
 * Trains a resnet18 (64×32) on the tiny demo dataset through the service (train.start, a training process)
 * and waits until the run ends; returns its id. For views that need a finished run.
 */
export async function trainDemoRun(s: Served, name: string, epochs: number): Promise<string> {
  const doc = buildPreset('resnet18', { input: [64, 32] });
  doc.training = { dataset: { kind: 'demo', demoSize: 'tiny' }, epochs, evalPeriod: epochs, batch: { p: 4, k: 4 } };
  const { runId } = await apiResult<{ runId: string }>(s, 'train.start', { doc: serializeDocument(doc), data: { kind: 'demo', size: 'tiny' }, name });
  for (;;) {
    const run = (await apiResult<{ id: string; status: string; active: boolean }[]>(s, 'runs.list', {})).find((r) => r.id === runId);
    if (run && !run.active && run.status !== 'running') return runId;
    await new Promise((ok) => setTimeout(ok, 1000));
  }
}
