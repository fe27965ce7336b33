/**
 * Run ids from payloads never leave the runs folder: `.`, `..`, paths and hidden names are refused by the
 * contract and by the service, through the real service and the browser-mode server, and nothing is
 * deleted; a real run id still works.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Service } from '../../main/service/index.js';
import { runFolder } from '../../main/runs/store/run-dir.js';
import { cleanup, serve, type Served } from '../e2e/harness.js';

const BAD_IDS = ['.', '..', '../..', '../runs', 'a/../..', '/', '/etc', '.hidden', 'x/y', '..\\..', '', 'a\0b'];

/** A data folder with a user file, a second run and the run `keep`; returns the paths that must survive. */
function populate(dataDir: string): string[] {
  const keep = join(dataDir, 'runs', '20260101-000000-keep');
  mkdirSync(keep, { recursive: true });
  writeFileSync(join(keep, 'run.json'), JSON.stringify({ id: '20260101-000000-keep', name: 'keep', status: 'completed', created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' }));
  writeFileSync(join(dataDir, 'recent.json'), '[]');
  writeFileSync(join(dataDir, 'runs', 'notes.txt'), 'mine');
  return [keep, join(dataDir, 'recent.json'), join(dataDir, 'runs', 'notes.txt')];
}

function makeRun(dataDir: string, id: string): string {
  const dir = join(dataDir, 'runs', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ id, name: id, status: 'stopped', created: '2026-01-02T00:00:00Z', updated: '2026-01-02T00:00:00Z' }));
  return dir;
}

describe('run ids in the service', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reid-runids-'));
  afterAll(() => cleanup(dataDir));

  it('runs.delete / rename / get / resume with . .. or a path are E_BAD_REQUEST and delete nothing', async () => {
    const svc = new Service({ host: 'browser', version: '0', dataDir, documentsDir: dataDir });
    const survivors = populate(dataDir);
    for (const runId of BAD_IDS)
      for (const [method, payload] of [
        ['runs.delete', { runId }],
        ['runs.rename', { runId, name: 'x' }],
        ['runs.get', { runId }],
        ['train.resume', { runId }],
        ['runs.ranklist', { runId }],
        ['runs.queries', { runId }],
      ] as const) {
        const r = await svc.dispatch(method, payload);
        expect(r.ok, `${method} ${JSON.stringify(runId)}`).toBe(false);
        if (!r.ok) expect(r.error.code).toBe('E_BAD_REQUEST');
      }
    for (const p of survivors) expect(existsSync(p)).toBe(true);
    // A real run is deleted, and only it.
    const gone = makeRun(dataDir, '20260102-000000-gone');
    expect(await svc.dispatch('runs.delete', { runId: '20260102-000000-gone' })).toEqual({ ok: true, result: { ok: true } });
    expect(existsSync(gone)).toBe(false);
    for (const p of survivors) expect(existsSync(p)).toBe(true);
    expect((await svc.call('runs.list', {})).map((r) => r.id)).toEqual(['20260101-000000-keep']);
  });

  it('the service check holds without the contract: runFolder refuses what would leave the folder', () => {
    for (const id of BAD_IDS) expect(() => runFolder('/data/runs', id)).toThrow(/invalid run id/);
    expect(runFolder('/data/runs', '20260101-000000-a.b_c')).toBe('/data/runs/20260101-000000-a.b_c');
  });

  it('a run.json whose id points elsewhere is listed under its folder name', async () => {
    const svc = new Service({ host: 'browser', version: '0', dataDir, documentsDir: dataDir });
    const dir = makeRun(dataDir, '20260103-000000-copied');
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ id: '..', name: 'copied', status: 'stopped', created: '2026-01-03T00:00:00Z', updated: '2026-01-03T00:00:00Z' }));
    expect((await svc.call('runs.list', {})).map((r) => r.id)).toContain('20260103-000000-copied');
    expect(await svc.dispatch('runs.delete', { runId: '20260103-000000-copied' })).toEqual({ ok: true, result: { ok: true } });
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(dataDir)).toBe(true);
  });
});

describe('run ids through the browser-mode server', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve();
  });
  afterAll(async () => {
    expect(await s.stop()).toBe(0);
    cleanup(s.home, s.docs);
  });

  const api = (method: string, payload: unknown): Promise<{ status: number; body: { ok: boolean; error?: { code: string; message: string } } }> =>
    new Promise((ok, fail) => {
      const req = request(
        { host: '127.0.0.1', port: s.port, path: `/api/${method}`, method: 'POST', headers: { host: `127.0.0.1:${s.port}`, 'content-type': 'application/json', 'x-reid-token': s.token } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => ok({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
        },
      );
      req.on('error', fail);
      req.end(JSON.stringify(payload));
    });

  it('runs.delete "." and ".." answer 400 and the data folder and its runs are intact', async () => {
    const info = await api('app.info', {});
    const dataDir = (info.body as unknown as { result: { dataDir: string } }).result.dataDir;
    const survivors = populate(dataDir);
    const before = readdirSync(dataDir).sort();
    for (const runId of BAD_IDS) {
      const r = await api('runs.delete', { runId });
      expect(r.status, JSON.stringify(runId)).toBe(400);
      expect(r.body.error!.code).toBe('E_BAD_REQUEST');
      expect(r.body.error!.message).toMatch(/^runId: invalid run id .* — runs.delete$/);
    }
    for (const p of survivors) expect(existsSync(p)).toBe(true);
    expect(readdirSync(dataDir).sort()).toEqual(before);
    makeRun(dataDir, '20260102-000000-gone');
    expect((await api('runs.delete', { runId: '20260102-000000-gone' })).status).toBe(200);
    expect(readdirSync(join(dataDir, 'runs')).sort()).toEqual(['20260101-000000-keep', 'notes.txt']);
  });
});
