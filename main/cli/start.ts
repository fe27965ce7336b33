import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CliError } from './errors.js';
import { runBrowserMode, SERVE_OPTIONS } from './serve.js';

/**
 * Why Electron cannot start here, or null with the binary and app entry when it can. Electron is an
 * optional dependency: its npm package may be present while its binary download failed (this build box).
 */
export function electronProblem(): { problem: string } | { binary: string; appDir: string } {
  const require = createRequire(import.meta.url);
  let binary: unknown;
  try {
    require.resolve('electron');
  } catch {
    return { problem: 'the electron package is not installed' };
  }
  try {
    binary = require('electron');
  } catch (e) {
    return { problem: `Electron's binary is missing (${(e as Error).message.split('\n')[0]})` };
  }
  if (typeof binary !== 'string' || !existsSync(binary)) return { problem: "Electron's binary is missing" };
  // The shell's entry lives in app/ (electron-builder's app directory), next to this bundle in app/dist.
  let appDir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(appDir, 'dist', 'electron-main.js')) && dirname(appDir) !== appDir) {
    if (existsSync(join(appDir, 'app', 'dist', 'electron-main.js'))) {
      appDir = join(appDir, 'app');
      break;
    }
    appDir = dirname(appDir);
  }
  if (!existsSync(join(appDir, 'dist', 'electron-main.js'))) return { problem: 'the Electron shell is not built (app/dist/electron-main.js)' };
  return { binary, appDir };
}

/** `npm start`: the Electron window when Electron works, else browser mode. --browser / --electron force one. */
export async function startCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...SERVE_OPTIONS, browser: { type: 'boolean' }, electron: { type: 'boolean' } } });
  if (values.browser && values.electron) throw new CliError('choose one of --browser and --electron');
  const e = values.browser ? { problem: '--browser' } : electronProblem();
  if ('problem' in e) {
    if (values.electron) throw new CliError(`cannot start the Electron window: ${e.problem}; run "npm start -- --browser" for browser mode`);
    if (!values.browser) process.stderr.write(`reid-studio: ${e.problem}; starting browser mode\n`);
    return runBrowserMode(values);
  }
  const child = spawn(e.binary, [e.appDir], { stdio: 'inherit' });
  await new Promise<void>((done, fail) => {
    child.on('error', (err) => fail(new CliError(`could not launch Electron: ${err.message}`)));
    child.on('exit', (code) => (code ? fail(new CliError(`Electron exited with code ${code}`, code)) : done()));
  });
}
