/**
 * npm commands in the project print no warning (issue 22: every npm / npx command printed "Unknown project
 * config onnxruntime-node-install": npm 11 deprecates unknown .npmrc keys, npm 12 rejects them), and every
 * install path still tells onnxruntime-node's install script, through its own environment variable, not to
 * download its CUDA libraries (the app creates CPU sessions only; README "What runs where").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const npm = (cwd: string, ...args: string[]) => spawnSync('npm', args, { cwd, encoding: 'utf8', shell: process.platform === 'win32' });

describe('npm configuration', () => {
  for (const dir of ['.', 'app']) {
    it(`a plain npm command in ${dir}/ prints no warning`, () => {
      const r = npm(join(ROOT, dir), 'pkg', 'get', 'version');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toBe((JSON.parse(read(join(dir, 'package.json'))) as { version: string }).version);
      expect(r.stderr).not.toMatch(/npm warn/i);
    });
  }

  it('.ci/run, the release workflow and `npm run dist` install with ONNXRUNTIME_NODE_INSTALL=skip', () => {
    const ci = read('.ci/run').split('\n');
    const exported = ci.findIndex((l) => /^export ONNXRUNTIME_NODE_INSTALL=skip$/.test(l.trim()));
    expect(exported).toBeGreaterThanOrEqual(0);
    expect(ci.findIndex((l) => /^npm ci\b/.test(l.trim()))).toBeGreaterThan(exported);
    const steps = (YAML.parse(read('.github/workflows/release.yml')) as { jobs: Record<string, { steps: { run?: string; env?: Record<string, string> }[] }> }).jobs;
    const installs = Object.values(steps).flatMap((j) => j.steps.filter((s) => /\bnpm ci\b/.test(s.run ?? '')));
    expect(installs.length).toBeGreaterThan(0);
    for (const s of installs) expect(s.env?.ONNXRUNTIME_NODE_INSTALL).toBe('skip');
    expect(read('scripts/dist.mjs')).toMatch(/run\('npm', \['ci'[^\n]*env: \{ \.\.\.process\.env, ONNXRUNTIME_NODE_INSTALL: 'skip' \}/);
  });

  it("a plain `npm install` keeps onnxruntime-node offline: its install script is denied in allowScripts, the downloads users need are approved", () => {
    for (const dir of ['.', 'app']) {
      const pkg = JSON.parse(read(join(dir, 'package.json'))) as { allowScripts?: Record<string, boolean>; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
      expect(pkg.allowScripts?.['onnxruntime-node'], dir).toBe(false);
      const deps = { ...pkg.dependencies, ...pkg.optionalDependencies };
      for (const needed of ['electron', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu']) if (needed in deps) expect(pkg.allowScripts?.[needed], `${dir}: ${needed}`).toBe(true);
    }
    // npm itself reads the field: nothing installed here is left unreviewed (npm's own listing).
    const r = npm(ROOT, 'install-scripts', 'ls');
    expect([r.status, r.stdout.trim()]).toEqual([0, 'No packages with unreviewed install scripts.']);
  });

  it("onnxruntime-node's own install script, given that variable, downloads nothing and exits 0", () => {
    const script = join(ROOT, 'node_modules/onnxruntime-node/script/install.js');
    const cuda = join(ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so');
    const had = existsSync(cuda);
    // Any download would go to a closed port and fail: exit 0 means the script decided to skip.
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' } });
    expect([r.status, r.stdout + r.stderr]).toEqual([0, '']);
    expect(existsSync(cuda)).toBe(had);
  });
});
