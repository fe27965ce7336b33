import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildPreset, serializeDocument } from '../../core/index.js';
import { startServer, type RunningServer } from '../../main/hosts/server.js';
import { Service } from '../../main/service/index.js';

/**
 * Two windows on one browser-mode server (tryout finding: a second tab, in another browser or profile where
 * Web Locks do not reach, offered "ReID Studio closed with unsaved changes" for the first tab's autosave, and
 * its Discard could delete it). The server decides from the writer's event WebSocket: real HTTP + WebSocket.
 */

let home = '';
let server: RunningServer;
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'reid-window-autosave-'));
  const service = new Service({ host: 'browser', version: '0.0.0-test', dataDir: join(home, 'data'), documentsDir: join(home, 'docs') });
  server = await startServer({ service, staticDir: join(home, 'static') });
});
afterAll(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

async function call(method: string, input: unknown): Promise<{ ok: boolean; result?: Record<string, unknown>; error?: { message: string } }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-reid-token': server.token, 'x-reid-errors': 'body' },
    body: JSON.stringify(input),
  });
  return (await res.json()) as { ok: boolean; result?: Record<string, unknown> };
}

/** A window as the renderer opens it (renderer/src/api/client.ts): its event socket names its window id. */
async function openWindow(id: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}&window=${id}`);
  await new Promise<void>((ok, fail) => (ws.once('open', () => ok()), ws.once('error', fail)));
  return ws;
}

const autosave = () => join(home, 'data', 'autosave.json');
/** A window's own autosave slot (main/service/autosave-slots.ts). */
const slot = (window: string) => join(home, 'data', 'autosave', `${window}.json`);

describe('autosave across windows (browser mode)', () => {
  it('a second window neither offers nor clears a live window’s autosave; once that window is gone, recovery is offered and Discard clears it', async () => {
    const text = serializeDocument(buildPreset('resnet18'));
    const a = await openWindow('window-aaaa-1111');
    expect((await call('autosave.write', { path: null, text, window: 'window-aaaa-1111' })).ok).toBe(true);
    expect(JSON.parse(readFileSync(slot('window-aaaa-1111'), 'utf8')).window).toBe('window-aaaa-1111');

    // Window B opens (another browser: no shared Web Locks) while A is open with unsaved changes.
    const b = await openWindow('window-bbbb-2222');
    const start = await call('session.start', { window: 'window-bbbb-2222' });
    expect(start.result).toMatchObject({ recovery: null, recoveryHeld: true });
    // B opens or saves a document (or would press Discard): A's autosave stays.
    expect((await call('autosave.write', { path: null, text: null, window: 'window-bbbb-2222', recovered: 'window-aaaa-1111' })).ok).toBe(true);
    expect(existsSync(slot('window-aaaa-1111'))).toBe(true);
    // A itself still sees its own autosave as its own (a reload of A is a new id, see below).
    expect((await call('session.start', { window: 'window-aaaa-1111' })).result).toMatchObject({ recoveryHeld: false, recovery: { text } });

    // A crashes / is closed: its socket goes, and the next launch offers recovery of A's changes.
    a.terminate();
    await expect.poll(async () => (await call('session.start', { window: 'window-cccc-3333' })).result?.recoveryHeld).toBe(false);
    expect((await call('session.start', { window: 'window-cccc-3333' })).result).toMatchObject({ recovery: { path: null, text, window: 'window-aaaa-1111' }, moreRecoveries: 0 });
    // Discard in that window clears it.
    expect((await call('autosave.write', { path: null, text: null, window: 'window-cccc-3333', recovered: 'window-aaaa-1111' })).ok).toBe(true);
    expect(existsSync(slot('window-aaaa-1111'))).toBe(false);
    b.close();
  });

  it('an autosave whose writer named no window (Electron, older clients) is offered as before', async () => {
    const text = serializeDocument(buildPreset('resnet34'));
    const w = await openWindow('window-dddd-4444');
    await call('autosave.write', { path: null, text });
    expect((await call('session.start', { window: 'window-dddd-4444' })).result).toMatchObject({ recoveryHeld: false, recovery: { text, window: 'legacy-autosave' } });
    // A save or open in a window leaves it; the Discard of its offer clears it.
    await call('autosave.write', { path: null, text: null, window: 'window-dddd-4444' });
    expect(existsSync(autosave())).toBe(true);
    await call('autosave.write', { path: null, text: null, window: 'window-dddd-4444', recovered: 'legacy-autosave' });
    expect(existsSync(autosave())).toBe(false);
    w.close();
  });

  it('two live windows keep their own slots; a crashed one is offered (only) once its window is gone; a clear removes only the clearing window’s slot', async () => {
    const [ta, tb] = [serializeDocument(buildPreset('resnet18')), serializeDocument(buildPreset('resnet34'))];
    const [A, B, C] = ['window-eeee-5555', 'window-ffff-6666', 'window-gggg-7777'];
    const [a, b] = [await openWindow(A), await openWindow(B)];
    await call('autosave.write', { path: null, text: ta, window: A });
    await call('autosave.write', { path: '/x/b.reid.json', text: tb, window: B });
    // Each window's unsaved changes are in its own file (before, the later writer replaced the other's).
    expect(JSON.parse(readFileSync(slot(A), 'utf8'))).toMatchObject({ window: A, text: ta, path: null });
    expect(JSON.parse(readFileSync(slot(B), 'utf8'))).toMatchObject({ window: B, text: tb, path: '/x/b.reid.json' });
    // A file the app did not write, in the slots' folder, is never read or removed.
    writeFileSync(join(home, 'data', 'autosave', 'notes.txt'), 'mine');
    a.terminate(); // A crashes
    await expect.poll(async () => (await call('session.start', { window: C })).result?.recovery).toMatchObject({ window: A, text: ta });
    expect((await call('session.start', { window: C })).result).toMatchObject({ recoveryHeld: false, moreRecoveries: 0 });
    // C recovers A's changes: they move into C's slot; B's stays.
    const c = await openWindow(C);
    await call('autosave.write', { path: null, text: ta, window: C, recovered: A });
    expect(existsSync(slot(A))).toBe(false);
    expect(JSON.parse(readFileSync(slot(C), 'utf8'))).toMatchObject({ window: C, text: ta });
    // B saves: only B's slot goes; a `recovered` naming a live window's slot removes nothing.
    await call('autosave.write', { path: null, text: null, window: B, recovered: C });
    expect(existsSync(slot(B))).toBe(false);
    expect(existsSync(slot(C))).toBe(true);
    c.close();
    b.close();
    await expect.poll(async () => (await call('session.start', { window: 'window-hhhh-8888' })).result?.recovery).toMatchObject({ window: C });
    await call('autosave.write', { path: null, text: null, window: 'window-hhhh-8888', recovered: C });
    expect(readdirSync(join(home, 'data', 'autosave')).filter((n) => n.endsWith('.json'))).toEqual([]);
    expect(readFileSync(join(home, 'data', 'autosave', 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('several gone windows are offered newest first, one at a time; the slots are bounded', async () => {
    const text = serializeDocument(buildPreset('resnet18'));
    for (const [w, at] of [['window-old0-0001', 1], ['window-new0-0002', 2]] as const) {
      mkdirSync(join(home, 'data', 'autosave'), { recursive: true });
      writeFileSync(slot(w), JSON.stringify({ path: null, text, savedAt: `2026-01-0${at}T00:00:00.000Z`, window: w }));
    }
    const asker = 'window-iiii-9999';
    expect((await call('session.start', { window: asker })).result).toMatchObject({ recovery: { window: 'window-new0-0002' }, moreRecoveries: 1 });
    await call('autosave.write', { path: null, text: null, window: asker, recovered: 'window-new0-0002' });
    expect((await call('session.start', { window: asker })).result).toMatchObject({ recovery: { window: 'window-old0-0001' }, moreRecoveries: 0 });
    await call('autosave.write', { path: null, text: null, window: asker, recovered: 'window-old0-0001' });
    // MAX_AUTOSAVE_SLOTS (32) windows with unsaved changes: a 33rd is refused in one line; an existing slot still updates.
    const ids = Array.from({ length: 32 }, (_, i) => `window-max0-${String(i).padStart(4, '0')}`);
    for (const w of ids) expect((await call('autosave.write', { path: null, text, window: w })).ok).toBe(true);
    const over = await call('autosave.write', { path: null, text, window: 'window-max0-9999' });
    expect(over.ok).toBe(false);
    expect(over.error?.message).toMatch(/^autosave refused: 32 windows already hold unsaved changes \(at most 32\)/);
    expect((await call('autosave.write', { path: null, text, window: ids[0] })).ok).toBe(true);
    for (const w of ids) await call('autosave.write', { path: null, text: null, window: w });
  });

  it('refuses a malformed window id', async () => {
    const r = await call('session.start', { window: '../x' });
    expect(r.ok).toBe(false);
  });
});
