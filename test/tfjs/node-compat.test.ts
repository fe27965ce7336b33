/**
 * tfjs-node 4.22 on Node ≥ 23: the guarded `util.is*` shim (main/tfjs/node-compat.ts), checked in a child
 * process whose `node:util` lost the functions as on Node 23; and the native-backend smoke test (a 3×3
 * convolution forward + backward against the wasm backend) passing a correct backend and rejecting a
 * backend whose Conv2D kernel is wrong.
 */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../main/tfjs/index.js';
import { smokeTestBackend } from '../../main/tfjs/backend.js';

const SHIM = fileURLToPath(new URL('../../main/tfjs/node-compat.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('util.is* shim for tfjs-node on Node ≥ 23', () => {
  it('restores util.isNullOrUndefined / util.isArray deleted from node:util, with Node\'s semantics, for require(\'util\') too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-util-shim-'));
    try {
      const script = join(dir, 'child.mts');
      writeFileSync(
        script,
        `import util from 'node:util';
import { createRequire } from 'node:module';
delete (util as any).isNullOrUndefined;
delete (util as any).isArray;
const before = [typeof (util as any).isNullOrUndefined, typeof (util as any).isArray];
const { installNodeUtilShim } = await import(${JSON.stringify(SHIM)});
const added = installNodeUtilShim();
const u = createRequire(import.meta.url)('util');
const checks = [u.isNullOrUndefined(null), u.isNullOrUndefined(undefined), u.isNullOrUndefined(0), u.isNullOrUndefined(''), u.isArray([]), u.isArray({ length: 0 }), u.isArray(new Float32Array(1))];
const again = installNodeUtilShim();
process.stdout.write(JSON.stringify({ before, added, checks, again, inspect: typeof u.inspect }));
`,
      );
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: ROOT, timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.before).toEqual(['undefined', 'undefined']);
      expect(out.added).toEqual(expect.arrayContaining(['isNullOrUndefined', 'isArray']));
      // Node's documented results: null / undefined only; Array.isArray.
      expect(out.checks).toEqual([true, true, false, false, true, false, false]);
      expect(out.again).toEqual([]);
      expect(out.inspect).toBe('function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never replaces a function Node still has', async () => {
    const util = (await import('node:util')).default as unknown as Record<string, unknown>;
    const { installNodeUtilShim } = await import('../../main/tfjs/node-compat.js');
    const present = Object.keys(util).filter((k) => k.startsWith('is') && typeof util[k] === 'function');
    const before = present.map((k) => util[k]);
    const added = installNodeUtilShim();
    expect(added.filter((k) => present.includes(k))).toEqual([]);
    expect(present.map((k) => util[k])).toEqual(before);
  });
});

describe('native backend smoke test (conv forward + backward vs wasm)', () => {
  afterAll(async () => {
    await initBackend('wasm');
    await tf.setBackend('wasm');
  });

  it('passes a backend that computes correctly (the JS cpu backend)', async () => {
    await initBackend('wasm');
    await expect(smokeTestBackend('cpu')).resolves.toBeUndefined();
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects a backend whose Conv2D is wrong, naming what differed', async () => {
    const name = 'reid-broken-conv';
    if (!tf.findBackend(name)) {
      tf.registerBackend(name, () => new MathBackendCPU());
      for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: name });
      const conv = tf.getKernel('Conv2D', 'cpu')!;
      tf.unregisterKernel('Conv2D', name);
      // 1 % too large: the kind of error a mismatched native library produces.
      tf.registerKernel({
        kernelName: 'Conv2D',
        backendName: name,
        kernelFunc: (args) => {
          const y = conv.kernelFunc(args) as tf.TensorInfo;
          const backend = args.backend as MathBackendCPU;
          const v = backend.data.get(y.dataId).values as Float32Array;
          for (let i = 0; i < v.length; i++) v[i]! *= 1.01;
          return y;
        },
      });
    }
    await expect(smokeTestBackend(name)).rejects.toThrow(/smoke test failed: a 3×3 convolution's loss on reid-broken-conv differs from wasm by/);
  });
});
