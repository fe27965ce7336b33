/**
 * Eval-mode parity for fast-reid-layout checkpoints: fastreid_reference.py builds fast-reid's bagtricks R50
 * and R50-ibn from fast-reid's published definitions (build_resnet_backbone keys `backbone.*`, EmbeddingHead
 * keys `heads.*`, saved as {'model': state_dict}); the app imports the file through the load plan into
 * the graph the fast-reid config importer builds (core/config/model.ts buildModel) and must reproduce
 * the features within 1e-4 · max|reference|. Small inputs keep it to seconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../core/index.js';
import { buildModel as buildSpecModel, type ModelSpec } from '../../core/config/index.js';
import { buildModel, disposeModel, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { planLoad, readCheckpoint } from '../../main/weights/index.js';
import { EVAL_ENGINES, evalFeatures, tfjsBackendOf } from '../backends.js';
import { maxDiff, PYTHON, readF32 } from './fixtures.js';

interface FrCase {
  id: string;
  ibn: boolean;
  pool: 'GlobalAvgPool' | 'GeneralizedMeanPoolingP';
  gemP?: number;
  pixelBuffers: boolean;
  lastStride: 1 | 2;
  numClasses: number;
  input: [number, number];
  batch: number;
  seed: number;
}

const CASES: FrCase[] = [
  { id: 'fr_bagtricks_r50', ibn: false, pool: 'GlobalAvgPool', pixelBuffers: false, lastStride: 1, numClasses: 13, input: [64, 32], batch: 2, seed: 21 },
  { id: 'fr_bagtricks_r50_ibn_gemp', ibn: true, pool: 'GeneralizedMeanPoolingP', gemP: 3.4, pixelBuffers: true, lastStride: 1, numClasses: 13, input: [64, 32], batch: 2, seed: 22 },
];

const specOf = (c: FrCase): ModelSpec => ({
  depth: 'resnet50',
  ibn: c.ibn,
  stem: 'fastreid',
  lastStride: c.lastStride,
  neck: 'bnneck',
  neckFeat: 'after',
  trainFeat: 'before',
  classifierBias: false,
  pool: c.pool === 'GlobalAvgPool' ? 'avg' : 'gemP',
  numClasses: c.numClasses,
  input: c.input,
  frozenBackbone: false,
});

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-fr-parity-'));
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(CASES));
  execFileSync(PYTHON, [fileURLToPath(new URL('./fastreid_reference.py', import.meta.url)), join(dir, 'spec.json'), dir], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 280_000 });
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Every engine present (test/backends.ts): wasm, native TensorFlow where installed, onnxruntime. Not webgpu:
// on SwiftShader a ResNet-50 takes minutes; its operators are covered by test/onnx/webgpu-placement.test.ts
// and eval-parity's webgpu case.
describe.each(EVAL_ENGINES.filter((e) => e !== 'webgpu'))('fast-reid layout checkpoints: features equal fast-reid bagtricks (%s)', (engine) => {
  beforeAll(async () => {
    expect((await initBackend(tfjsBackendOf(engine))).backend).toBe(tfjsBackendOf(engine));
  });
  for (const c of CASES)
    it(`${c.id}: every slot from the file, features within 1e-4 · max|ref|`, async () => {
      const analysis = analyze(buildSpecModel(specOf(c)).graph);
      const { reid, compiled } = await buildModel(analysis);
      try {
        const ckpt = await readCheckpoint(join(dir, `${c.id}.pth`));
        expect(ckpt.wrapper).toBe('model');
        const { values, report } = planLoad(analysis.layers, ckpt, { keepClassifier: true });
        expect(report.layout).toBe('fast-reid');
        expect(report.counts).toMatchObject({ missing: 0, mismatched: 0 });
        expect(report.nonFinite).toEqual([]);
        // Unused: BN step counters, and the pixel buffers (reported as preprocessing) where the file has them.
        expect(report.skipped.filter((s) => !s.key.endsWith('num_batches_tracked')).map((s) => s.key)).toEqual(c.pixelBuffers ? ['pixel_mean', 'pixel_std'] : []);
        expect(report.preprocessing?.mean).toEqual(c.pixelBuffers ? [0.485, 0.456, 0.406] : undefined);
        expect(report.groups.filter((g) => g.layout !== 'fast-reid-input').map((g) => [g.layout, g.to, g.keys - g.loaded])).toEqual([
          ['fast-reid-backbone', 'base.*', 53], // 53 BatchNorms' num_batches_tracked
          ['fast-reid-heads', 'bottleneck.* / classifier.weight / GeM p', 1], // the BNNeck's counter
        ]);
        if (c.gemP) expect(Array.from(values.get('gap/p')!)).toEqual([Math.fround(c.gemP)]);
        setWeightsFromValues(reid, analysis.layers, values);
        const got = await evalFeatures(engine, reid, compiled, readF32(join(dir, `${c.id}.input.f32`)), c.batch);
        const { diff, ref } = maxDiff(got, readF32(join(dir, `${c.id}.expected.f32`)));
        console.log(`parity ${c.id} (${engine}): max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}, ratio ${(diff / ref).toExponential(2)}`);
        expect(ref).toBeGreaterThan(0.01);
        expect(diff).toBeLessThanOrEqual(1e-4 * ref);
      } finally {
        disposeModel(reid);
      }
    });
});
