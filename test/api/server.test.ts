import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanup, serve, type Served } from '../e2e/harness.js';

let s: Served;
beforeAll(async () => {
  s = await serve();
});
afterAll(async () => {
  expect(await s.stop()).toBe(0);
  cleanup(s.home, s.docs);
});

/** Raw HTTP so Host / Origin headers can be set as an attacker would. */
function http(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: s.port, path, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${s.port}`, ...opts.headers } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}
const api = (method: string, body: string, headers: Record<string, string> = {}) =>
  http(`/api/${method}`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-reid-token': s.token, ...headers } });

describe('browser-mode server', () => {
  it('prints one URL line with a random token (checked by the harness) and serves the app only with it', async () => {
    expect(s.token.length).toBeGreaterThanOrEqual(24);
    expect((await http('/')).status).toBe(401);
    expect((await http('/?token=wrong')).status).toBe(401);
    const ok = await http(`/?token=${s.token}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('<div id="root">');
    const cookie = String(ok.headers['set-cookie']).split(';')[0]!;
    expect(String(ok.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect(ok.headers['content-security-policy']).toMatch(/default-src 'self'/);
    // Assets load with the cookie the first page set.
    const js = /src="\.\/(assets\/[^"]+\.js)"/.exec(ok.body)![1]!;
    expect((await http(`/${js}`, { headers: { cookie } })).status).toBe(200);
    expect((await http(`/${js}`)).status).toBe(401);
  });

  it('API calls need the token header; the cookie alone is not enough', async () => {
    expect((await api('app.info', '{}', { 'x-reid-token': 'nope' })).status).toBe(401);
    const r = await api('app.info', '{}');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ok: true, result: { host: 'browser', name: 'ReID Studio' } });
  });

  it('refuses cross-origin requests and foreign Host headers (DNS rebinding)', async () => {
    expect((await api('app.info', '{}', { origin: 'http://evil.example' })).status).toBe(403);
    expect((await http(`/?token=${s.token}`, { headers: { host: 'evil.example' } })).status).toBe(403);
    expect((await api('app.info', '{}', { origin: `http://127.0.0.1:${s.port}` })).status).toBe(200);
  });

  it('bad payloads get errors, not crashes', async () => {
    const notJson = await api('doc.open', '{oops');
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body).error.code).toBe('E_BAD_REQUEST');
    const wrongType = await api('doc.save', JSON.stringify({ path: 5, text: [] }));
    expect(wrongType.status).toBe(400);
    expect(JSON.parse(wrongType.body).error.message).toMatch(/^path: must be a string, not a number — doc.save$/);
    expect((await api('no.such', '{}')).status).toBe(404);
    expect((await http('/api/app.info', { headers: { 'x-reid-token': s.token } })).status).toBe(405);
    expect((await http(`/..%2f..%2f..%2fetc%2fpasswd?token=${s.token}`)).status).toBe(403);
    expect((await http(`/../../etc/passwd?token=${s.token}`)).body).not.toContain('root:');
    // Still alive after all of that.
    expect((await api('app.info', '{}')).status).toBe(200);
  });

  it('WebSocket events need the token and a same-origin page', async () => {
    const open = (url: string, origin?: string) =>
      new Promise<string>((ok) => {
        const ws = new WebSocket(url, origin ? { origin } : {});
        ws.on('open', () => (ws.close(), ok('open')));
        ws.on('unexpected-response', (_, res) => ok(`refused ${res.statusCode}`));
        ws.on('error', () => ok('error'));
      });
    expect(await open(`ws://127.0.0.1:${s.port}/ws?token=bad`)).toBe('refused 403');
    expect(await open(`ws://127.0.0.1:${s.port}/ws?token=${s.token}`, 'http://evil.example')).toBe('refused 403');
    expect(await open(`ws://127.0.0.1:${s.port}/ws?token=${s.token}`, `http://127.0.0.1:${s.port}`)).toBe('open');
  });

  it('pushes events to connected pages (recent files changed after a save)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws?token=${s.token}`);
    await new Promise((ok) => ws.on('open', ok));
    const got = new Promise<{ event: string; payload: { path: string }[] }>((ok) => ws.on('message', (m) => ok(JSON.parse(String(m)))));
    const text = JSON.stringify({ format: 'reid-studio-graph', version: 1, graph: { nodes: [], edges: [] } });
    expect((await api('doc.save', JSON.stringify({ path: `${s.docs}/empty.json`, text }))).status).toBe(200);
    const msg = await got;
    expect(msg.event).toBe('recent.changed');
    expect(msg.payload[0]!.path).toBe(`${s.docs}/empty.json`);
    ws.close();
  });
});
