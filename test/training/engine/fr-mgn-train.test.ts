import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTrainingSettings } from '../../../core/index.js';
import { importConfig } from '../../../core/config/index.js';
import { initBackend } from '../../../main/tfjs/index.js';
import { loadDataset, type LoadedDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { train, type TrainEvent } from '../../../main/training/engine/trainer.js';
import { FIXTURES } from '../../config/helpers.js';

/**
 * fast-reid's MGN recipe (configs/Market1501/mgn_R50-ibn.yml: eight CircleSoftmax heads, five soft-margin
 * triplet terms, the trunk and branches frozen for the first iterations) imported at 96×32 (the 3-part branch
 * needs 3 rows of its 6-row map) trains two iterations on the demo data: one with its FREEZE_LAYERS frozen,
 * one trained, every term finite, on the one-program step (`auto`: the eight heads' losses in the ONNX
 * program; test/training/engine/mgn-program.test.ts holds its sums to the tfjs multi-head step's).
 */
const tmp = mkdtempSync(join(tmpdir(), 'reid-fr-mgn-train-'));
let ds: LoadedDataset;

describe('fast-reid MGN trains on the demo data', () => {
  beforeAll(async () => {
    await writeDemoDataset(join(tmp, 'demo'), 'tiny', 0);
    ds = await loadDataset('market1501', join(tmp, 'demo'), { k: 2 });
    await initBackend('wasm');
  }, 120_000);

  it('mgn_R50-ibn: two iterations (one frozen), finite CE and triplet sums, on the one-program step', async () => {
    const text = '_BASE_: Market1501/mgn_R50-ibn.yml\nINPUT:\n  SIZE_TRAIN: [96, 32]\n  SIZE_TEST: [96, 32]\n';
    const r = importConfig(text, { path: join(FIXTURES, 'fastreid', 'tiny.yml'), resolveBase: (p) => readFileSync(p, 'utf8') });
    const parsed = parseTrainingSettings(r.doc.training);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.settings.freezeBackboneIters).toBe(1000);
    const settings = { ...parsed.settings, batch: { p: 2, k: 2 }, epochs: 1, freezeBackboneIters: 1, pretrained: { choice: 'none' as const } };
    const events: TrainEvent[] = [];
    const runDir = join(tmp, 'mgn');
    const out = await train({ doc: r.doc, settings, dataset: ds, runDir, backend: 'auto', maxSteps: 2, onEvent: (e) => events.push(e) });
    expect(out.status).toBe('stopped');
    const start = events.find((e) => e.type === 'start') as Extract<TrainEvent, { type: 'start' }>;
    expect(start.loss).toBe('CircleSoftmax(s=64, m=0.35) CE(ε=0.1) + triplet(soft margin)');
    expect(start.backend).toBe('onnxruntime');
    expect(start.microBatchReason).toMatch(/one ONNX program/);
    const steps = events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[];
    expect(steps.length).toBe(2);
    for (const st of steps) {
      expect(Number.isFinite(st.loss) && Number.isFinite(st.ce!) && Number.isFinite(st.triplet!)).toBe(true);
      // total = CE.SCALE · Σ 0.125·CE_h + TRI.SCALE · Σ 0.2·tri_h, both scales 1 (Base-SBS.yml).
      expect(st.loss).toBeCloseTo(st.ce! + st.triplet!, 4);
    }
  }, 600_000);
});
