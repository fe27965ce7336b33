import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

describe('autosave across windows (browser mode)', () => {
  it('a second window neither offers nor clears a live window’s autosave; once that window is gone, recovery is offered and Discard clears it', async () => {
    const text = serializeDocument(buildPreset('resnet18'));
    const a = await openWindow('window-aaaa-1111');
    expect((await call('autosave.write', { path: null, text, window: 'window-aaaa-1111' })).ok).toBe(true);
    expect(JSON.parse(readFileSync(autosave(), 'utf8')).window).toBe('window-aaaa-1111');

    // Window B opens (another browser: no shared Web Locks) while A is open with unsaved changes.
    const b = await openWindow('window-bbbb-2222');
    const start = await call('session.start', { window: 'window-bbbb-2222' });
    expect(start.result).toMatchObject({ recovery: null, recoveryHeld: true });
    // B opens or saves a document (or would press Discard): A's autosave stays.
    expect((await call('autosave.write', { path: null, text: null, window: 'window-bbbb-2222' })).ok).toBe(true);
    expect(existsSync(autosave())).toBe(true);
    // A itself still sees its own autosave as its own (a reload of A is a new id, see below).
    expect((await call('session.start', { window: 'window-aaaa-1111' })).result).toMatchObject({ recoveryHeld: false, recovery: { text } });

    // A crashes / is closed: its socket goes, and the next launch offers recovery of A's changes.
    a.terminate();
    await expect.poll(async () => (await call('session.start', { window: 'window-cccc-3333' })).result?.recoveryHeld).toBe(false);
    expect((await call('session.start', { window: 'window-cccc-3333' })).result).toMatchObject({ recovery: { path: null, text } });
    // Discard in that window clears it.
    expect((await call('autosave.write', { path: null, text: null, window: 'window-cccc-3333' })).ok).toBe(true);
    expect(existsSync(autosave())).toBe(false);
    b.close();
  });

  it('an autosave whose writer named no window (Electron, older clients) is offered as before', async () => {
    const text = serializeDocument(buildPreset('resnet34'));
    const w = await openWindow('window-dddd-4444');
    await call('autosave.write', { path: null, text });
    expect((await call('session.start', { window: 'window-dddd-4444' })).result).toMatchObject({ recoveryHeld: false, recovery: { text } });
    await call('autosave.write', { path: null, text: null, window: 'window-dddd-4444' });
    expect(existsSync(autosave())).toBe(false);
    w.close();
  });

  it('refuses a malformed window id', async () => {
    const r = await call('session.start', { window: '../x' });
    expect(r.ok).toBe(false);
  });
});
