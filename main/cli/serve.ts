import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { appVersion } from '../io/app-version.js';
import { Service } from '../service/index.js';
import { startServer, type RunningServer } from '../hosts/server.js';
import { CliError } from './errors.js';
import { statSync } from 'node:fs';

/** Re-exported for main.ts (`--version`); it lives in main/io so the Electron host need not import the CLI. */
export { appVersion };

/** Best-effort: open the URL in the desktop browser; silently does nothing on a headless box. */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer.exe' : 'xdg-open';
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  try {
    const child = spawn(cmd, [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no browser launcher: the printed URL is enough
  }
}

export const SERVE_OPTIONS = {
  port: { type: 'string' },
  'no-open': { type: 'boolean' },
  'data-dir': { type: 'string' },
} as const;

/** Starts browser mode and keeps running until SIGINT / SIGTERM, then closes cleanly. */
export async function runBrowserMode(values: { port?: string; 'no-open'?: boolean; 'data-dir'?: string }): Promise<void> {
  let port = 0;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new CliError(`--port must be a number from 0 (any free port) to 65535, got "${values.port}"`);
  }
  const dataDir = values['data-dir'];
  if (dataDir !== undefined) {
    // The data folder holds runs, autosaves and the demo cache: a file or a device (/dev/null) is no folder.
    let st;
    try {
      st = statSync(resolve(dataDir));
    } catch {
      st = null; // missing: created on first use
    }
    if (!dataDir || (st && !st.isDirectory())) throw new CliError(`--data-dir must be a folder (${dataDir || '""'} is ${st ? 'not a folder' : 'empty'})`);
  }
  const service = new Service({ host: 'browser', version: appVersion(), ...(dataDir ? { dataDir: resolve(dataDir) } : {}) });
  let server: RunningServer;
  try {
    server = await startServer({ service, port });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new CliError(`port ${port} is already in use; pick another with --port or omit it`);
    if (err.code === 'EACCES') throw new CliError(`no permission to listen on port ${port}`);
    throw e;
  }
  // Handlers go in before the URL is printed: a script may send Ctrl-C as soon as it reads the line.
  const stopped = new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close().then(done, done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  // Scripts parse this exact line: keep its format.
  process.stdout.write(`ReID Studio: ${server.url}\n`);
  if (!values['no-open']) openBrowser(server.url);
  await stopped;
}

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: SERVE_OPTIONS });
  await runBrowserMode(values);
}
