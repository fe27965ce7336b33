import { lrFactor, type TrainingSettings } from './settings.js';

/**
 * The learning rate of one training iteration.
 *
 * - `schedule.name` 'multistep': reid-strong-baseline's WarmupMultiStepLR (solver/lr_scheduler.py), stepped
 *   once per epoch: the LR is constant within an epoch (`lrFactor`).
 * - 'cosine': fast-reid's SOLVER.SCHED CosineAnnealingLR as its trainer drives it (fastreid/solver/build.py
 *   build_lr_scheduler, fastreid/engine/hooks.py LRScheduler, fastreid/solver/lr_scheduler.py WarmupLR):
 *   linear warmup stepped after every iteration for W = warmupEpochs · itersPerEpoch iterations
 *   (factor = warmupFactor·(1 − i/W) + i/W at iteration i), then torch.optim.lr_scheduler.CosineAnnealingLR
 *   stepped after each completed epoch e once e > DELAY_EPOCHS and the warmup is over, with
 *   T_max = epochs − max(⌈W / itersPerEpoch⌉, DELAY_EPOCHS) and eta_min = ETA_MIN_LR.
 *   Porting note: fast-reid counts warmup in iterations (WARMUP_ITERS); the app stores whole epochs.
 *
 * `epoch` is 1-based, `iter` the 0-based iteration within it, `itersPerEpoch` ≥ 1. Returns the LR (same unit
 * as `optimizer.baseLr`).
 */
export function lrAt(s: Pick<TrainingSettings, 'optimizer' | 'schedule' | 'epochs'>, epoch: number, iter: number, itersPerEpoch: number): number {
  const base = s.optimizer.baseLr;
  const sch = s.schedule;
  if (sch.name !== 'cosine') return base * lrFactor(s as TrainingSettings, epoch);
  const ipe = Math.max(1, itersPerEpoch);
  const warmIters = sch.warmup ? sch.warmupEpochs * ipe : 0;
  const i = (epoch - 1) * ipe + iter;
  if (i < warmIters) {
    const alpha = i / warmIters;
    return base * (sch.warmupFactor * (1 - alpha) + alpha);
  }
  // Cosine steps taken before this epoch: completed epochs e with e·ipe > W (warmup over) and e > delay.
  let t = 0;
  for (let e = 1; e < epoch; e++) if (e * ipe > warmIters && e > sch.delayEpochs) t++;
  const tMax = Math.max(1, s.epochs - Math.max(Math.ceil(warmIters / ipe), sch.delayEpochs));
  return sch.etaMinLr + ((base - sch.etaMinLr) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
}
