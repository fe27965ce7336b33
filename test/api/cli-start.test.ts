import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../e2e/harness.js';

const home = () => mkdtempSync(join(tmpdir(), 'reid-start-'));

/** Whether this machine can run Electron at all (its npm package and its downloaded binary). */
function electronUsable(): boolean {
  try {
    const bin = createRequire(import.meta.url)('electron') as unknown;
    return typeof bin === 'string';
  } catch {
    return false;
  }
}

describe('npm start / reid-studio start', () => {
  it('--browser starts browser mode, prints the URL line, and stops cleanly on Ctrl-C', async () => {
    const h = home();
    const p = spawn(process.execPath, ['bin/reid-studio.js', 'start', '--browser', '--no-open'], { env: { ...process.env, REID_STUDIO_HOME: h }, stdio: ['ignore', 'pipe', 'pipe'] });
    const line = await new Promise<string>((ok) => p.stdout.once('data', (d: Buffer) => ok(d.toString())));
    expect(line).toMatch(/^ReID Studio: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}\n$/);
    p.kill('SIGINT');
    expect(await new Promise((ok) => p.on('exit', ok))).toBe(0);
    cleanup(h);
  });

  it('--electron explains why Electron cannot start here instead of crashing (this build box has no binary)', () => {
    if (electronUsable()) return; // a machine with Electron opens the window instead: nothing to refuse
    const r = spawnSync(process.execPath, ['bin/reid-studio.js', 'start', '--electron'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^reid-studio: error: cannot start the Electron window: .+; run "npm start -- --browser" for browser mode\n$/);
  });

  it('refuses bad flags with one line', () => {
    const r = spawnSync(process.execPath, ['bin/reid-studio.js', 'serve', '--port', '70000'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('reid-studio: error: --port must be a number from 0 (any free port) to 65535, got "70000"\n');
    const both = spawnSync(process.execPath, ['bin/reid-studio.js', 'start', '--browser', '--electron'], { encoding: 'utf8', timeout: 20_000 });
    expect(both.stderr).toBe('reid-studio: error: choose one of --browser and --electron\n');
  });
});
