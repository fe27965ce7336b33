/**
 * fast-reid's MGN (configs/Market1501/mgn_R50-ibn.yml) against fast-reid's OWN model: make_fastreid_fixtures.py
 * ran fast-reid's build_model on that config (fastreid/modeling/meta_arch/mgn.py with its EmbeddingHeads),
 * filled the state dict with seeded_state.py and saved the key list, a seeded [2, 3, 96, 32] input and the
 * eval features (test/fixtures/fastreid-mgn: the eight heads' 256-d features concatenated, 2048-d). The app
 * builds the mgn_R50-ibn preset at 96×32 with 11 classes; fr-checkpoint.ts loads that checkpoint in fast-reid's
 * layout, compares the eval features (1e-4 · max|ref|) and checks the fast-reid-layout export loads strictly
 * into fast-reid's key set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildMgnPreset } from '../../core/index.js';
import { initBackend } from '../../main/tfjs/index.js';
import { fastreidRoundTrip } from './fr-checkpoint.js';

const FIX = fileURLToPath(new URL('../fixtures/fastreid-mgn/', import.meta.url));
const [H, W, CLASSES] = [96, 32, 11];

let dir = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reid-fr-mgn-'));
  await initBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("fast-reid MGN (mgn_R50-ibn): fast-reid's checkpoint in, fast-reid layout out", () => {
  it('loads every key, eval features within 1e-4 · max|ref| of fast-reid build_model; the fast-reid-layout export loads strictly', async () => {
    const doc = buildMgnPreset('mgn_R50-ibn', { input: [H, W], numClasses: CLASSES });
    const analysis = analyze(doc.graph);
    expect(analysis.diagnostics).toEqual([]);
    expect(analysis.featureDim).toBe(8 * 256);
    expect(analysis.outputs.heads?.map((h) => [h.logits, h.feature ?? null])).toEqual([
      ['b1_head.classifier', 'b1_head.bottleneck.1'],
      ['b2_head.classifier', 'b2_head.bottleneck.1'],
      ['b3_head.classifier', 'b3_head.bottleneck.1'],
      ['b21_head.classifier', null],
      ['b22_head.classifier', 'b22_pool_feat'],
      ['b31_head.classifier', null],
      ['b32_head.classifier', null],
      ['b33_head.classifier', 'b33_pool_feat'],
    ]);
    const { diff, ref, got } = await fastreidRoundTrip(doc, { id: 'fr_mgn_R50-ibn', seed: 44, fix: FIX, batch: 2, size: [H, W] }, dir);
    console.log(`MGN parity fr_mgn_R50-ibn: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}, ratio ${(diff / ref).toExponential(2)}`);
    expect(got.length).toBe(2 * 2048);
  }, 240_000);
});
