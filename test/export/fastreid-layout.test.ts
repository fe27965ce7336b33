/**
 * `export --format pytorch --layout fastreid`: model.pth as fast-reid's Checkpointer saves and loads it
 * ({'model': state_dict}, backbone.* / heads.* keys). check_fastreid.py builds fast-reid's bagtricks Baseline
 * from fast-reid's own module definitions, opens the file as Checkpointer._load_model does and loads it with
 * strict=True (nothing missing, nothing unexpected); its features from raw 0–255 pixels (its pixel_mean /
 * pixel_std buffers set from model.py's stated PIXEL_MEAN / PIXEL_STD) must equal the app's within
 * 1e-4 · max|ref|.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, serializeDocument, weightSpecs } from '../../core/index.js';
import { buildModel as buildSpecModel, type ModelSpec } from '../../core/config/index.js';
import { exportModel, ExportError } from '../../main/export/index.js';
import { buildModel, disposeModel, forwardEval, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { frSpec } from '../config/helpers.js';
import { maxDiff, PYTHON, readF32 } from '../parity/fixtures.js';
import { randomInput, randomWeights } from './graphs.js';

const CHECK = fileURLToPath(new URL('./check_fastreid.py', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));

let work: string;
beforeAll(async () => {
  expect((await initBackend('wasm')).backend).toBe('wasm');
  work = mkdtempSync(join(tmpdir(), 'reid-export-fr-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bagtricks = (over: Partial<ModelSpec>): ModelSpec => frSpec({ numClasses: 7, input: [64, 32], ...over });

const CASES: { id: string; spec: ModelSpec }[] = [
  { id: 'bagtricks_R50', spec: bagtricks({}) },
  // bagtricks_R50-ibn with the learnable GeM of fast-reid's sbs configs (heads.pool_layer.p).
  { id: 'bagtricks_R50-ibn_gemP', spec: bagtricks({ ibn: true, pool: 'gemP' }) },
];

describe('pytorch export in fast-reid\'s layout', () => {
  for (const c of CASES)
    it(`${c.id}: fast-reid's Checkpointer loads every key strictly and computes the app's features`, async () => {
      const doc = buildSpecModel(c.spec);
      const analysis = analyze(doc.graph);
      const layers = compileToKeras(analysis).layers;
      const weights = randomWeights(layers, 13);
      const [n, h, w] = [2, 64, 32];
      const input = randomInput(n, h, w, 3, 3);
      const inputPath = join(work, `${c.id}.input.f32`);
      writeFileSync(inputPath, new Uint8Array(input.buffer));

      const out = join(work, c.id);
      const res = await exportModel(doc, 'pytorch', out, { weights, layout: 'fastreid' });
      expect(res.weights.set).toBe(res.weights.slots);
      const outDir = join(work, `${c.id}-out`);
      const spec = { export: out, input: inputPath, shape: [n, h, w, 3], out: outDir, depth: 50, ibn: c.spec.ibn, lastStride: c.spec.lastStride, numClasses: c.spec.numClasses, pool: c.spec.pool, neck: c.spec.neck };
      const specPath = join(work, `${c.id}.json`);
      writeFileSync(specPath, JSON.stringify(spec));
      const r = JSON.parse(execFileSync(PYTHON, [CHECK, specPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 240_000 }));

      expect(r.checkpointKeys).toEqual(['model']);
      expect([...r.fileKeys].sort()).toEqual([...r.modelKeys].sort());
      const rsbKeys = layers.flatMap((l) => weightSpecs(l).map((s) => s.torchKey));
      expect(r.fileKeys).toHaveLength(rsbKeys.length);
      for (const k of ['backbone.conv1.weight', 'backbone.layer4.2.bn3.running_var', 'backbone.layer1.0.downsample.1.weight', 'heads.bottleneck.0.weight', 'heads.bottleneck.0.running_mean', 'heads.weight'])
        expect(r.fileKeys).toContain(k);
      if (c.spec.ibn) expect(r.fileKeys).toEqual(expect.arrayContaining(['backbone.layer3.5.bn1.IN.weight', 'backbone.layer3.5.bn1.BN.running_var', 'heads.pool_layer.p']));
      expect(r.fileKeys.some((k: string) => k.startsWith('base.') || k.startsWith('classifier') || k.startsWith('pixel_'))).toBe(false);
      expect(r.evalShape).toEqual([n, 2048]);
      expect(r.inputSize).toEqual([64, 32]);
      expect(r.interpolation).toBe('bilinear');

      const { reid } = await buildModel(analysis);
      try {
        setWeightsFromValues(reid, layers, weights);
        const x = tf.tensor4d(input, [n, h, w, 3]);
        const f = forwardEval(reid, x);
        const app = (await f.data()) as Float32Array;
        tf.dispose([x, f]);
        for (const which of ['fastreid', 'modelpy']) {
          const { diff, ref } = maxDiff(readF32(join(outDir, `${which}.f32`)), app);
          console.log(`fast-reid layout ${c.id} ${which} vs app: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}, ratio ${(diff / ref).toExponential(2)}`);
          expect(ref).toBeGreaterThan(0.01);
          expect(diff).toBeLessThanOrEqual(1e-4 * ref);
        }
      } finally {
        disposeModel(reid);
      }
    });

  it('refuses a model fast-reid\'s Baseline cannot build, naming the fix', async () => {
    const doc = buildSpecModel(bagtricks({ stem: 'rsb', depth: 'resnet18' }));
    await expect(exportModel(doc, 'pytorch', join(work, 'never'), { layout: 'fastreid' })).rejects.toThrow(ExportError);
    await expect(exportModel(doc, 'pytorch', join(work, 'never'), { layout: 'fastreid' })).rejects.toThrow(/--fastreid-stem/);
    await expect(exportModel(doc, 'pytorch', join(work, 'never'), { layout: 'fr' })).rejects.toThrow(/unknown layout "fr" \(choose one of rsb, fastreid\)/);
    await expect(exportModel(doc, 'tfjs', join(work, 'never'), { layout: 'rsb' })).rejects.toThrow(/applies to the pytorch export only/);
    expect(readdirSync(work)).not.toContain('never');
  });

  it('CLI: --layout fastreid (with --fastreid-stem) writes {\'model\': …}; bad --layout values are one-line errors', () => {
    const graph = join(work, 'r18.json');
    writeFileSync(graph, serializeDocument(buildSpecModel(bagtricks({ depth: 'resnet18', stem: 'rsb' }))));
    const out = join(work, 'cli-fr');
    const ok = spawnSync(process.execPath, [BIN, 'export', graph, '--format', 'pytorch', '--layout', 'fastreid', '--fastreid-stem', '--out', out, '--json'], { encoding: 'utf8', timeout: 240_000 });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const keys = execFileSync(PYTHON, ['-c', `import torch; c = torch.load(${JSON.stringify(join(out, 'model.pth'))}); print(list(c.keys())[0], list(c['model'].keys())[0])`], { encoding: 'utf8' }).trim();
    expect(keys).toBe('model backbone.conv1.weight');
    expect(readFileSync(join(out, 'model.py'), 'utf8')).toMatch(/fast-reid's checkpoint layout/);
    for (const [args, msg] of [
      [['--format', 'pytorch', '--layout', 'fr'], /unknown --layout "fr" \(choose rsb or fastreid\)/],
      [['--format', 'tfjs', '--layout', 'rsb'], /--layout rsb\|fastreid applies to --format pytorch/],
    ] as const) {
      const bad = spawnSync(process.execPath, [BIN, 'export', graph, ...args, '--out', join(work, 'never2')], { encoding: 'utf8', timeout: 60_000 });
      expect(bad.status).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(msg);
    }
  });
});

describe('export --fastreid-stem says what it did to each stem kind', () => {
  const stemNote = (preset: string) => {
    const r = spawnSync(process.execPath, [BIN, 'export', '--preset', preset, '--format', 'fastreid-yaml', '--fastreid-stem', '--out', join(work, `${preset}-stem.yml`), '--json'], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { warnings: string[] }).warnings.filter((w) => /stem/.test(w));
  };

  it("reid-strong-baseline's stems are converted: resnet.py has no stem ReLU (one is added), resnet_ibn_a.py has one; both pool with padding 1", () => {
    expect(stemNote('resnet50')).toEqual([expect.stringMatching(/^the stem was converted to fast-reid's \(ReLU added after bn1, max pool 3×3\/2 padding 1 → padding 0 with ceil_mode\)/)]);
    const ibn = stemNote('resnet50_ibn_a');
    expect(ibn).toEqual([expect.stringMatching(/^the stem was converted to fast-reid's \(max pool 3×3\/2 padding 1 → padding 0 with ceil_mode\)/)]);
  });

  it("ResNeSt's deep stem (fast-reid resnest.py) and a fast-reid recipe's stem are left as they are, and the note says so", () => {
    expect(stemNote('resnest50')).toEqual(["--fastreid-stem converted nothing: ResNeSt's deep stem is fast-reid's own (resnest.py)"]);
    expect(stemNote('fastreid_bagtricks_R50')).toEqual(["--fastreid-stem converted nothing: the stem is already fast-reid's (ReLU, max pool padding 0 with ceil_mode)"]);
  });
});

describe("export --format pytorch in reid-strong-baseline's layout of a model it has no module for", () => {
  /** The models reid-strong-baseline's Baseline builds (its state dicts, test/fixtures/frameworks/make_rsb_state_dicts.py). */
  const RSB_MODELS = Object.keys((JSON.parse(readFileSync(new URL('../fixtures/frameworks/rsb-state-dicts.json', import.meta.url), 'utf8')) as { models: Record<string, unknown> }).models);

  it.each([
    ['fastreid_mgn_R50-ibn', 'MGN', 'mgn', '96x32'],
    ['resnest50', 'ResNeSt', 'resnest50', '64x32'],
    ['resnet50', null, 'resnet50', '64x32'],
  ] as const)('%s: the default layout says when model.pth cannot hold reid-strong-baseline keys', (preset, what, model, input) => {
    expect(RSB_MODELS.includes(model)).toBe(what === null);
    const out = join(work, `rsb-layout-${preset}`);
    const r = spawnSync(process.execPath, [BIN, 'export', '--preset', preset, '--input', input, '--format', 'pytorch', '--out', out, '--json'], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const notes = (JSON.parse(r.stdout) as { warnings: string[] }).warnings.filter((w) => /reid-strong-baseline has no/.test(w));
    expect(notes).toEqual(what ? [`reid-strong-baseline has no ${what}: model.pth holds model.py's own keys (fast-reid's ${what} module names) as a plain state_dict, which no reid-strong-baseline code loads; --layout fastreid writes fast-reid's {'model': …} for its Checkpointer`] : []);
  });
});
