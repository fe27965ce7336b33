/**
 * Runs the built CLI as users do, recording every module URL Node loads (a `module.register` load hook appends
 * each URL to a file): what start-up and the engine-free commands load is asserted on this list, not on time.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));

/** Node's module.register hooks: every URL the loader loads is appended to the file named in `data`. */
const HOOKS = `import { appendFileSync } from 'node:fs'; let out; export function initialize(d) { out = d; }
export async function load(url, context, next) { appendFileSync(out, url + '\\n'); return next(url, context); }`;

/** Runs the CLI with `args`, the URLs going to `log`; returns its stdout, stderr, exit code and the URLs. */
export function runRecordingModules(args: string[], log: string, timeout = 60_000): { stdout: string; stderr: string; status: number | null; urls: string[] } {
  const boot = `import { register } from 'node:module'; register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(HOOKS))}, import.meta.url, { data: ${JSON.stringify(log)} });`;
  const r = spawnSync(process.execPath, ['--import', 'data:text/javascript,' + encodeURIComponent(boot), BIN, ...args], { encoding: 'utf8', timeout });
  let urls: string[] = [];
  try {
    urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch {
    /* nothing loaded through the hook: the caller's assertions say so */
  }
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, urls };
}
