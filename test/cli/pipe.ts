import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;

/**
 * Runs the CLI with stdout into a pipe that nobody reads for a second, as `reid-studio … | consumer`
 * does with a slow consumer: output past the kernel's 64 KiB pipe buffer must still arrive whole.
 * Returns stdout as read from the pipe, stderr, and the CLI's own exit status.
 */
export function cliThroughSlowPipe(args: string[], env: NodeJS.ProcessEnv = process.env): { stdout: string; stderr: string; status: number } {
  const dir = mkdtempSync(join(tmpdir(), 'reid-pipe-'));
  try {
    const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const cmd = [process.execPath, BIN, ...args].map(q).join(' ');
    const r = spawnSync('sh', ['-c', `{ ${cmd} 2> ${q(join(dir, 'err'))}; echo $? > ${q(join(dir, 'rc'))}; } | (sleep 1; cat)`], { encoding: 'utf8', env, timeout: 600_000, maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
    return { stdout: r.stdout, stderr: readFileSync(join(dir, 'err'), 'utf8'), status: Number(readFileSync(join(dir, 'rc'), 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
