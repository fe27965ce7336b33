import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, defaultTrainingSettings, seedInitializers, type TrainingSettings } from '../../core/index.js';
import { trainEventSchema } from '../../core/api/training-contract.js';
import { activeLossTerms, LOSS_TERM_IDS, LOSS_TERMS, lossTermByFastreidName, rsbMetricTerms } from '../../core/training/losses.js';
import { lossComboError } from '../../core/training/validate.js';
import { FR_DEFAULTS, RSB_DEFAULTS } from '../../core/config/index.js';
import { progressPrinter } from '../../main/cli/train.js';
import { buildFromCompiled, initBackend, trainableVariables, type ReidModel } from '../../main/tfjs/index.js';
import { Service } from '../../main/service/index.js';
import { RunDir } from '../../main/runs/store/run-dir.js';
import { computeGradients, type StepResult } from '../../main/training/engine/step.js';
import type { TrainEvent } from '../../main/training/engine/trainer.js';
import { ReidLoss } from '../../main/training/losses/index.js';
import { cleanup } from '../e2e/harness.js';
import { tinyGraph } from './engine/tiny.js';

const P = 4;
const K = 2;
const N = P * K;
const SAMPLERS = ['softmax', 'triplet', 'softmax_triplet'] as const;
const METRICS = ['triplet', 'center', 'triplet_center'] as const;

describe('loss-term table (core/training/losses.ts)', () => {
  let reid: ReidModel;
  /** Real step results per `sampler/metric`, for the run-comparison test. */
  const results = new Map<string, StepResult>();
  const dataDir = mkdtempSync(join(tmpdir(), 'reid-loss-terms-'));
  afterAll(() => cleanup(dataDir));
  beforeAll(async () => {
    await initBackend('wasm');
    const a = analyze(tinyGraph(P).graph);
    expect(a.ok).toBe(true);
    reid = await buildFromCompiled(seedInitializers(compileToKeras(a), 3));
  });

  it('names exactly the terms the engine puts in its step results, for every loss it trains', async () => {
    const images = Float32Array.from({ length: N * 32 * 16 * 3 }, (_, i) => Math.sin(i * 0.29) * 1.2);
    const labels = Int32Array.from({ length: N }, (_, i) => Math.floor(i / K));
    const seen = new Set<string>();
    let combos = 0;
    for (const sampler of SAMPLERS)
      for (const metric of METRICS) {
        const s: TrainingSettings = { ...defaultTrainingSettings(), sampler, batch: { p: P, k: K } };
        s.loss = { ...s.loss, metric };
        if (lossComboError(s)) continue;
        combos++;
        const loss = new ReidLoss(s, P, 16);
        const { grads, result } = await computeGradients(reid, loss, trainableVariables(reid), images, labels, N);
        Object.values(grads).forEach((g) => g.dispose());
        loss.dispose();
        // The step result minus the total and the accuracy = the terms, in table order, as the plan says.
        const keys = Object.keys(result).filter((k) => k !== 'loss' && k !== 'acc');
        expect(keys, `${sampler}/${metric}`).toEqual(loss.plan.terms);
        expect(keys, `${sampler}/${metric}`).toEqual(activeLossTerms(s));
        for (const k of keys) expect(Number.isFinite(result[k as keyof typeof result]), `${sampler}/${metric} ${k}`).toBe(true);
        keys.forEach((k) => seen.add(k));
        results.set(`${sampler}/${metric}`, result);
      }
    expect(combos).toBe(8); // all but triplet_center with the plain-shuffle sampler
    // Every row of the table is a term some loss produces, and there is no term the table misses.
    expect([...seen].sort()).toEqual([...LOSS_TERM_IDS].sort());
  });

  it('the step event of the contract carries every term, and the CLI prints each one', () => {
    const terms = { ce: 6.2154, triplet: 0.30071, center: 412.345 };
    const step = { type: 'step' as const, epoch: 1, iter: 2, iters: 10, step: 2, loss: 6.7, acc: 0.25, lr: 3.5e-4, imgPerSec: 12, etaSeconds: 30, ...terms };
    const parsed = trainEventSchema.parse(step);
    for (const id of LOSS_TERM_IDS) expect(parsed).toHaveProperty(id, terms[id]);
    let out = '';
    const stream = { isTTY: false, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
    progressPrinter(stream, 'lines')(step satisfies TrainEvent);
    expect(out).toContain('(ce 6.215 tri 0.301 cen 412.3)');
    out = '';
    progressPrinter(stream, 'lines')({ ...step, ce: undefined, center: undefined });
    expect(out).toContain('(tri 0.301)');
  });

  it('run comparison curves carry the terms each run logged', async () => {
    const runs = [
      ['20260101-000000-all', results.get('softmax_triplet/triplet_center')!],
      ['20260101-000001-tri', results.get('triplet/triplet')!],
    ] as const;
    for (const [id, r] of runs) {
      const run = new RunDir(join(dataDir, 'runs', id));
      await run.init();
      await run.writeJson('run.json', { id, name: id, status: 'stopped', created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' });
      await run.writeJson('settings.json', defaultTrainingSettings());
      // What the trainer logs: the step event, which spreads the step result.
      for (const step of [1, 2]) await run.metric({ type: 'step', epoch: 1, iter: step, iters: 2, step, lr: 3.5e-4, imgPerSec: 1, etaSeconds: 0, ...r });
    }
    const svc = new Service({ host: 'browser', version: '0', dataDir, documentsDir: dataDir });
    const out = await svc.call('runs.compare', { runIds: runs.map(([id]) => id) });
    for (const [i, [, r]] of runs.entries()) {
      const point = out.runs[i]!.curve[1]!;
      expect(point).toEqual({ step: 2, loss: r.loss, acc: r.acc, ...Object.fromEntries(LOSS_TERM_IDS.filter((id) => r[id] !== undefined).map((id) => [id, r[id]])) });
    }
    expect(Object.keys(out.runs[0]!.curve[0]!)).toEqual(expect.arrayContaining(['ce', 'triplet', 'center']));
    expect(out.runs[1]!.curve[0]).not.toHaveProperty('ce');
  });

  it("matches fast-reid's loss names and reid-strong-baseline's MODEL.METRIC_LOSS_TYPE", () => {
    // fast-reid fastreid/modeling/meta_arch/baseline.py Baseline.losses(): 'CrossEntropyLoss' in
    // MODEL.LOSSES.NAME → loss_dict['loss_cls'], 'TripletLoss' → loss_dict['loss_triplet']; no center loss.
    expect(LOSS_TERMS.map((t) => [t.id, t.fastreid && { name: t.fastreid.name, lossDict: t.fastreid.lossDict, weightKey: t.fastreid.weightKey }])).toEqual([
      ['ce', { name: 'CrossEntropyLoss', lossDict: 'loss_cls', weightKey: 'MODEL.LOSSES.CE.SCALE' }],
      ['triplet', { name: 'TripletLoss', lossDict: 'loss_triplet', weightKey: 'MODEL.LOSSES.TRI.SCALE' }],
      ['center', null],
    ]);
    // Every config key a term declares is a key of the framework's defaults.
    for (const t of LOSS_TERMS) {
      for (const k of t.fastreid?.keys ?? []) expect(FR_DEFAULTS, k).toHaveProperty([k]);
      for (const k of t.rsbKeys) expect(RSB_DEFAULTS, k).toHaveProperty([k]);
    }
    expect(lossTermByFastreidName('TripletLoss')?.id).toBe('triplet');
    expect(lossTermByFastreidName('CircleLoss')).toBeUndefined();
    // reid-strong-baseline layers/__init__.py make_loss_with_center: METRIC_LOSS_TYPE 'center' or 'triplet_center'.
    expect(rsbMetricTerms('triplet')).toEqual(['triplet']);
    expect(rsbMetricTerms('center')).toEqual(['center']);
    expect(rsbMetricTerms('triplet_center')).toEqual(['triplet', 'center']);
    // The chart's legend texts (test/e2e/training.test.ts reads them) and the right-axis term.
    expect(LOSS_TERMS.map((t) => (t.rightAxis ? `${t.label} (right axis)` : t.label))).toEqual(['CE', 'triplet', 'center (right axis)']);
  });
});
