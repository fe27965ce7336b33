/**
 * `reid-studio embed` end to end (the bundled CLI, as scripts run it): PyTorch-written .pth, PNG images
 * written by PIL, features compared with the PyTorch model fed by RSB's test-time pre-processing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFixtures, maxDiff, readF32, type ParityCase } from './fixtures.js';

const names = ['b_0002.png', 'a_0001.png', '10.png', 'C.png'];
const CASES: ParityCase[] = [
  {
    id: 'e_r50ibn',
    preset: 'resnet50_ibn_a',
    neck: 'bnneck',
    neckFeat: 'after',
    lastStride: 1,
    numClasses: 7,
    input: [64, 32],
    batch: 2,
    seed: 31,
    images: { size: [64, 32], names },
  },
  {
    id: 'e_r18_resize',
    preset: 'resnet18',
    neck: 'no',
    neckFeat: 'after',
    lastStride: 2,
    numClasses: 7,
    input: [64, 32],
    batch: 2,
    seed: 32,
    images: { size: [96, 48], names: ['x.png', 'y.png'] },
  },
];

const CLI = 'bin/reid-studio.js';
let fx: ReturnType<typeof generateFixtures>;
beforeAll(() => {
  fx = generateFixtures(CASES);
  writeFileSync(join(fx.dir, 'e_r50ibn.images', 'notes.txt'), 'not an image');
});
afterAll(() => fx?.cleanup());

function embed(args: string[]) {
  return spawnSync(process.execPath, [CLI, 'embed', ...args], { encoding: 'utf8', timeout: 120_000 });
}

const presetArgs = (c: ParityCase) => ['--preset', c.preset, '--neck', c.neck, '--neck-feat', c.neckFeat, '--last-stride', String(c.lastStride), '--num-classes', String(c.numClasses), '--input', c.input.join('x')];

interface Out {
  files: string[];
  features: number[][];
  backend: string;
  dim: number;
  load: { counts: { loaded: number; missing: number } };
  backendReport: { attempts: { name: string; status: string; message?: string }[] };
}

describe('reid-studio embed', () => {
  it('reproduces PyTorch eval features for images at the input size, sorted by file name (in batches of 3)', () => {
    const c = CASES[0]!;
    const out = join(fx.dir, 'feats.json');
    const r = embed([...presetArgs(c), '--weights', join(fx.dir, `${c.id}.pth`), '--images', join(fx.dir, `${c.id}.images`), '--out', out, '--backend', 'wasm', '--batch-size', '3']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.status).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8')) as Out;
    expect(j.files).toEqual(['10.png', 'C.png', 'a_0001.png', 'b_0002.png']);
    expect(j.backend).toBe('wasm');
    expect(j.dim).toBe(2048);
    expect(j.load.counts.loaded).toBeGreaterThan(0);
    expect(j.features).toHaveLength(4);
    const { diff, ref } = maxDiff(j.features.flat(), readF32(join(fx.dir, `${c.id}.images.expected.f32`)));
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);
  });

  it('on onnxruntime (--backend onnxruntime, all cores) equals PyTorch and the tfjs wasm path within 1e-4 · max|ref|', () => {
    const c = CASES[0]!;
    const run = (backend: string) => {
      const out = join(fx.dir, `feats-${backend}.json`);
      const r = embed([...presetArgs(c), '--weights', join(fx.dir, `${c.id}.pth`), '--images', join(fx.dir, `${c.id}.images`), '--out', out, '--backend', backend, '--batch-size', '3']);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(readFileSync(out, 'utf8')) as Out & { engine: { name: string; threads?: number } };
    };
    const ortOut = run('onnxruntime');
    expect(ortOut.backend).toBe('onnxruntime');
    expect(ortOut.engine.threads).toBeGreaterThanOrEqual(1);
    const wasmOut = run('wasm');
    expect(wasmOut.engine.name).toBe('wasm');
    const pytorch = readF32(join(fx.dir, `${c.id}.images.expected.f32`));
    for (const [name, want] of [['PyTorch', pytorch], ['tfjs wasm', wasmOut.features.flat()]] as const) {
      const { diff, ref } = maxDiff(ortOut.features.flat(), want);
      console.log(`embed onnxruntime vs ${name}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
      expect(ref).toBeGreaterThan(0.01);
      expect(diff).toBeLessThanOrEqual(1e-4 * ref);
    }
  });

  it('resizes images of another size as PIL bilinear does (T.Resize): features within 1e-4·max|ref|', () => {
    const c = CASES[1]!;
    const out = join(fx.dir, 'feats-resized.json');
    const r = embed([...presetArgs(c), '--weights', join(fx.dir, `${c.id}.pth`), '--images', join(fx.dir, `${c.id}.images`), '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/resized 2 image/);
    const j = JSON.parse(readFileSync(out, 'utf8')) as Out;
    // Automatic choice: the native backends are reported as skipped with a reason.
    expect(j.backendReport.attempts.find((a) => a.name === 'tensorflow')!.status).toMatch(/not-installed|failed|selected/);
    const { diff, ref } = maxDiff(j.features.flat(), readF32(join(fx.dir, `${c.id}.images.expected.f32`)));
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);
  });

  it('gives one-line errors for bad input', () => {
    const c = CASES[0]!;
    const w = join(fx.dir, `${c.id}.pth`);
    const empty = join(fx.dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const cases: [string[], RegExp][] = [
      [[...presetArgs(c), '--images', empty, '--out', 'x.json'], /--weights FILE\|RUN_DIR is required/],
      [[...presetArgs(c), '--weights', w, '--images', empty, '--out', join(fx.dir, 'x.json')], /no image files/],
      [[...presetArgs(c), '--weights', w, '--images', empty, '--out', join(fx.dir, 'x.json'), '--batch-size', '0'], /--batch-size must be a whole number/],
      [[...presetArgs(c), '--weights', w, '--images', join(fx.dir, 'nope'), '--out', join(fx.dir, 'x.json')], /no such folder/],
      [[...presetArgs(c), '--weights', join(fx.dir, 'spec.json'), '--images', join(fx.dir, `${c.id}.images`), '--out', join(fx.dir, 'x.json')], /spec\.json/],
      [[...presetArgs(c), '--weights', w, '--images', join(fx.dir, `${c.id}.images`), '--out', join(fx.dir, 'x.json'), '--backend', 'gpu'], /unknown backend "gpu"/],
    ];
    // Where the native binding could not be installed (its libtensorflow download fails here), forcing it is a clear error.
    if (!existsSync('node_modules/@tensorflow/tfjs-node/package.json'))
      cases.push([[...presetArgs(c), '--weights', w, '--images', join(fx.dir, `${c.id}.images`), '--out', join(fx.dir, 'x.json'), '--backend', 'tensorflow'], /backend tensorflow is not available: @tensorflow\/tfjs-node is not installed/]);
    for (const [args, msg] of cases) {
      const r = embed(args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^reid-studio: error: /);
    }
  });

  it('is listed in the help', () => {
    expect(execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' })).toMatch(/embed .*--weights FILE\|RUN_DIR --images DIR --out FEATS\.npy\|FEATS\.safetensors\|FEATS\.json/);
  });
});
