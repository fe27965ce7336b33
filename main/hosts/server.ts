import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { windowIdSchema, type EventMessage, type Reply } from '../../core/api/contract.js';
import type { Service } from '../service/index.js';

/**
 * Browser mode: the service over HTTP (calls) + WebSocket (events) on 127.0.0.1 only. Every request
 * needs the per-launch random token (query on first load, then an HttpOnly cookie for static files and
 * the X-ReID-Token header for API calls); cross-origin requests and foreign Host headers (DNS
 * rebinding) are refused. No behaviour lives here: calls go to Service.dispatch.
 */
export interface ServerOptions {
  service: Service;
  port?: number;
  staticDir?: string;
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** API request bodies (documents travel inside them; the service caps documents at 64 MB). */
export const MAX_BODY = 70 * 1024 * 1024;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.ico': 'image/x-icon',
};

/** The built renderer: next to the bundle (app/dist/renderer) or, from sources, ../../app/dist/renderer. */
export function defaultStaticDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [join(here, 'renderer'), resolve(here, '../../app/dist/renderer')];
  return candidates.find((c) => existsSync(join(c, 'index.html'))) ?? candidates[0]!;
}

function sameToken(a: string | undefined | null, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function deny(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { ok: false, error: { code: 'E_UNAUTHORIZED', message } } satisfies Reply<never>);
}

/** A request body above MAX_BODY: answered 413 with a JSON error (not a connection reset). */
class BodyTooLarge extends Error {}

/**
 * The request body as text, at most MAX_BODY bytes (checked against Content-Length first, then as it
 * arrives). Above the cap it rejects with BodyTooLarge at once and keeps discarding what the client still
 * sends, so the 413 reply reaches it over an orderly connection (closing a socket with unread data resets
 * it); a client sending more than 4 × MAX_BODY after that is disconnected.
 */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const refuse = () => {
      over = true;
      chunks.length = 0;
      fail(new BodyTooLarge(`request body larger than ${MAX_BODY / 2 ** 20} MB`));
    };
    if (Number(req.headers['content-length']) > MAX_BODY) refuse();
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) {
        if (size > 4 * MAX_BODY) req.destroy();
      } else if (size > MAX_BODY) refuse();
      else chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const staticDir = resolve(opts.staticDir ?? defaultStaticDir());
  const sockets = new Set<WebSocket>();
  let port = 0;
  const cookieName = () => `reid_token_${port}`; // cookies ignore ports: one name per server
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  /** Same-origin and local-Host checks shared by HTTP and WebSocket upgrades. */
  function originProblem(req: IncomingMessage): string | null {
    if (!allowedHosts().has(req.headers.host ?? '')) return 'unexpected Host header';
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) return 'cross-origin requests are not allowed';
    return null;
  }

  async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, setCookie: boolean): Promise<void> {
    let rel = decodeURIComponent(pathname);
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = normalize(join(staticDir, rel));
    if (!file.startsWith(staticDir + sep)) return deny(res, 403, 'forbidden path');
    let target = file;
    const st = await stat(target).catch(() => null);
    if (!st?.isFile()) {
      if (extname(rel)) return sendJson(res, 404, { ok: false, error: { code: 'E_NOT_FOUND', message: `no such file ${rel}` } });
      target = join(staticDir, 'index.html'); // client-side routes fall back to the app
    }
    let body: Buffer;
    try {
      body = await readFile(target);
    } catch {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('ReID Studio: the editor is not built; run "npm run build"\n');
      return;
    }
    const headers: Record<string, string> = {
      'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
      'cache-control': target.endsWith('index.html') ? 'no-store' : 'private, max-age=3600',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-security-policy': `default-src 'self'; connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; frame-ancestors 'none'`,
    };
    if (setCookie) headers['set-cookie'] = `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const problem = originProblem(req);
    if (problem) return deny(res, 403, problem);
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname.startsWith('/api/')) {
      // API calls need the header (not the cookie): a custom header cannot be sent cross-site without CORS.
      if (!sameToken(req.headers['x-reid-token'] as string | undefined, token)) return deny(res, 401, 'missing or wrong token');
      if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: { code: 'E_BAD_REQUEST', message: 'use POST' } });
      let payload: unknown;
      try {
        const text = await readBody(req);
        payload = text ? JSON.parse(text) : {};
      } catch (e) {
        if (e instanceof BodyTooLarge) return sendJson(res, 413, { ok: false, error: { code: 'E_BAD_REQUEST', message: e.message } });
        return sendJson(res, 400, { ok: false, error: { code: 'E_BAD_REQUEST', message: 'request body is not JSON' } });
      }
      const reply = await opts.service.dispatch(decodeURIComponent(url.pathname.slice(5)), payload);
      // The app's own client reads errors from the body and asks (`x-reid-errors: body`) for 200 on a user
      // error: a browser logs every 4xx reply as a console error, and a refused folder is not one (issue 22).
      // Other callers get the HTTP status of the error; an internal error is a 500 for everyone.
      const inBody = req.headers['x-reid-errors'] === 'body';
      const status = reply.ok ? 200 : reply.error.code === 'E_INTERNAL' ? 500 : inBody ? 200 : reply.error.code === 'E_UNKNOWN_METHOD' ? 404 : 400;
      return sendJson(res, status, reply);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { ok: false, error: { code: 'E_BAD_REQUEST', message: 'method not allowed' } });
    const queryOk = sameToken(url.searchParams.get('token'), token);
    if (!queryOk && !sameToken(cookie(req, cookieName()), token)) return deny(res, 401, 'missing or wrong token: open the URL printed by "reid-studio serve"');
    return serveStatic(req, res, url.pathname, queryOk);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'E_INTERNAL', message: e.message } });
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const problem = originProblem(req) ?? (url.pathname !== '/ws' ? 'no such endpoint' : null) ?? (sameToken(url.searchParams.get('token'), token) ? null : 'missing or wrong token');
    if (problem) {
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\n${problem}\n`);
      return;
    }
    // The page's window id: the service holds that window's autosave back from crash recovery while it is connected.
    const windowId = windowIdSchema.safeParse(url.searchParams.get('window'));
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const gone = windowId.success ? opts.service.windowConnected(windowId.data) : () => undefined;
      ws.on('close', () => (sockets.delete(ws), gone()));
      ws.on('error', () => (sockets.delete(ws), gone()));
      // Events flow server → client only; anything the client sends is ignored.
    });
  });
  const off = opts.service.onEvent((event, payload) => {
    const text = JSON.stringify({ event, payload } satisfies EventMessage);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      off();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
