/**
 * The frameworks are the referee, at the size people use (256×128), through the CLI as a user runs it.
 * Four models: reid-strong-baseline's resnet50_ibn_a and resnet34 (BNNeck, feature after it, last stride 1)
 * and fast-reid's bagtricks R50 / R50-ibn, the fast-reid documents made by `reid-studio import` from
 * fast-reid's own config files (test/fixtures/configs/fastreid: bicubic resize, fast-reid's PIXEL_MEAN /
 * PIXEL_STD). frameworks_256.py builds each framework's model in PyTorch (random weights with a fixed seed,
 * BN statistics measured on images then perturbed, so they matter) and computes its features with the
 * framework's test transform: PIL resize (bilinear for RSB, bicubic for fast-reid), ToTensor, normalisation.
 * Images: two at 256×128 and two 128×64 crops that every path enlarges.
 *  (a) imported: `reid-studio embed` with the framework's checkpoint → features within 1e-4 · max|ref|;
 *  (b) exported: `reid-studio export --format pytorch` (RSB layout, or `--layout fastreid`) → loaded by the
 *      framework's own model as the framework loads a checkpoint → features within 1e-4 · max|ref|.
 * One RSB and one fast-reid model run on the tfjs wasm backend, the others on the default engine
 * (onnxruntime where onnxruntime-node is installed).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxDiff, PYTHON } from './fixtures.js';

const CLI = 'bin/reid-studio.js';
const HELPER = fileURLToPath(new URL('./frameworks_256.py', import.meta.url));
const FR_CONFIGS = fileURLToPath(new URL('../fixtures/configs/fastreid/', import.meta.url));
/** fast-reid's default MODEL.PIXEL_MEAN / PIXEL_STD (0–255), which the bagtricks configs keep. */
const FR_PIXEL_MEAN = [123.675, 116.28, 103.53];
const FR_PIXEL_STD = [58.395, 57.12, 57.375];
const IMAGES = { '256x128': 2, '128x64': 2 };

interface Model {
  id: string;
  framework: 'rsb' | 'fr';
  /** rsb: the RSB MODEL.NAME; fr: the config file under test/fixtures/configs/fastreid. */
  preset?: string;
  config?: string;
  ibn?: boolean;
  numClasses: number;
  seed: number;
  /** `--backend` for embed; undefined = the default engine. */
  backend?: 'wasm';
}

const MODELS: Model[] = [
  { id: 'rsb_resnet50_ibn_a', framework: 'rsb', preset: 'resnet50_ibn_a', numClasses: 751, seed: 41, backend: 'wasm' },
  { id: 'rsb_resnet34', framework: 'rsb', preset: 'resnet34', numClasses: 751, seed: 42 },
  { id: 'fr_bagtricks_R50', framework: 'fr', config: 'DukeMTMC/bagtricks_R50.yml', ibn: false, numClasses: 0, seed: 43, backend: 'wasm' },
  { id: 'fr_bagtricks_R50-ibn', framework: 'fr', config: 'Market1501/bagtricks_R50-ibn.yml', ibn: true, numClasses: 0, seed: 44 },
];

interface Imported {
  model: { depth: string; ibn: boolean; stem: string; lastStride: number; neck: string; neckFeat: string; numClasses: number; input: number[] };
  preprocess: { interpolation: string; pixelMean: number[]; pixelStd: number[] };
}

let dir = '';
let ref: { files: string[]; features: Record<string, number[][]> };
const imported = new Map<string, Imported>();

function cli(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 240_000 });
  expect(r.stderr).not.toMatch(/internal error/i);
  expect(r.status, r.stderr).toBe(0);
  return r.stderr;
}

const docPath = (m: Model) => join(dir, `${m.id}.reidgraph`);
/** The graph arguments: the imported document (fast-reid) or RSB's preset flags. */
const graphArgs = (m: Model) =>
  m.framework === 'fr' ? [docPath(m)] : ['--preset', m.preset!, '--neck', 'bnneck', '--neck-feat', 'after', '--last-stride', '1', '--num-classes', String(m.numClasses), '--input', '256x128'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-frameworks-256-'));
  // fast-reid documents from fast-reid's own configs; their class count (the dataset's) sizes the weights.
  for (const m of MODELS.filter((x) => x.framework === 'fr')) {
    const r = spawnSync(process.execPath, [CLI, 'import', join(FR_CONFIGS, m.config!), '--out', docPath(m), '--json'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`import ${m.config}: ${r.stderr}`);
    const doc = JSON.parse(readFileSync(docPath(m), 'utf8')) as { preprocess: Imported['preprocess'] };
    const model = (JSON.parse(r.stdout) as { model: Imported['model'] }).model;
    imported.set(m.id, { model, preprocess: doc.preprocess });
    m.numClasses = model.numClasses;
  }
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ models: MODELS, images: IMAGES }));
  ref = JSON.parse(execFileSync(PYTHON, [HELPER, 'make', join(dir, 'spec.json'), dir], { encoding: 'utf8', timeout: 280_000, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] }));
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Per image size, max|Δ| against the framework's features, printed and held to 1e-4 · max|ref|. */
function expectFrameworkFeatures(label: string, files: string[], got: number[][], want: number[][]) {
  expect(files).toEqual(ref.files);
  expect(got).toHaveLength(want.length);
  for (const size of Object.keys(IMAGES)) {
    const rows = files.flatMap((f, i) => (f.startsWith(`${size}_`) ? [i] : []));
    expect(rows).toHaveLength(IMAGES[size as keyof typeof IMAGES]);
    const { diff, ref: r } = maxDiff(rows.flatMap((i) => got[i]!), rows.flatMap((i) => want[i]!));
    console.log(`frameworks-256 ${label} ${size.replace('x', '×')}${size === '256x128' ? '' : ' upscaled'}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${r.toFixed(2)}, max|Δ|/max|ref| = ${(diff / r).toExponential(2)}`);
    expect(r).toBeGreaterThan(1);
    expect(diff).toBeLessThanOrEqual(1e-4 * r);
  }
}

describe('fast-reid configs import as fast-reid builds and preprocesses them', () => {
  for (const m of MODELS.filter((x) => x.framework === 'fr'))
    it(`${m.config} → bagtricks R50${m.ibn ? '-ibn' : ''}, BNNeck, last stride 1, 256×128, bicubic, fast-reid PIXEL_MEAN / PIXEL_STD`, () => {
      const { model, preprocess } = imported.get(m.id)!;
      expect(model).toMatchObject({ depth: 'resnet50', ibn: m.ibn, stem: 'fastreid', lastStride: 1, neck: 'bnneck', neckFeat: 'after', input: [256, 128] });
      expect(preprocess.interpolation).toBe('bicubic');
      preprocess.pixelMean.forEach((v, c) => expect(v).toBeCloseTo(FR_PIXEL_MEAN[c]! / 255, 10));
      preprocess.pixelStd.forEach((v, c) => expect(v).toBeCloseTo(FR_PIXEL_STD[c]! / 255, 10));
    });
});

describe("features equal the frameworks' own models at 256×128, imported and exported", () => {
  for (const m of MODELS) {
    const fw = m.framework === 'rsb' ? 'reid-strong-baseline' : 'fast-reid';
    const engine = m.backend ?? 'default engine';

    it(`${m.id} imported: embed (${engine}) of 256×128 and upscaled 128×64 images = ${fw}'s features`, () => {
      const out = join(dir, `${m.id}.feats.json`);
      const args = ['embed', ...graphArgs(m), '--weights', join(dir, `${m.id}.pth`), '--images', join(dir, 'imgs'), '--out', out, '--batch-size', '2'];
      const stderr = cli(m.backend ? [...args, '--backend', m.backend] : args);
      expect(stderr).toMatch(new RegExp(`resized 2 image\\(s\\) to 256×128 \\(${m.framework === 'rsb' ? 'bilinear' : 'bicubic'}, as PIL\\)`));
      expect(stderr).not.toMatch(/stay randomly initialised/);
      const j = JSON.parse(readFileSync(out, 'utf8')) as { files: string[]; features: number[][]; backend: string; load: { missing: { key: string }[]; mismatched: unknown[] } };
      // Every slot from the framework's file but the classifier, which embed does not load (not on the feature path).
      expect(j.load.missing.map((x) => x.key)).toEqual(['classifier.weight']);
      expect(j.load.mismatched).toEqual([]);
      if (m.backend) expect(j.backend).toBe(m.backend);
      else if (existsSync('node_modules/onnxruntime-node/package.json')) expect(j.backend).toBe('onnxruntime');
      expectFrameworkFeatures(`${m.id} imported (embed on ${j.backend})`, j.files, j.features, ref.features[m.id]!);
    }, 240_000);

    it(`${m.id} exported: export --format pytorch${m.framework === 'fr' ? ' --layout fastreid' : ''} loads into ${fw}'s model and gives its features`, () => {
      const exportDir = join(dir, `${m.id}.export`);
      cli(['export', ...graphArgs(m), '--format', 'pytorch', '--layout', m.framework === 'rsb' ? 'rsb' : 'fastreid', '--weights', join(dir, `${m.id}.pth`), '--out', exportDir]);
      const spec = join(dir, `${m.id}.check.json`);
      writeFileSync(spec, JSON.stringify({ models: [{ ...m, export: exportDir }], images: IMAGES }));
      const r = (JSON.parse(execFileSync(PYTHON, [HELPER, 'check', spec, dir], { encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] })) as Record<string, { features: number[][]; checkpointKeys: string[] | null; missing: string[]; unexpected: string[]; inputSize: number[]; interpolation: string; pixelMean: number[] }>)[m.id]!;
      if (m.framework === 'fr') {
        // fast-reid's Checkpointer layout, every key of the model and nothing else (load_state_dict strict).
        expect(r.checkpointKeys).toEqual(['model']);
        expect(r.missing).toEqual([]);
        expect(r.unexpected).toEqual([]);
      } else {
        // RSB's load_param copied every key of the file, resnet*_ibn_a's unused ImageNet head (base.fc.*) included (#22).
        expect(r.missing).toEqual([]);
      }
      // model.py states the preprocessing the weights expect.
      expect(r.inputSize).toEqual([256, 128]);
      expect(r.interpolation).toBe(m.framework === 'rsb' ? 'bilinear' : 'bicubic');
      r.pixelMean.forEach((v, c) => expect(v).toBeCloseTo([0.485, 0.456, 0.406][c]!, 6));
      expectFrameworkFeatures(`${m.id} exported (${fw} model)`, ref.files, r.features, ref.features[m.id]!);
    }, 240_000);
  }
});
