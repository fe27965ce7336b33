import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian's python3 with PyTorch 1.13 (the reference oracle; installed by .ci/run). */
export const PYTHON = '/usr/bin/python3';

export function runPython<T>(script: string, input: unknown): T {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const out = execFileSync(PYTHON, [path], { input: JSON.stringify(input), maxBuffer: 64 << 20, encoding: 'utf8' });
  return JSON.parse(out) as T;
}
