import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPreset, serializeDocument } from '../../core/index.js';
import { Service } from '../../main/service/index.js';
import { EventEmitter } from 'node:events';
import { CALL_CHANNEL, guardPaths, PathGrants, registerIpc, registerWindows, WINDOW_CHANNEL, type InvokeEventLike, type IpcMainLike, type IpcMainOnLike, type MessageEventLike } from '../../main/hosts/electron/ipc.js';
import { CONTENT_SECURITY_POLICY, documentArg, isAllowedExternal, isAppUrl } from '../../main/hosts/electron/security.js';
import { restoreWindowState, saveWindowState } from '../../main/hosts/electron/window-state.js';

/** A recording stand-in for Electron's ipcMain: the real handler code runs, only the transport is absent. */
function fakeIpcMain() {
  const handlers = new Map<string, (e: InvokeEventLike, ...a: unknown[]) => Promise<unknown>>();
  const ipc: IpcMainLike = { handle: (c, l) => void handlers.set(c, l), removeHandler: (c) => void handlers.delete(c) };
  const invoke = (url: string | null, ...args: unknown[]) => handlers.get(CALL_CHANNEL)!({ senderFrame: url === null ? null : { url } }, ...args) as Promise<{ ok: boolean; error?: { code: string; message: string }; result?: unknown }>;
  return { ipc, invoke, handlers };
}

function setup(chosen: string | null = null) {
  const dir = mkdtempSync(join(tmpdir(), 'reid-ipc-'));
  const service = new Service({ host: 'electron', version: '0.0.0-test', dataDir: join(dir, 'state'), documentsDir: dir });
  const grants = new PathGrants();
  const { ipc, invoke, handlers } = fakeIpcMain();
  // Stand-in for Electron's dialog module: the user "chose" `chosen` (or cancelled).
  const dialogs = { open: async () => chosen, save: async () => chosen };
  const unregister = registerIpc(ipc, guardPaths(service, grants, dialogs));
  return { dir, grants, invoke, handlers, unregister, service };
}

const APP = 'app://reid-studio/index.html';

describe('Electron IPC host', () => {
  it('serves calls from the app window', async () => {
    const { invoke } = setup();
    const r = await invoke(APP, 'app.info', {});
    expect(r.ok).toBe(true);
    expect(r.result).toMatchObject({ host: 'electron', name: 'ReID Studio' });
  });

  it.each([
    ['a remote page', 'https://evil.example/'],
    ['a file:// page', 'file:///tmp/x.html'],
    ['a look-alike origin', 'app://reid-studio.evil/index.html'],
    ['no frame (destroyed)', null],
    ['a javascript: url', 'javascript:alert(1)'],
  ])('refuses calls from %s', async (_what, url) => {
    const { invoke } = setup();
    const r = await invoke(url, 'app.info', {});
    expect(r).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
  });

  it('invalid payloads get errors, not crashes', async () => {
    const { invoke } = setup();
    expect(await invoke(APP, 42, {})).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    expect(await invoke(APP, 'no.such.method', {})).toMatchObject({ ok: false, error: { code: 'E_UNKNOWN_METHOD' } });
    expect(await invoke(APP, 'app.info', { extra: 1 })).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    expect(await invoke(APP, 'recent.list', 'not an object')).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
  });

  it('documents open and save only at paths chosen in a system dialog; no file browser', async () => {
    const { dir, grants, invoke } = setup();
    const file = join(dir, 'model.json');
    const text = serializeDocument(buildPreset('resnet18'));
    writeFileSync(file, text);
    expect(await invoke(APP, 'doc.open', { path: file })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    expect(await invoke(APP, 'doc.save', { path: join(dir, 'x.json'), text })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    expect(await invoke(APP, 'fs.list', { dir })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    grants.grant(file);
    expect(await invoke(APP, 'doc.open', { path: file })).toMatchObject({ ok: true, result: { path: file, text } });
    const out = join(dir, 'saved.json');
    grants.grant(out);
    expect(await invoke(APP, 'doc.save', { path: out, text })).toMatchObject({ ok: true });
    expect(readFileSync(out, 'utf8')).toBe(text);
  });

  it('a path chosen in the native dialog is granted; train.start / dataset.inspect paths must be chosen too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-ipc-dlg-'));
    const file = join(dir, 'chosen.json');
    writeFileSync(file, serializeDocument(buildPreset('resnet18')));
    const { invoke } = setup(file);
    expect(await invoke(APP, 'dialog.open', { kind: 'document' })).toEqual({ ok: true, result: { native: true, path: file } });
    expect(await invoke(APP, 'doc.open', { path: file })).toMatchObject({ ok: true });
    expect(await invoke(APP, 'dialog.open', { kind: 'everything' })).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    const doc = serializeDocument(buildPreset('resnet18'));
    expect(await invoke(APP, 'train.start', { doc, data: { kind: 'demo', size: 'tiny' }, weights: '/etc/shadow' })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    expect(await invoke(APP, 'dataset.inspect', { data: { kind: 'folder', path: '/home' } })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    const cancelled = setup(null);
    expect(await cancelled.invoke(APP, 'dialog.save', {})).toEqual({ ok: true, result: { native: true, path: null } });
  });

  it('export, config import, evaluation and weights inspection take only dialog-chosen paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-ipc-ops-'));
    const out = join(dir, 'model.yml');
    const config = join(dir, 'base.yml');
    writeFileSync(config, 'MODEL:\n  NAME: resnet50\n  LAST_STRIDE: 1\n  NECK: bnneck\nTEST:\n  NECK_FEAT: after\nSOLVER:\n  MAX_EPOCHS: 7\n  EXTRA_KEY_WE_IGNORE: 1\n');
    const doc = serializeDocument(buildPreset('resnet18'));
    const graph = { kind: 'doc', text: doc };
    // Not chosen in a dialog: refused before the service runs (nothing written, nothing read).
    const { invoke, service } = setup(out);
    expect(await invoke(APP, 'export.run', { format: 'rsb-yaml', graph, out })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    expect(existsSync(out)).toBe(false);
    expect(await invoke(APP, 'config.import', { path: config })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    expect(await invoke(APP, 'weights.inspect', { path: '/etc/passwd' })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    expect(await invoke(APP, 'eval.run', { graph, data: { kind: 'folder', path: '/home' } })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    expect(await invoke(APP, 'export.run', { format: 'pytorch', graph, weights: { kind: 'file', path: '/etc/shadow' }, out })).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED' } });
    // The refusal check writes nothing and needs no path.
    const check = await invoke(APP, 'export.check', { format: 'fastreid-yaml', graph });
    expect(check).toMatchObject({ ok: true, result: { format: 'fastreid-yaml' } });
    // Chosen in the (stand-in) save dialog for an export: granted, written.
    expect(await invoke(APP, 'dialog.save', { suggestedName: 'model.yml', kind: 'export' })).toEqual({ ok: true, result: { native: true, path: out } });
    const written = await invoke(APP, 'export.run', { format: 'rsb-yaml', graph, out });
    expect(written).toMatchObject({ ok: true, result: { ok: true, files: [out], refusals: [] } });
    expect(readFileSync(out, 'utf8')).toMatch(/NAME: ['"]?resnet18/);
    // A config chosen in the open dialog (kind config) imports; ignored keys are listed.
    const picked = setup(config);
    expect(await picked.invoke(APP, 'dialog.open', { kind: 'config' })).toEqual({ ok: true, result: { native: true, path: config } });
    const imported = await picked.invoke(APP, 'config.import', { path: config });
    expect(imported).toMatchObject({ ok: true, result: { framework: 'rsb' } });
    expect((imported.result as { ignored: string[] }).ignored).toContain('SOLVER.EXTRA_KEY_WE_IGNORE');
    expect(await picked.invoke(APP, 'dialog.save', { kind: 'everything' })).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    // The service behind the host is the same one: a bad payload is its zod error, not a crash.
    expect(await service.dispatch('export.run', { format: 'caffe', graph, out })).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
  });

  it('browser mode has no native dialogs: the service answers native: false', async () => {
    const { service } = setup();
    expect(await service.dispatch('dialog.open', { kind: 'folder' })).toEqual({ ok: true, result: { native: false, path: null } });
  });

  it('unregisters its handler', () => {
    const { handlers, unregister } = setup();
    expect(handlers.has(CALL_CHANNEL)).toBe(true);
    unregister();
    expect(handlers.has(CALL_CHANNEL)).toBe(false);
  });
});

describe('Electron windows join the window liveness (autosave slots), as browser tabs’ sockets do', () => {
  /** Electron's ipcMain `on` channel as an EventEmitter (the real registration code runs; the transport is absent). */
  function windows() {
    const bus = new EventEmitter();
    const ipc: IpcMainOnLike = { on: (c, l) => bus.on(c, l), removeListener: (c, l) => bus.removeListener(c, l) };
    const { service } = setup();
    const unregister = registerWindows(ipc, service);
    /** A window's webContents: its IPC sender, destroyed or crashed by emitting. */
    const contents = (id: number) => Object.assign(new EventEmitter(), { id });
    const send = (sender: ReturnType<typeof contents>, windowId: unknown, url: string | null = APP) => bus.emit(WINDOW_CHANNEL, { sender, senderFrame: url === null ? null : { url } } as MessageEventLike, windowId);
    const text = serializeDocument(buildPreset('resnet18'));
    /** What another window's launch sees of `writer`'s unsaved changes (the only ones on disk). */
    const seen = async (writer: string) => {
      await service.call('autosave.write', { path: null, text, window: writer });
      const r = await service.call('session.start', { window: 'asker-window-0000' });
      await service.call('autosave.write', { path: null, text: null, window: writer }); // one check at a time
      return r.recovery?.window === writer ? 'offered' : r.recoveryHeld ? 'held' : 'none';
    };
    return { send, contents, seen, unregister, bus };
  }

  it('a registered window’s autosave is held while its webContents lives; destroyed or crashed, it is offered', async () => {
    const { send, contents, seen } = windows();
    const a = contents(1);
    expect(await seen('electron-aaaa-0001')).toBe('offered'); // never registered: counts as gone (as before)
    send(a, 'electron-aaaa-0001');
    expect(await seen('electron-aaaa-0001')).toBe('held');
    a.emit('destroyed');
    expect(await seen('electron-aaaa-0001')).toBe('offered');
    const b = contents(2);
    send(b, 'electron-bbbb-0002');
    expect(await seen('electron-bbbb-0002')).toBe('held');
    b.emit('render-process-gone'); // a crash: the reload after it is a new page with a new id
    expect(await seen('electron-bbbb-0002')).toBe('offered');
  });

  it('a reload (the same webContents naming a new id) releases the old page; untrusted frames and malformed ids are ignored', async () => {
    const { send, contents, seen, unregister, bus } = windows();
    const w = contents(3);
    send(w, 'electron-old0-0003');
    send(w, 'electron-new0-0003');
    expect(await seen('electron-old0-0003')).toBe('offered');
    expect(await seen('electron-new0-0003')).toBe('held');
    send(contents(4), 'electron-evil-0004', 'https://example.com/');
    send(contents(5), 'electron-none-0005', null);
    send(contents(6), '../../x');
    send(contents(7), 42);
    expect(await seen('electron-evil-0004')).toBe('offered');
    expect(await seen('electron-none-0005')).toBe('offered');
    unregister();
    expect(bus.listenerCount(WINDOW_CHANNEL)).toBe(0);
    expect(await seen('electron-new0-0003')).toBe('offered');
  });
});

describe('Electron security policy', () => {
  it('CSP allows only the app itself to run scripts', () => {
    const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval/);
  });

  it('navigation stays in the app; external links only to the allow-list over https', () => {
    expect(isAppUrl('app://reid-studio/index.html#x')).toBe(true);
    expect(isAppUrl('https://github.com/')).toBe(false);
    expect(isAllowedExternal('https://arxiv.org/abs/1903.07071')).toBe(true);
    expect(isAllowedExternal('http://arxiv.org/abs/1903.07071')).toBe(false);
    expect(isAllowedExternal('https://arxiv.org.evil.example/')).toBe(false);
    expect(isAllowedExternal('https://user:pw@github.com/')).toBe(false);
    expect(isAllowedExternal('file:///etc/passwd')).toBe(false);
  });

  it('file-association arguments: the first graph document on the command line', () => {
    expect(documentArg(['/opt/ReID Studio/reid-studio', '--no-sandbox', '/home/u/m.reidgraph'])).toBe('/home/u/m.reidgraph');
    expect(documentArg(['electron', 'app'])).toBeUndefined();
  });

  it('window state is restored only when it is still on a display', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-ws-'));
    await saveWindowState(dir, { x: 100, y: 80, width: 1200, height: 800, maximized: false });
    expect(restoreWindowState(dir, [{ x: 0, y: 0, width: 1920, height: 1080 }])).toMatchObject({ x: 100, width: 1200 });
    expect(restoreWindowState(dir, [{ x: 5000, y: 0, width: 1920, height: 1080 }])).toBeNull();
    writeFileSync(join(dir, 'window-state.json'), '{"x": "garbage"');
    expect(restoreWindowState(dir, [{ x: 0, y: 0, width: 1920, height: 1080 }])).toBeNull();
  });
});
