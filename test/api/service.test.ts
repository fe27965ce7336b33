import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreset, serializeDocument } from '../../core/index.js';
import { Service } from '../../main/service/index.js';
import { cleanup } from '../e2e/harness.js';

let home: string;
let docs: string;
let svc: Service;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'reid-svc-home-'));
  docs = mkdtempSync(join(tmpdir(), 'reid-svc-docs-'));
  svc = new Service({ host: 'browser', version: '9.9.9', dataDir: home, documentsDir: docs });
});
afterAll(() => cleanup(home, docs));

describe('service: payload validation', () => {
  it.each([
    ['doc.open', { path: 42 }, /path/],
    ['doc.open', {}, /path/],
    ['doc.open', { path: 'relative/file.json' }, /absolute/],
    ['doc.open', { path: '/tmp/a\0b.json' }, /NUL/],
    ['doc.save', { path: '/tmp/x.json' }, /text/],
    ['doc.save', { path: '/tmp/x.json', text: 'x', extra: 1 }, /extra|unrecognized/i],
    ['fs.list', null, /dir/],
    ['autosave.write', { path: null }, /text/],
  ])('%s %j → E_BAD_REQUEST', async (method, payload, message) => {
    const r = await svc.dispatch(method, payload);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('E_BAD_REQUEST');
      expect(r.error.message).toMatch(message);
    }
  });

  it('unknown methods and prototype keys are refused, not crashed on', async () => {
    for (const m of ['nope', '__proto__', 'constructor', 'toString']) {
      const r = await svc.dispatch(m, {});
      expect(r).toEqual({ ok: false, error: { code: 'E_UNKNOWN_METHOD', message: `unknown API method "${m}"` } });
    }
  });

  it('refuses to save text that is not a graph document, and writes nothing', async () => {
    const path = join(docs, 'bad.json');
    const r = await svc.dispatch('doc.save', { path, text: '{"format":"something-else"}' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('E_INVALID_DOCUMENT');
    expect(readdirSync(docs)).toEqual([]);
  });

  it('opening a missing file, a folder or a newer-version document gives a clear error', async () => {
    const missing = await svc.dispatch('doc.open', { path: join(docs, 'missing.json') });
    expect(!missing.ok && missing.error).toMatchObject({ code: 'E_NOT_FOUND' });
    const folder = await svc.dispatch('doc.open', { path: docs });
    expect(!folder.ok && folder.error.message).toMatch(/folder/);
    const newer = join(docs, 'newer.json');
    writeFileSync(newer, JSON.stringify({ format: 'reid-studio-graph', version: 99, graph: { nodes: [], edges: [] } }));
    const r = await svc.dispatch('doc.open', { path: newer });
    expect(!r.ok && r.error).toMatchObject({ code: 'E_INVALID_DOCUMENT' });
    expect(!r.ok && r.error.message).toMatch(/newer ReID Studio/);
  });
});

describe('service: documents, recent files, autosave', () => {
  it('saves atomically (no temp files left), reopens the same bytes, and records recent files', async () => {
    const text = serializeDocument(buildPreset('resnet18'));
    const path = join(docs, 'sub', 'r18.json');
    mkdirSync(join(docs, 'sub'));
    const saved = await svc.call('doc.save', { path, text });
    expect(saved).toEqual({ path, bytes: Buffer.byteLength(text) });
    expect(readdirSync(join(docs, 'sub'))).toEqual(['r18.json']);
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(await svc.call('doc.open', { path })).toEqual({ path, text });
    const recent = await svc.call('recent.list', {});
    expect(recent[0]).toMatchObject({ path, name: 'r18.json' });
    expect(JSON.parse(readFileSync(join(home, 'recent.json'), 'utf8'))[0].path).toBe(path);
  });

  it('saves and lists .reidgraph documents (the registered file type, electron-builder.yml) as well as .json; other names are refused', async () => {
    const ext = /fileAssociations:[\s\S]*?ext:\s*(\w+)/.exec(readFileSync(new URL('../../electron-builder.yml', import.meta.url), 'utf8'))![1];
    const text = serializeDocument(buildPreset('resnet18'));
    const dir = mkdtempSync(join(tmpdir(), 'reid-svc-types-'));
    const own = mkdtempSync(join(tmpdir(), 'reid-svc-types-home-'));
    const svc = new Service({ host: 'browser', version: '9.9.9', dataDir: own, documentsDir: dir });
    const path = join(dir, `model.${ext}`);
    expect(await svc.call('doc.save', { path, text })).toEqual({ path, bytes: Buffer.byteLength(text) });
    expect(await svc.call('doc.open', { path })).toEqual({ path, text });
    writeFileSync(join(dir, 'old.json'), text);
    writeFileSync(join(dir, 'notes.txt'), 'x');
    expect((await svc.call('fs.list', { dir })).entries.map((e) => e.name)).toEqual([`model.${ext}`, 'old.json']);
    const r = await svc.dispatch('doc.save', { path: join(dir, 'model.txt'), text });
    expect(r.ok).toBe(false);
    cleanup(dir, own);
  });

  it('session.start reopens the last document and offers the autosaved state until it is cleared', async () => {
    const text = serializeDocument(buildPreset('resnet34'));
    await svc.call('autosave.write', { path: null, text });
    // A new service instance = a new launch after a crash.
    const next = new Service({ host: 'browser', version: '9.9.9', dataDir: home, documentsDir: docs });
    const start = await next.call('session.start', {});
    expect(start.recovery).toMatchObject({ path: null, text });
    expect(start.last?.path).toBe(join(docs, 'sub', 'r18.json'));
    await next.call('autosave.write', { path: null, text: null });
    expect((await next.call('session.start', {})).recovery).toBeNull();
  });

  it('a corrupt recent list or autosave never blocks a launch', async () => {
    const h = mkdtempSync(join(tmpdir(), 'reid-svc-corrupt-'));
    writeFileSync(join(h, 'recent.json'), '{not json');
    writeFileSync(join(h, 'autosave.json'), '[1,2,3]');
    const s2 = new Service({ host: 'browser', version: '1', dataDir: h });
    expect(await s2.call('session.start', {})).toEqual({ recovery: null, recoveryHeld: false, moreRecoveries: 0, last: null, lastError: null });
    cleanup(h);
  });

  it('fs.list shows folders and .json documents only', async () => {
    writeFileSync(join(docs, 'notes.txt'), 'x');
    const r = await svc.call('fs.list', { dir: docs });
    expect(r.entries.map((e) => e.name)).toEqual(['sub', 'newer.json']);
    expect(r.parent).toBe(join(docs, '..'));
  });
});
