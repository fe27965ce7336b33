/**
 * fast-reid's ResNeSt-50 recipes (configs/Market1501/bagtricks_S50.yml, AGW_S50.yml, sbs_S50.yml) against
 * fast-reid's OWN model: make_fastreid_fixtures.py ran fast-reid's build_model on each config (its
 * fastreid/modeling/backbones/resnest.py, layers/splat.py, heads/embedding_head.py), filled the state dict
 * with seeded_state.py and saved the key list, a seeded input and the eval features
 * (test/fixtures/fastreid-resnest). Here seeded_state.py rebuilds that very checkpoint in fast-reid's layout
 * ({'model': state_dict}); the app builds the preset fastreid_<recipe>_S50 (= the import of that config) at
 * 64×32, loads the checkpoint through the load plan (nothing missing, nothing skipped but BN counters) and
 * must give the same eval features within 1e-4 · max|ref|. Its `pytorch --layout fastreid` export must then
 * hold exactly fast-reid's keys and shapes (strict load) and its model.py give the same features.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildFastreidPreset, type GraphDoc } from '../../core/index.js';
import { exportModel } from '../../main/export/index.js';
import { buildModel, disposeModel, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { planLoad, readCheckpoint } from '../../main/weights/index.js';
import { featuresOf, maxDiff, PYTHON, readF32 } from './fixtures.js';

const FIX = fileURLToPath(new URL('../fixtures/fastreid-resnest/', import.meta.url));
const SEEDED = fileURLToPath(new URL('./seeded_state.py', import.meta.url));
const CHECK = fileURLToPath(new URL('./check_fastreid_export.py', import.meta.url));
/** The cases of make_fastreid_fixtures.py (same ids and seeds). */
const CASES = [
  { id: 'fr_bagtricks_S50', preset: 'fastreid_bagtricks_S50', seed: 41 },
  { id: 'fr_AGW_S50', preset: 'fastreid_AGW_S50', seed: 42 },
  { id: 'fr_sbs_S50', preset: 'fastreid_sbs_S50', seed: 43 },
] as const;
const [H, W, BATCH, CLASSES] = [64, 32, 2, 11];

/** The preset at the fixture's input size and class count (what fast-reid sizes from the data). */
export function smallPreset(name: string): GraphDoc {
  const doc = buildFastreidPreset(name);
  const input = doc.graph.nodes.find((n) => n.kind === 'input')!;
  input.params = { ...input.params, height: H, width: W };
  doc.graph.nodes.find((n) => n.id === 'classifier')!.params.units = CLASSES;
  return doc;
}

let dir = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reid-fr-resnest-'));
  await initBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("fast-reid ResNeSt-50 (S50 recipes): fast-reid's checkpoint in, fast-reid layout out", () => {
  for (const c of CASES)
    it(`${c.id}: loads every key, features within 1e-4 · max|ref| of fast-reid's model; the fast-reid-layout export loads strictly`, async () => {
      const doc = smallPreset(c.preset);
      const analysis = analyze(doc.graph);
      expect(analysis.ok).toBe(true);
      const ckpt = join(dir, `${c.id}.pth`);
      execFileSync(PYTHON, [SEEDED, join(FIX, `${c.id}.keys.json`), String(c.seed), ckpt], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 });
      const { reid } = await buildModel(analysis);
      try {
        const { values, report } = planLoad(analysis.layers, await readCheckpoint(ckpt), { keepClassifier: true });
        expect(report.counts).toMatchObject({ missing: 0, mismatched: 0 });
        expect(report.skipped.filter((s) => !s.key.endsWith('num_batches_tracked')).map((s) => s.key)).toEqual([]);
        setWeightsFromValues(reid, analysis.layers, values);
        const got = await featuresOf(reid, join(FIX, `${c.id}.input.f32`), [BATCH, H, W]);
        const { diff, ref } = maxDiff(got, readF32(join(FIX, `${c.id}.expected.f32`)));
        console.log(`ResNeSt parity ${c.id}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}, ratio ${(diff / ref).toExponential(2)}`);
        expect(ref).toBeGreaterThan(0.01);
        expect(diff).toBeLessThanOrEqual(1e-4 * ref);

        const exp = join(dir, `${c.id}-export`);
        const res = await exportModel(doc, 'pytorch', exp, { weights: values, layout: 'fastreid' });
        expect(res.weights.set).toBe(res.weights.slots);
        const out = join(dir, `${c.id}-out`);
        mkdirSync(out);
        const spec = { export: exp, keys: join(FIX, `${c.id}.keys.json`), inputFile: join(FIX, `${c.id}.input.f32`), batch: BATCH, input: [H, W], out };
        writeFileSync(join(dir, `${c.id}-check.json`), JSON.stringify(spec));
        execFileSync(PYTHON, [CHECK, join(dir, `${c.id}-check.json`)], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 });
        const r = maxDiff(readF32(join(out, 'modelpy.f32')), got);
        expect(r.diff).toBeLessThanOrEqual(1e-4 * r.ref);
      } finally {
        disposeModel(reid);
      }
    }, 180_000);
});
