import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian's python3 (numpy + torch 1.13); the pyenv python3 on PATH has no torch. */
export const PYTHON = '/usr/bin/python3';

/** Runs a reference script in test/training with a JSON request on stdin; returns its JSON reply. */
export function runPython<T>(script: string, request: unknown): T {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const out = execFileSync(PYTHON, [path], { input: JSON.stringify(request), maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
  return JSON.parse(out) as T;
}

/** Deterministic test data (mulberry32) independent of the code under test. */
export function testRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
