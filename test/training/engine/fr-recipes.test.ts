import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, parseTrainingSettings, seedInitializers, trainingSettingsSchema } from '../../../core/index.js';
import { buildFromCompiled, disposeModel, getWeightValues } from '../../../main/tfjs/index.js';
import { recoverCheckpoint } from '../../../main/runs/store/checkpoint.js';
import { decodeRunWeights, type CheckpointMeta } from '../../../main/runs/store/checkpoint-keys.js';
import { sizeClassifier } from '../../../main/training/engine/prepare.js';
import { tinyGraph } from './tiny.js';
import { importConfig } from '../../../core/config/index.js';
import { initBackend } from '../../../main/tfjs/index.js';
import { loadDataset, type LoadedDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { train, type TrainEvent } from '../../../main/training/engine/trainer.js';
import { FIXTURES } from '../../config/helpers.js';

/**
 * fast-reid's three ResNet recipe families, imported from their configs (Market1501 bagtricks_R50, AGW_R50,
 * sbs_R50) at a tiny input size, each train two iterations on the demo data: BoT's linear classifier and
 * batch-hard triplet, AGW's GeM and weighted soft-margin triplet, SBS's GeM-P, CircleSoftmax, soft-margin
 * triplet, cosine schedule and backbone freeze (one frozen iteration, one trained); and fast-reid's ResNeSt-50
 * (bagtricks_S50), which `auto` trains on onnxruntime's one-program step (split attention, avd / average-down
 * pooling and the dilated layer4 have gradient rules, core/compile/grad/ops).
 */
const tmp = mkdtempSync(join(tmpdir(), 'reid-fr-train-'));
let ds: LoadedDataset;

describe('fast-reid recipes train on the demo data', () => {
  beforeAll(async () => {
    await writeDemoDataset(join(tmp, 'demo'), 'tiny', 0);
    ds = await loadDataset('market1501', join(tmp, 'demo'), { k: 2 });
    await initBackend('wasm');
  }, 120_000);

  for (const family of ['bagtricks', 'AGW', 'sbs']) {
    it(`${family}_R50`, async () => {
      const path = join(FIXTURES, 'fastreid', 'tiny.yml');
      const text = `_BASE_: Market1501/${family}_R50.yml\nINPUT:\n  SIZE_TRAIN: [64, 32]\n  SIZE_TEST: [64, 32]\n`;
      const r = importConfig(text, { path, resolveBase: (p) => readFileSync(p, 'utf8') });
      const parsed = parseTrainingSettings(r.doc.training);
      if (!parsed.ok) throw new Error(parsed.message);
      const settings = { ...parsed.settings, batch: { p: 2, k: 2 }, epochs: 1, freezeBackboneIters: parsed.settings.freezeBackboneIters ? 1 : 0, pretrained: { choice: 'none' as const } };
      const events: TrainEvent[] = [];
      const out = await train({ doc: r.doc, settings, dataset: ds, runDir: join(tmp, family), backend: 'wasm', maxSteps: 2, onEvent: (e) => events.push(e) });
      expect(out.status).toBe('stopped');
      const start = events.find((e) => e.type === 'start') as Extract<TrainEvent, { type: 'start' }>;
      expect(start.loss).toBe(
        family === 'sbs' ? 'CircleSoftmax(s=64, m=0.35) CE(ε=0.1) + triplet(soft margin)' : family === 'AGW' ? 'CE(ε=0.1) + weighted triplet(soft margin)' : 'CE(ε=0.1) + triplet(m=0.3)',
      );
      const steps = events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[];
      expect(steps.length).toBe(2);
      for (const st of steps) {
        expect(Number.isFinite(st.loss)).toBe(true);
        expect(Number.isFinite(st.ce!) && Number.isFinite(st.triplet!)).toBe(true);
      }
    }, 600_000);
  }

  it("bagtricks_S50 (fast-reid's ResNeSt-50): auto trains it on onnxruntime's one-program step, no fallback in the run log", async () => {
    const path = join(FIXTURES, 'fastreid', 'tiny.yml');
    const text = '_BASE_: Market1501/bagtricks_S50.yml\nINPUT:\n  SIZE_TRAIN: [64, 32]\n  SIZE_TEST: [64, 32]\n';
    const r = importConfig(text, { path, resolveBase: (p) => readFileSync(p, 'utf8') });
    const parsed = parseTrainingSettings(r.doc.training);
    if (!parsed.ok) throw new Error(parsed.message);
    const settings = { ...parsed.settings, batch: { p: 2, k: 2 }, epochs: 1, freezeBackboneIters: 0, pretrained: { choice: 'none' as const } };
    const events: TrainEvent[] = [];
    const runDir = join(tmp, 'bagtricks_S50');
    const out = await train({ doc: r.doc, settings, dataset: ds, runDir, backend: 'auto', maxSteps: 2, onEvent: (e) => events.push(e) });
    expect(out.status).toBe('stopped');
    const start = events.find((e) => e.type === 'start') as Extract<TrainEvent, { type: 'start' }>;
    expect(start.backend).toBe('onnxruntime');
    expect(start.microBatchReason).toMatch(/one ONNX program/);
    const log = readFileSync(join(runDir, 'train.log'), 'utf8');
    expect(log).toMatch(/start: backend onnxruntime /);
    expect(log).not.toMatch(/onnxruntime skipped|one-program step skipped|no gradient rule|not supported for training/);
    const steps = events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[];
    expect(steps.length).toBe(2);
    for (const st of steps) expect(Number.isFinite(st.loss) && Number.isFinite(st.ce!) && Number.isFinite(st.triplet!)).toBe(true);
  }, 600_000);

  it('FREEZE_ITERS: the backbone (weights and BN statistics) is unchanged for the first iterations, then trains', async () => {
    const settings = trainingSettingsSchema.parse({ epochs: 1, batch: { p: 2, k: 2 }, schedule: { warmup: false, steps: [100] }, optimizer: { baseLr: 1e-2 }, freezeBackboneIters: 2, seed: 4 });
    const doc = sizeClassifier(tinyGraph(ds.numClasses), ds.numClasses);
    const a = analyze(doc.graph);
    const initial = await buildFromCompiled(seedInitializers(compileToKeras(a), settings.seed));
    const start = await getWeightValues(initial, a.layers);
    disposeModel(initial);
    const after = async (steps: number) => {
      const dir = join(tmp, `freeze-${steps}`);
      await train({ doc, settings, dataset: ds, runDir: dir, backend: 'wasm', maxSteps: steps });
      const saved = decodeRunWeights(a.layers, (await recoverCheckpoint<Partial<CheckpointMeta>>(dir))!).values;
      const moved = (prefix: string) =>
        [...start].filter(([k]) => k.startsWith(prefix)).some(([k, v]) => saved.get(k)!.some((x, i) => Math.abs(x - v[i]!) > 1e-7));
      return { backbone: moved('base.'), head: moved('classifier') };
    };
    expect(await after(2)).toEqual({ backbone: false, head: true });
    expect(await after(3)).toEqual({ backbone: true, head: true });
  }, 600_000);
});
