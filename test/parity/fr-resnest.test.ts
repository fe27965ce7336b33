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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFastreidPreset, type GraphDoc } from '../../core/index.js';
import { initBackend } from '../../main/tfjs/index.js';
import { fastreidRoundTrip } from './fr-checkpoint.js';

const FIX = fileURLToPath(new URL('../fixtures/fastreid-resnest/', import.meta.url));
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
      const { diff, ref } = await fastreidRoundTrip(smallPreset(c.preset), { id: c.id, seed: c.seed, fix: FIX, batch: BATCH, size: [H, W] }, dir);
      console.log(`ResNeSt parity ${c.id}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}, ratio ${(diff / ref).toExponential(2)}`);
    }, 180_000);
});
