/**
 * `reid-studio --version` / `--help` start without the engines (issue 22: they loaded the whole 2 MB bundle,
 * TensorFlow.js and sharp first: 2 s and 125 MB). Asserted on what Node loads (an ESM load hook records
 * every module URL), not on time: bench/cli.ts measures the time. Runs the built CLI, as users do.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runRecordingModules } from './loaded-modules.js';

const DIST = pathToFileURL(fileURLToPath(new URL('../../app/dist/', import.meta.url))).href;
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), 'reid-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI with `args`; returns its stdout, exit code and every module URL it loaded. */
function loaded(args: string[]): { stdout: string; status: number | null; urls: string[] } {
  return runRecordingModules(args, join(dir, `${args.join('_').replace(/\W/g, '')}.log`));
}

describe('CLI start-up loads only what the command needs', () => {
  for (const args of [['--version'], ['--help'], ['help', 'train'], ['export', '--help']]) {
    it(`reid-studio ${args.join(' ')}: no engine, no package, under 100 KB of the bundle`, () => {
      const r = loaded(args);
      expect(r.status).toBe(0);
      if (args[0] === '--version') expect(r.stdout).toBe(`reid-studio ${VERSION}\n`);
      else expect(r.stdout).toMatch(/usage: reid-studio/);
      const ours = r.urls.filter((u) => u.startsWith(DIST));
      expect(ours.some((u) => u.endsWith('/cli.js'))).toBe(true); // the hook saw the bundle load
      // Only Node built-ins and our own bundle files: no TensorFlow.js, sharp, onnxruntime, ws, zod ….
      expect(r.urls.filter((u) => !u.startsWith('node:') && !u.startsWith(DIST) && !u.endsWith('/bin/reid-studio.js'))).toEqual([]);
      const bytes = ours.reduce((n, u) => n + statSync(fileURLToPath(u)).size, 0);
      expect(bytes).toBeLessThan(100_000);
    });
  }

  it('a command still loads its engine on demand (presets, summary)', () => {
    const p = loaded(['presets']);
    expect(p.status).toBe(0);
    expect(p.stdout.split('\n')).toContain('resnet50_ibn_a');
    const s = loaded(['summary', '--preset', 'resnet18', '--json']);
    expect(s.status).toBe(0);
    // torchvision resnet18: 11,689,512 parameters less its fc (512·1000 + 1000); BNNeck 2·512, classifier 512·751.
    expect((JSON.parse(s.stdout) as { totalParams: number }).totalParams).toBe(11_689_512 - 513_000 + 2 * 512 + 512 * 751);
  });
});
