/**
 * Backend resolution (main/tfjs/backend.ts): the native bindings are not installed on this machine
 * (their libtensorflow download is unreachable), so `auto` must fall through to wasm and say why.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BackendError, describeBackend, initBackend, parseBackendChoice } from '../../main/tfjs/index.js';

const nativeInstalled = (pkg: string) => existsSync(`node_modules/${pkg}/package.json`);

describe('backend resolution', () => {
  it('auto picks the fastest backend that loads and reports the skipped ones with the reason', async () => {
    const listeners = process.listeners('uncaughtException').length;
    // Two callers at once (the app asks for the backend status from two places): both get the same backend.
    const [r, concurrent] = await Promise.all([initBackend('auto'), initBackend('auto')]);
    expect(concurrent.backend).toBe(r.backend);
    // The wasm glue's rethrowing uncaughtException handler is removed again.
    expect(process.listeners('uncaughtException').length).toBe(listeners);
    expect(r.attempts.map((a) => a.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    for (const [name, pkg] of [['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'], ['tensorflow', '@tensorflow/tfjs-node']] as const) {
      const a = r.attempts.find((x) => x.name === name)!;
      if (!nativeInstalled(pkg)) {
        expect(a.status).toBe('not-installed');
        expect(a.message).toBe(`${pkg} is not installed`);
      } else expect(['selected', 'failed']).toContain(a.status);
    }
    if (r.backend === 'wasm') {
      expect(r.tfjsBackend).toBe('wasm');
      expect(r.reason).toMatch(/skipped tensorflow-gpu \((not-installed|failed)\), tensorflow \((not-installed|failed)\)/);
      expect(r.attempts.find((x) => x.name === 'cpu')!.status).toBe('not-tried');
    }
    expect(describeBackend(r)).toMatch(new RegExp(`^backend ${r.backend} `));
  });

  it('a forced backend is used or fails with the loader message', async () => {
    const cpu = await initBackend('cpu');
    expect(cpu).toMatchObject({ backend: 'cpu', tfjsBackend: 'cpu', reason: 'forced with --backend cpu' });
    const wasm = await initBackend('wasm');
    expect(wasm.backend).toBe('wasm');
    if (!nativeInstalled('@tensorflow/tfjs-node')) await expect(initBackend('tensorflow')).rejects.toThrow(BackendError);
    expect(() => parseBackendChoice('gpu')).toThrow(/unknown backend "gpu"/);
    expect(parseBackendChoice(undefined)).toBe('auto');
  });
});
