/**
 * Field case "upscale-resize-half-pixel-shift": Market-1501-sized 128×64 crops embedded by a 256×128 model
 * must give the frameworks' features, i.e. the resize must be PIL's (T.Resize on the PIL image). The
 * reference is PyTorch + Pillow (resize_ref.py): reid-strong-baseline with PIL bilinear and ImageNet
 * normalisation; fast-reid with PIL bicubic and its 0–255 PIXEL_MEAN / PIXEL_STD, the document coming from a
 * fast-reid config through config import. One 301×157 image covers the down-scaling (antialiased) path.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importConfig } from '../../core/config/index.js';
import { serializeDocument } from '../../core/index.js';
import { maxDiff, PYTHON } from './fixtures.js';

const CLI = 'bin/reid-studio.js';
const FR_MEAN = [120.5, 110.25, 100.0];
const FR_STD = [60.0, 55.5, 50.25];
const FR_CONFIG = `MODEL:
  META_ARCHITECTURE: 'Baseline'
  BACKBONE:
    NAME: 'build_resnet_backbone'
    DEPTH: '18x'
    FEAT_DIM: 512
    LAST_STRIDE: 1
  HEADS:
    NAME: 'EmbeddingHead'
    POOL_LAYER: 'GlobalAvgPool'
    WITH_BNNECK: True
    CLS_LAYER: 'Linear'
  PIXEL_MEAN: [${FR_MEAN.join(', ')}]
  PIXEL_STD: [${FR_STD.join(', ')}]
INPUT:
  SIZE_TRAIN: [256, 128]
  SIZE_TEST: [256, 128]
DATASETS:
  NAMES: ('Market1501',)
  TESTS: ('Market1501',)
`;

interface Ref {
  files: string[];
  rsb: number[][];
  fr: number[][];
}
let dir: string;
let ref: Ref;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-resize-parity-'));
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ frMean: FR_MEAN, frStd: FR_STD }));
  const script = fileURLToPath(new URL('./resize_ref.py', import.meta.url));
  ref = JSON.parse(execFileSync(PYTHON, [script, join(dir, 'spec.json'), dir], { encoding: 'utf8', timeout: 280_000, maxBuffer: 64 * 1024 * 1024 })) as Ref;
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function embed(args: string[], out: string): { files: string[]; features: number[][]; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'embed', ...args, '--images', join(dir, 'imgs'), '--out', out], { encoding: 'utf8', timeout: 240_000 });
  expect(r.status, r.stderr).toBe(0);
  return { ...(JSON.parse(readFileSync(out, 'utf8')) as { files: string[]; features: number[][] }), stderr: r.stderr };
}

describe('images of another size are resized as PIL does (T.Resize)', () => {
  it("reid-strong-baseline: 128×64 crops at 256×128, PIL bilinear — features within 1e-4·max|ref|", () => {
    const j = embed(['--preset', 'resnet18', '--num-classes', '5', '--input', '256x128', '--weights', join(dir, 'rsb.pth')], join(dir, 'rsb.json'));
    expect(j.stderr).toMatch(/resized 4 image\(s\) to 256×128 \(bilinear/);
    expect(j.files).toEqual(ref.files);
    const { diff, ref: r } = maxDiff(j.features.flat(), ref.rsb.flat());
    expect(diff).toBeLessThanOrEqual(1e-4 * r);
  });

  it("fast-reid: a config's bicubic resize and 0–255 PIXEL_MEAN / PIXEL_STD reach embedding — within 1e-4·max|ref|", () => {
    const imported = importConfig(FR_CONFIG);
    const pre = imported.doc.preprocess!;
    expect(pre.interpolation).toBe('bicubic');
    pre.pixelMean.forEach((v, c) => expect(v).toBeCloseTo(FR_MEAN[c]! / 255, 10));
    pre.pixelStd.forEach((v, c) => expect(v).toBeCloseTo(FR_STD[c]! / 255, 10));
    const doc = join(dir, 'fr-graph.json');
    writeFileSync(doc, serializeDocument(imported.doc));
    const j = embed([doc, '--weights', join(dir, 'fr.pth')], join(dir, 'fr.json'));
    expect(j.stderr).toMatch(/\(bicubic, as PIL\)/);
    const { diff, ref: r } = maxDiff(j.features.flat(), ref.fr.flat());
    expect(diff).toBeLessThanOrEqual(1e-4 * r);
  });
});
