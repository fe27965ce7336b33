import { describe, expect, it } from 'vitest';
import { defaultTrainingSettings, lrAt, lrFactor } from '../../core/index.js';
import { runPython } from './python.js';

/**
 * The cosine schedule with a delay (fast-reid SOLVER.SCHED CosineAnnealingLR, DELAY_EPOCHS, ETA_MIN_LR, linear
 * warmup) per iteration against torch.optim.lr_scheduler.CosineAnnealingLR and fast-reid's WarmupLR, driven as
 * fast-reid's LRScheduler hook drives them (test/training/ref_fr_schedule.py).
 */

const CASES = [
  // SBS in miniature: 6 epochs of 4 iterations, 2 warmup epochs, cosine after a 3-epoch delay.
  { base_lr: 3.5e-4, max_epoch: 6, ipe: 4, warmup_epochs: 2, warmup_factor: 0.1, delay_epochs: 3, eta_min: 7e-7 },
  // Warmup longer than the delay; no delay.
  { base_lr: 0.01, max_epoch: 8, ipe: 3, warmup_epochs: 3, warmup_factor: 0.01, delay_epochs: 0, eta_min: 1e-7 },
  // No warmup.
  { base_lr: 1e-3, max_epoch: 5, ipe: 2, warmup_epochs: 0, warmup_factor: 0.1, delay_epochs: 1, eta_min: 0 },
];

describe('cosine annealing with a delay, per iteration', () => {
  const ref = runPython<number[][]>('ref_fr_schedule.py', CASES.map((c) => ({ ...c, warmup_iters: c.warmup_epochs * c.ipe })));
  CASES.forEach((c, i) => {
    it(`matches fast-reid + torch for ${JSON.stringify(c)}`, () => {
      const s = defaultTrainingSettings();
      const settings = {
        ...s,
        epochs: c.max_epoch,
        optimizer: { ...s.optimizer, baseLr: c.base_lr },
        schedule: { ...s.schedule, name: 'cosine' as const, warmup: c.warmup_epochs > 0, warmupEpochs: c.warmup_epochs, warmupFactor: c.warmup_factor, delayEpochs: c.delay_epochs, etaMinLr: c.eta_min },
      };
      const ours: number[] = [];
      for (let e = 1; e <= c.max_epoch; e++) for (let it = 0; it < c.ipe; it++) ours.push(lrAt(settings, e, it, c.ipe));
      expect(ours.length).toBe(ref[i]!.length);
      ours.forEach((lr, j) => expect(Math.abs(lr - ref[i]![j]!), `iteration ${j}: ${lr} vs ${ref[i]![j]}`).toBeLessThanOrEqual(1e-12 + 1e-9 * c.base_lr));
    });
  });

  it('the multi-step schedule keeps reid-strong-baseline per-epoch semantics', () => {
    const s = defaultTrainingSettings();
    for (const e of [1, 5, 10, 40, 70]) for (const it of [0, 3]) expect(lrAt(s, e, it, 4)).toBe(s.optimizer.baseLr * lrFactor(s, e));
  });
});
