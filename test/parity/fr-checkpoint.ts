/**
 * The fast-reid checkpoint round trip shared by the fast-reid parity tests (fr-resnest, fr-mgn): seeded_state.py
 * rebuilds the checkpoint make_fastreid_fixtures.py loaded into fast-reid's own model ({'model': state_dict},
 * fast-reid's key layout); the app loads it through the load plan (nothing missing or mis-shaped, nothing skipped
 * but BN counters), its eval features must be within 1e-4 · max|ref| of fast-reid's, and its
 * `pytorch --layout fastreid` export must hold exactly fast-reid's keys and shapes (check_fastreid_export.py:
 * strict load) with model.py giving the same features.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { analyze, type GraphDoc } from '../../core/index.js';
import { exportModel } from '../../main/export/index.js';
import { buildModel, disposeModel, setWeightsFromValues } from '../../main/tfjs/index.js';
import { planLoad, readCheckpoint } from '../../main/weights/index.js';
import { featuresOf, maxDiff, PYTHON, readF32 } from './fixtures.js';

const SEEDED = fileURLToPath(new URL('./seeded_state.py', import.meta.url));
const CHECK = fileURLToPath(new URL('./check_fastreid_export.py', import.meta.url));

export interface FrCase {
  /** The fixture id (<fix>/<id>.keys.json, .input.f32, .expected.f32) and its seeded_state seed. */
  id: string;
  seed: number;
  fix: string;
  batch: number;
  size: [number, number];
}

/** Runs the round trip on `doc` in `dir`; returns the eval features' max |Δ| and max |ref|. */
export async function fastreidRoundTrip(doc: GraphDoc, c: FrCase, dir: string): Promise<{ diff: number; ref: number; got: Float32Array }> {
  const [H, W] = c.size;
  const analysis = analyze(doc.graph);
  expect(analysis.ok).toBe(true);
  const ckpt = join(dir, `${c.id}.pth`);
  execFileSync(PYTHON, [SEEDED, join(c.fix, `${c.id}.keys.json`), String(c.seed), ckpt], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 });
  const { reid } = await buildModel(analysis);
  try {
    const { values, report } = planLoad(analysis.layers, await readCheckpoint(ckpt), { keepClassifier: true });
    expect(report.counts).toMatchObject({ missing: 0, mismatched: 0 });
    expect(report.skipped.filter((s) => !s.key.endsWith('num_batches_tracked')).map((s) => s.key)).toEqual([]);
    setWeightsFromValues(reid, analysis.layers, values);
    const got = await featuresOf(reid, join(c.fix, `${c.id}.input.f32`), [c.batch, H, W]);
    const { diff, ref } = maxDiff(got, readF32(join(c.fix, `${c.id}.expected.f32`)));
    expect(ref).toBeGreaterThan(0.01);
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);

    const exp = join(dir, `${c.id}-export`);
    const res = await exportModel(doc, 'pytorch', exp, { weights: values, layout: 'fastreid' });
    expect(res.weights.set).toBe(res.weights.slots);
    const out = join(dir, `${c.id}-out`);
    mkdirSync(out);
    const spec = { export: exp, keys: join(c.fix, `${c.id}.keys.json`), inputFile: join(c.fix, `${c.id}.input.f32`), batch: c.batch, input: [H, W], out };
    writeFileSync(join(dir, `${c.id}-check.json`), JSON.stringify(spec));
    execFileSync(PYTHON, [CHECK, join(dir, `${c.id}-check.json`)], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 });
    const r = maxDiff(readF32(join(out, 'modelpy.f32')), got);
    expect(r.diff).toBeLessThanOrEqual(1e-4 * r.ref);
    return { diff, ref, got };
  } finally {
    disposeModel(reid);
  }
}
