/**
 * IBN-b (IBN-Net, Pan et al. ECCV 2018): the `resnet50_ibn_b` / `resnet18_ibn_b` presets against IBN-Net's
 * published ResNet_IBN with ibn_cfg ('b', 'b', None, None) (ibn_b_reference.py: InstanceNorm stem bn1, `IN`
 * after the residual addition of the last block of layer1 / layer2), in reid-strong-baseline's Baseline.
 * Weights made by that PyTorch model load through the load plan (nothing missing, nothing skipped but BN
 * counters) and give the same eval features within 1e-4 · max|ref|; IBN-Net's own backbone file layout
 * (no prefix, ImageNet `fc`) loads every backbone key. 64×32 inputs keep it to seconds.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset } from '../../core/index.js';
import { exportFastreidYaml, exportRsbYaml } from '../../core/config/index.js';
import { buildModel, disposeModel, forwardEval, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { planLoad, readCheckpoint } from '../../main/weights/index.js';
import { generateFixtures, maxDiff, readF32 } from './fixtures.js';

const CASES = [
  { id: 'r50_ibn_b', preset: 'resnet50_ibn_b', numClasses: 9, lastStride: 1, input: [64, 32] as [number, number], batch: 2, seed: 41 },
  { id: 'r18_ibn_b', preset: 'resnet18_ibn_b', numClasses: 9, lastStride: 2, input: [64, 32] as [number, number], batch: 2, seed: 42 },
] as const;

let dir = '';
let cleanup = () => {};
beforeAll(async () => {
  ({ dir, cleanup } = generateFixtures(CASES, fileURLToPath(new URL('./ibn_b_reference.py', import.meta.url))));
  await initBackend('cpu');
}, 300_000);
afterAll(() => cleanup());

describe("IBN-b presets equal IBN-Net's ResNet_IBN (ibn_cfg 'b', 'b')", () => {
  for (const c of CASES)
    it(`${c.preset}: IBN-Net's keys load, features within 1e-4 · max|ref|`, async () => {
      const analysis = analyze(buildPreset(c.preset, { numClasses: c.numClasses, lastStride: c.lastStride, input: c.input }).graph);
      const ins = analysis.layers.filter((l) => l.kind === 'instance_norm').map((l) => l.name);
      expect(ins).toEqual(c.preset === 'resnet50_ibn_b' ? ['base.bn1', 'base.layer1.2.IN', 'base.layer2.3.IN'] : ['base.bn1', 'base.layer1.1.IN', 'base.layer2.1.IN']);
      const { reid } = await buildModel(analysis);
      try {
        const { values, report } = planLoad(analysis.layers, await readCheckpoint(join(dir, `${c.id}.pth`)), { keepClassifier: true });
        expect(report.counts).toMatchObject({ missing: 0, mismatched: 0 });
        expect(report.skipped.filter((s) => !s.key.endsWith('num_batches_tracked')).map((s) => s.key)).toEqual([]);
        setWeightsFromValues(reid, analysis.layers, values);
        const x = tf.tensor4d(readF32(join(dir, `${c.id}.input.f32`)), [c.batch, c.input[0], c.input[1], 3]);
        const f = forwardEval(reid, x);
        const got = await f.data();
        tf.dispose([x, f]);
        const { diff, ref } = maxDiff(got, readF32(join(dir, `${c.id}.expected.f32`)));
        console.log(`IBN-b parity ${c.id}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}, ratio ${(diff / ref).toExponential(2)}`);
        expect(ref).toBeGreaterThan(0.01);
        expect(diff).toBeLessThanOrEqual(1e-4 * ref);

        // IBN-Net's released layout: bare backbone keys (bn1 = the stem IN, layer1.2.IN, …) and an ImageNet fc.
        const imagenet = planLoad(analysis.layers, await readCheckpoint(join(dir, `${c.id}.imagenet.pth`)));
        expect(imagenet.report.missing.map((m) => m.key).filter((k) => k.startsWith('base.'))).toEqual([]);
        expect(imagenet.report.counts.mismatched).toBe(0);
        for (const k of ['base.bn1/gamma', 'base.layer2.1.IN/beta'].filter((id) => values.has(id)))
          expect(Array.from(imagenet.values.get(k)!)).toEqual(Array.from(values.get(k)!));
      } finally {
        disposeModel(reid);
      }
    }, 120_000);

  it('neither framework config holds IBN-b: both exporters refuse it, naming the stem InstanceNorm', () => {
    for (const out of [exportRsbYaml(buildPreset('resnet50_ibn_b')), exportFastreidYaml(buildPreset('resnet50_ibn_b'))]) {
      expect(out.ok).toBe(false);
      expect((out as { reasons: string[] }).reasons.join('; ')).toMatch(/base\.bn1/);
    }
  });
});
