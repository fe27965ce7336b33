import { counted } from '../format/plural.js';
import type { TrainingSettings } from './settings.js';
import { activeLossTerms, lossTerm, lossTermWeight } from './losses.js';

/**
 * Problems of a training setup that can be shown before Train is pressed. The loss rules follow the
 * reid-strong-baseline loss table (layers/__init__.py make_loss / make_loss_with_center); the training
 * engine's planLoss (main/training/losses) refuses the same combinations through `lossComboError`, and
 * test/training-ui/validate.test.ts checks both sides on every sampler × metric × P combination.
 */
export interface SettingsProblem {
  severity: 'error' | 'warning';
  /** Settings field the problem is about (dotted path), for highlighting. */
  field: string;
  message: string;
}

/** What the dataset inspection knows that matters for the batch plan. */
export interface DatasetFacts {
  trainIdentities: number;
  /** Training identities with fewer than K images (the P×K sampler repeats their images). */
  identitiesBelowK?: number;
}

/** True when the settings' loss has a batch-hard triplet term (which needs P×K batches). */
export function usesTriplet(s: Pick<TrainingSettings, 'sampler' | 'loss'>): boolean {
  return activeLossTerms(s).includes('triplet');
}

/** The loss combinations RSB cannot train (the engine's planLoss refuses them with this message). */
export function lossComboError(s: Pick<TrainingSettings, 'sampler' | 'loss' | 'batch'>): { field: string; message: string } | null {
  if (s.loss.metric === 'triplet_center' && s.sampler === 'softmax')
    return {
      field: 'sampler',
      message:
        "loss 'triplet_center' uses the batch-hard triplet loss, which needs P×K batches, but the sampler is 'softmax' (plain shuffle); choose sampler 'softmax_triplet' or loss 'center'",
    };
  if (usesTriplet(s) && s.batch.p < 2) return { field: 'batch.p', message: `the triplet loss needs at least 2 identities per batch (batch.p = ${s.batch.p})` };
  return null;
}

export function settingsProblems(s: TrainingSettings, data?: DatasetFacts): SettingsProblem[] {
  const out: SettingsProblem[] = [];
  const err = (field: string, message: string) => out.push({ severity: 'error', field, message });
  const warn = (field: string, message: string) => out.push({ severity: 'warning', field, message });
  const pk = s.sampler !== 'softmax';
  const combo = lossComboError(s);
  if (combo) err(combo.field, combo.message);
  // fast-reid scales each term by its weight (MODEL.LOSSES.*.SCALE): with every active term at 0 the loss is 0 and
  // no gradient reaches the model; the run would report a "trained" model that is its initialisation.
  const terms = activeLossTerms(s);
  if (terms.every((id) => lossTermWeight(id, s.loss) === 0))
    err('loss', `every loss term of this run (${terms.map((id) => lossTerm(id).name).join(', ')}) has weight 0: training would not change the model; give one a weight above 0`);
  if (s.loss.metric === 'triplet' && !pk) warn('sampler', "with the 'softmax' sampler the triplet loss is not used (RSB trains plain cross-entropy only)");
  if (usesTriplet(s) && s.batch.k < 2) warn('batch.k', `with K = ${s.batch.k} image per identity a batch has no positive pairs: the triplet loss cannot learn`);
  if (data) {
    if (pk && data.trainIdentities < s.batch.p)
      err('batch.p', `the P×K sampler needs P = ${counted(s.batch.p, 'identity', 'identities')} per batch but the training set has ${data.trainIdentities}; lower P`);
    if (!pk && data.trainIdentities === 0) err('dataset', 'the training set is empty');
    if (pk && data.identitiesBelowK)
      warn('batch.k', `${data.identitiesBelowK} training identit${data.identitiesBelowK === 1 ? 'y has' : 'ies have'} fewer than K = ${s.batch.k} images (the sampler repeats their images)`);
  }
  if (s.schedule.warmup && s.schedule.warmupEpochs > s.epochs) warn('schedule.warmupEpochs', `warm-up lasts ${s.schedule.warmupEpochs} epochs but the run has ${s.epochs}: the LR never reaches its base value`);
  const late = s.schedule.name === 'multistep' ? s.schedule.steps.filter((m) => m > s.epochs) : [];
  if (late.length) warn('schedule.steps', `LR decay step${late.length > 1 ? 's' : ''} ${late.join(', ')} ${late.length > 1 ? 'are' : 'is'} after the last epoch (${s.epochs})`);
  if (s.evalPeriod > s.epochs) warn('evalPeriod', `evaluation every ${s.evalPeriod} epochs: only the final evaluation after epoch ${s.epochs} runs`);
  return out;
}
