import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY, startServer, type RunningServer } from '../../main/hosts/server.js';
import { Service } from '../../main/service/index.js';

/**
 * Browser mode answers an API body above its cap with 413 and a JSON error over real HTTP (the reliability
 * case: the connection used to be reset), whether the client declares the size or streams it chunked, and
 * keeps serving afterwards.
 */

let home = '';
let server: RunningServer;
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'reid-server-limits-'));
  const service = new Service({ host: 'browser', version: '0.0.0-test', dataDir: join(home, 'data'), documentsDir: join(home, 'docs') });
  server = await startServer({ service, staticDir: join(home, 'static') });
});
afterAll(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

/**
 * POSTs `{}` padded with spaces to `total` bytes (valid JSON of any size) in 1 MiB chunks, honouring
 * back-pressure; resolves with the response.
 */
function post(method: string, total: number, declareLength: boolean): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${server.port}`, 'content-type': 'application/json', 'x-reid-token': server.token };
    if (declareLength) headers['content-length'] = String(total);
    const req = request({ host: '127.0.0.1', port: server.port, path: `/api/${method}`, method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      res.on('error', fail);
    });
    req.on('error', fail);
    const chunk = Buffer.alloc(1 << 20, 0x20); // spaces: JSON whitespace
    req.write('{}');
    let sent = 2;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('API body cap', () => {
  it(`a body of cap + 1 bytes (${MAX_BODY + 1}) gets 413 with a JSON error, declared or chunked`, async () => {
    for (const declared of [true, false]) {
      const r = await post('app.info', MAX_BODY + 1, declared);
      expect(r.status, `content-length declared: ${declared}`).toBe(413);
      expect(JSON.parse(r.body)).toEqual({ ok: false, error: { code: 'E_BAD_REQUEST', message: 'request body larger than 70 MB' } });
    }
  });

  it('a body of exactly the cap is read and answered, after the refusals', async () => {
    const r = await post('app.info', MAX_BODY, true);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ok: true, result: { name: 'ReID Studio', host: 'browser' } });
  });
});
