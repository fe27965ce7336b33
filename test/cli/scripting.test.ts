/**
 * The CLI as a scripting tool: JSON of any size survives a pipe whose reader is slow, every command has
 * `--help` (covering every flag README documents for it) and the documented exit codes, long commands
 * report progress (`--progress json`: one JSON object per line on stderr), and `embed` writes .npy /
 * .safetensors / .json read back by NumPy.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliThroughSlowPipe } from './pipe.js';
import { generateFixtures, maxDiff, readF32, type ParityCase } from '../parity/fixtures.js';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';
const home = mkdtempSync(join(tmpdir(), 'reid-cli-script-'));
const env = { ...process.env, REID_STUDIO_HOME: home };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 600_000, maxBuffer: 256 << 20 });
afterAll(() => rmSync(home, { recursive: true, force: true }));

const throughSlowPipe = (args: string[]) => cliThroughSlowPipe(args, env);

/** `npx reid-studio CMD …` lines of README's CLI section (continuations joined) → flags per command. */
function readmeFlags(): Map<string, Set<string>> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## CLI'));
  const block = section.slice(section.indexOf('```sh') + 5, section.indexOf('```', section.indexOf('```sh') + 5)).replace(/\\\n/g, ' ');
  const out = new Map<string, Set<string>>();
  for (const line of block.split('\n')) {
    const m = /^npx reid-studio ([a-z-]+)(.*)$/.exec(line.trim());
    if (!m) continue;
    const flags = out.get(m[1]!) ?? new Set<string>();
    for (const f of m[2]!.split('#')[0]!.matchAll(/--[a-z][a-z-]*/g)) flags.add(f[0]);
    out.set(m[1]!, flags);
  }
  return out;
}

describe('help, version and exit codes', () => {
  const documented = readmeFlags();

  it('README documents the commands', () => {
    expect([...documented.keys()].sort()).toEqual(expect.arrayContaining(['backend', 'demo-data', 'embed', 'eval', 'export', 'import', 'presets', 'serve', 'summary', 'train', 'weights']));
  });

  it.each([...readmeFlags().keys()])('%s --help: exit 0, every documented flag and an example', (cmd) => {
    const r = cli(cmd, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`usage: reid-studio ${cmd}`);
    expect(r.stdout).toMatch(/\nexample:\n {2}reid-studio /);
    for (const flag of documented.get(cmd)!) expect(r.stdout, `${cmd} --help lacks ${flag}`).toMatch(new RegExp(`(^|\\s|\\[)${flag}(\\s|\\]|$|=)`, 'm'));
    expect(cli('help', cmd).stdout).toBe(r.stdout);
  });

  it('--version prints the app version', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../app/package.json', import.meta.url), 'utf8')) as { version: string };
    const r = cli('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`reid-studio ${version}`);
  });

  it('bad input exits 2 with one line on stderr', () => {
    for (const args of [['summary', '--bogus'], ['nosuchcommand'], ['summary', '--preset', 'resnet9'], ['embed', '--out', 'x.csv', '--weights', 'w.pth', '--images', '.'], ['eval', '--demo', '--progress', 'loud']]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^reid-studio: error: /);
    }
  });
});

describe('JSON through a slow pipe is never cut', () => {
  it('summary --expand --json of ResNet-152 (well past the 64 KiB pipe buffer)', () => {
    const r = throughSlowPipe(['summary', '--preset', 'resnet152', '--expand', '--json']);
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(100_000);
    const j = JSON.parse(r.stdout) as { totalParams: number; nodes: unknown[] };
    expect(j.totalParams).toBeGreaterThan(58_000_000);
    expect(j.nodes.length).toBeGreaterThan(500);
  });

  it('weights --json of a checkpoint with 20,000 tensors (megabytes)', () => {
    const file = join(home, 'many.pth');
    execFileSync(PYTHON, ['-c', `import torch; torch.save({f'backbone.block{i:05d}.some_long_parameter_name.weight': torch.zeros(1) for i in range(20000)}, '${file}')`]);
    const r = throughSlowPipe(['weights', file, '--json']);
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(2_000_000);
    const j = JSON.parse(r.stdout) as { count: number; tensors: { key: string }[] };
    expect(j.count).toBe(20000);
    expect(j.tensors.at(-1)!.key).toBe('backbone.block19999.some_long_parameter_name.weight');
  });

  // train --json and eval --json go through the same slow pipe in train.test.ts.
  it('import, export, demo-data and backend --json', () => {
    const cfg = join(home, 'cfg.yml');
    writeFileSync(cfg, "MODEL:\n  NAME: 'resnet18'\n  LAST_STRIDE: 1\n  NECK: 'bnneck'\nINPUT:\n  SIZE_TRAIN: [64, 32]\n  SIZE_TEST: [64, 32]\n");
    const doc = join(home, 'imported.json');
    const runs: [string[], (j: Record<string, unknown>) => void][] = [
      [['import', cfg, '--out', doc, '--json'], (j) => expect(j).toHaveProperty('out')],
      [['export', doc, '--format', 'rsb-yaml', '--out', join(home, 'out.yml'), '--json'], (j) => expect(j).toHaveProperty('format', 'rsb-yaml')],
      [['demo-data', '--out', join(home, 'demo'), '--size', 'tiny', '--json'], (j) => expect(j).toHaveProperty('splits.train.identities', 12)],
      [['backend', '--backend', 'wasm', '--json'], (j) => expect(j).toHaveProperty('backend', 'wasm')],
    ];
    for (const [args, check] of runs) {
      const r = throughSlowPipe(args);
      expect(r.status, args.join(' ')).toBe(0);
      check(JSON.parse(r.stdout) as Record<string, unknown>);
    }
  }, 600_000);
});

describe('embed: feature files by extension, progress events', () => {
  const CASE: ParityCase = { id: 'fmt', preset: 'resnet18', neck: 'bnneck', neckFeat: 'after', lastStride: 1, numClasses: 5, input: [64, 32], batch: 2, seed: 5, images: { size: [64, 32], names: ['b.png', 'a.png', 'c.png'] } };
  let fx: ReturnType<typeof generateFixtures>;
  beforeAll(() => {
    fx = generateFixtures([CASE]);
  });
  afterAll(() => fx?.cleanup());
  const args = () => ['embed', '--preset', 'resnet18', '--neck', 'bnneck', '--neck-feat', 'after', '--last-stride', '1', '--num-classes', '5', '--input', '64x32', '--weights', join(fx.dir, 'fmt.pth'), '--images', join(fx.dir, 'fmt.images'), '--backend', 'wasm', '--batch-size', '2'];

  it('.npy (+ file list) and .safetensors read by NumPy equal the PyTorch features; .json carries the same rows', () => {
    const ref = readF32(join(fx.dir, 'fmt.images.expected.f32'));
    const npy = join(fx.dir, 'f.npy');
    const st = join(fx.dir, 'f.safetensors');
    const js = join(fx.dir, 'f.json');
    for (const out of [npy, st, js]) expect(cli(...args(), '--out', out).status).toBe(0);
    expect(readFileSync(`${npy}.files.txt`, 'utf8')).toBe('a.png\nb.png\nc.png\n');
    // NumPy's own reader, and a safetensors header read per the format's definition (8-byte LE length + JSON).
    const py = `
import json, struct, sys, numpy as np
a = np.load(sys.argv[1]); assert a.dtype == np.float32 and a.flags.c_contiguous, a.dtype
raw = open(sys.argv[2], 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]; h = json.loads(raw[8:8+n])
t = h['features']; s, e = t['data_offsets']; b = np.frombuffer(raw[8+n+s:8+n+e], dtype='<f4').reshape(t['shape'])
print(json.dumps({'shape': list(a.shape), 'npy': a.ravel().tolist(), 'st': b.ravel().tolist(), 'files': json.loads(h['__metadata__']['files']), 'dtype': t['dtype']}))`;
    const r = JSON.parse(execFileSync(PYTHON, ['-c', py, npy, st], { encoding: 'utf8', maxBuffer: 64 << 20 })) as { shape: number[]; npy: number[]; st: number[]; files: string[]; dtype: string };
    expect(r.shape).toEqual([3, 512]);
    expect(r.dtype).toBe('F32');
    expect(r.files).toEqual(['a.png', 'b.png', 'c.png']);
    for (const got of [r.npy, r.st, (JSON.parse(readFileSync(js, 'utf8')) as { features: number[][] }).features.flat()]) {
      const { diff, ref: m } = maxDiff(got, ref);
      expect(diff).toBeLessThanOrEqual(1e-4 * m);
    }
  });

  it('--progress json: one JSON progress event per line on stderr, ending at done = total', () => {
    const r = cli(...args(), '--out', join(fx.dir, 'p.npy'), '--progress', 'json');
    expect(r.status).toBe(0);
    const events = r.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; phase: string; done: number; total: number });
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.type === 'progress' && e.phase === 'embed' && e.total === 3)).toBe(true);
    expect(events.at(-1)!.done).toBe(3);
    for (let i = 1; i < events.length; i++) expect(events[i]!.done).toBeGreaterThanOrEqual(events[i - 1]!.done);
  });

  it('plain progress lines when stderr is not a terminal', () => {
    const r = cli(...args(), '--out', join(fx.dir, 'l.npy'));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^embed 3\/3 images/m);
  });
});
