/**
 * fast-reid's non-local ResNet (WITH_NL, the AGW / SBS backbones): fastreid_reference.py builds fast-reid's
 * Baseline with `Non_local` blocks placed by `_build_nonlocal` (50x: NL_2 after layer2.2 / layer2.3, NL_3
 * after layer3.3–5) from fast-reid's published definitions and saves {'model': state_dict}. The app builds
 * the graph its fast-reid importer builds for WITH_NL: True, loads the file through the load plan (nothing
 * missing, nothing skipped but BN counters) and must give the same eval features within 1e-4 · max|ref|;
 * its `pytorch --layout fastreid` export must then load strictly into the same PyTorch Baseline (and through
 * the export's model.py) with the same features. 64×32 inputs keep it to seconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../core/index.js';
import { buildModel as buildSpecModel, type ModelSpec } from '../../core/config/index.js';
import { exportModel } from '../../main/export/index.js';
import { buildModel, disposeModel, forwardEval, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { planLoad, readCheckpoint } from '../../main/weights/index.js';
import { generateFixtures, maxDiff, PYTHON, readF32 } from './fixtures.js';
import { frSpec } from '../config/helpers.js';

const REF = fileURLToPath(new URL('./fastreid_reference.py', import.meta.url));
const CASES = [
  { id: 'fr_agw_r50_nl', ibn: false, pool: 'GlobalAvgPool', nl: true, pixelBuffers: false, lastStride: 1, numClasses: 11, input: [64, 32], batch: 2, seed: 31 },
  { id: 'fr_sbs_r50_ibn_nl_gemp', ibn: true, pool: 'GeneralizedMeanPoolingP', gemP: 3.2, nl: true, pixelBuffers: false, lastStride: 1, numClasses: 11, input: [64, 32], batch: 2, seed: 32 },
] as const;

const specOf = (c: (typeof CASES)[number]): ModelSpec =>
  frSpec({ ibn: c.ibn, pool: c.pool === 'GlobalAvgPool' ? 'avg' : 'gemP', numClasses: c.numClasses, input: [c.input[0], c.input[1]], nonLocal: true });

let dir = '';
let cleanup = () => {};
beforeAll(async () => {
  ({ dir, cleanup } = generateFixtures(CASES, REF));
  await initBackend('cpu');
}, 300_000);
afterAll(() => cleanup());

describe("fast-reid non-local ResNet-50 (WITH_NL): fast-reid's checkpoint in, fast-reid layout out", () => {
  for (const c of CASES)
    it(`${c.id}: loads every key, features within 1e-4 · max|ref|; the fast-reid-layout export loads strictly`, async () => {
      const doc = buildSpecModel(specOf(c));
      const analysis = analyze(doc.graph);
      expect(analysis.layers.filter((l) => l.kind === 'non_local_attention').map((l) => l.name)).toEqual(
        ['NL_2.0', 'NL_2.1', 'NL_3.0', 'NL_3.1', 'NL_3.2'].map((n) => `base.${n}.attention`),
      );
      // Placement: NL_2.0 follows layer2.2, NL_3.0 follows layer3.3 (fast-reid NL_idx = the last blocks).
      const byName = new Map(analysis.layers.map((l) => [l.name, l]));
      expect(byName.get('base.NL_2.0.g')!.inputs).toEqual(['base.layer2.2.relu3']);
      expect(byName.get('base.layer2.3.conv1')!.inputs).toEqual(['base.NL_2.0.add']);
      expect(byName.get('base.NL_3.0.theta')!.inputs).toEqual(['base.layer3.3.relu3']);
      expect(byName.get('base.layer4.0.conv1')!.inputs).toEqual(['base.NL_3.2.add']);

      const { reid } = await buildModel(analysis);
      try {
        const { values, report } = planLoad(analysis.layers, await readCheckpoint(join(dir, `${c.id}.pth`)), { keepClassifier: true });
        expect(report.counts).toMatchObject({ missing: 0, mismatched: 0 });
        expect(report.skipped.filter((s) => !s.key.endsWith('num_batches_tracked')).map((s) => s.key)).toEqual([]);
        expect(values.get('base.NL_3.2.W.1/gamma')).toBeDefined();
        setWeightsFromValues(reid, analysis.layers, values);
        const [h, w] = c.input;
        const input = readF32(join(dir, `${c.id}.input.f32`));
        const x = tf.tensor4d(input, [c.batch, h, w, 3]);
        const f = forwardEval(reid, x);
        const got = (await f.data()) as Float32Array;
        tf.dispose([x, f]);
        const { diff, ref } = maxDiff(got, readF32(join(dir, `${c.id}.expected.f32`)));
        console.log(`non-local parity ${c.id}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}, ratio ${(diff / ref).toExponential(2)}`);
        expect(ref).toBeGreaterThan(0.01);
        expect(diff).toBeLessThanOrEqual(1e-4 * ref);

        const exp = join(dir, `${c.id}-export`);
        const res = await exportModel(doc, 'pytorch', exp, { weights: values, layout: 'fastreid' });
        expect(res.weights.set).toBe(res.weights.slots);
        const out = join(dir, `${c.id}-out`);
        mkdirSync(out);
        writeFileSync(join(dir, `${c.id}-check.json`), JSON.stringify({ ...c, export: exp, inputFile: join(dir, `${c.id}.input.f32`), out }));
        execFileSync(PYTHON, [REF, '--check-export', join(dir, `${c.id}-check.json`)], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 });
        for (const which of ['fastreid', 'modelpy']) {
          const r = maxDiff(readF32(join(out, `${which}.f32`)), got);
          expect({ which, ok: r.diff <= 1e-4 * r.ref }).toEqual({ which, ok: true });
        }
      } finally {
        disposeModel(reid);
      }
    }, 120_000);
});
