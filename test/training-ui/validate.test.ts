import { describe, expect, it } from 'vitest';
import { defaultTrainingSettings, type TrainingSettings } from '../../core/training/settings.js';
import { settingsProblems, usesTriplet } from '../../core/training/validate.js';
import { LossConfigError, planLoss } from '../../main/training/losses/index.js';

const with_ = (patch: (s: TrainingSettings) => void): TrainingSettings => {
  const s = defaultTrainingSettings();
  patch(s);
  return s;
};

describe('settings problems shown before Train (core/training/validate.ts)', () => {
  it('agrees with the engine loss plan on every sampler × metric × P combination', () => {
    for (const sampler of ['softmax', 'triplet', 'softmax_triplet'] as const)
      for (const metric of ['triplet', 'center', 'triplet_center'] as const)
        for (const p of [1, 2, 16]) {
          const s = with_((x) => {
            x.sampler = sampler;
            x.loss.metric = metric;
            x.batch.p = p;
          });
          let engineError: string | null = null;
          try {
            const plan = planLoss(s);
            expect(plan.tripletMargin !== null, `${sampler}/${metric}`).toBe(usesTriplet(s));
          } catch (e) {
            if (!(e instanceof LossConfigError)) throw e;
            engineError = e.message;
          }
          const errors = settingsProblems(s).filter((x) => x.severity === 'error');
          expect(errors.map((x) => x.message), `${sampler}/${metric}/P=${p}`).toEqual(engineError ? [engineError] : []);
        }
  });

  it('refuses exactly the combinations the RSB loss table cannot train', () => {
    const refused: string[] = [];
    for (const sampler of ['softmax', 'triplet', 'softmax_triplet'] as const)
      for (const metric of ['triplet', 'center', 'triplet_center'] as const)
        for (const p of [1, 2]) {
          const s = with_((x) => ((x.sampler = sampler), (x.loss.metric = metric), (x.batch.p = p)));
          if (settingsProblems(s).some((x) => x.severity === 'error')) refused.push(`${sampler}/${metric}/P=${p}`);
        }
    // make_loss_with_center has no softmax-sampler branch for triplet_center; a batch-hard triplet
    // term needs at least 2 identities (softmax + 'triplet' trains CE only, so P = 1 is fine there).
    expect(refused).toEqual(['softmax/triplet_center/P=1', 'softmax/triplet_center/P=2', 'triplet/triplet/P=1', 'triplet/triplet_center/P=1', 'softmax_triplet/triplet/P=1', 'softmax_triplet/triplet_center/P=1']);
  });

  it('the strong-baseline defaults have no errors; a short run warns that warm-up and LR steps never happen', () => {
    expect(settingsProblems(defaultTrainingSettings())).toEqual([]);
    const short = with_((x) => (x.epochs = 3));
    const fields = settingsProblems(short).map((p) => `${p.severity}:${p.field}`);
    expect(fields).toEqual(['warning:schedule.warmupEpochs', 'warning:schedule.steps', 'warning:evalPeriod']);
    // fast-reid's cosine schedule has no decay steps: its (unused) multistep steps are not reported.
    const cosine = with_((x) => {
      x.epochs = 3;
      x.schedule.name = 'cosine';
    });
    expect(settingsProblems(cosine).map((p) => p.field)).not.toContain('schedule.steps');
  });

  it('uses the dataset: too few identities for P is an error, identities below K a warning', () => {
    const s = defaultTrainingSettings(); // P = 16, K = 4
    const p = settingsProblems(s, { trainIdentities: 10, identitiesBelowK: 3 });
    expect(p.find((x) => x.field === 'batch.p')).toMatchObject({ severity: 'error', message: expect.stringContaining('training set has 10') });
    expect(p.find((x) => x.field === 'batch.k')).toMatchObject({ severity: 'warning', message: expect.stringContaining('3 training identities') });
    // Plain shuffle does not need P identities.
    const shuffle = with_((x) => {
      x.sampler = 'softmax';
      x.loss.metric = 'center';
    });
    expect(settingsProblems(shuffle, { trainIdentities: 10 }).filter((x) => x.severity === 'error')).toEqual([]);
  });

  it('refuses a loss whose every active term has weight 0 (the loss would be 0: no gradient), and only then', () => {
    const zero = with_((x) => ((x.sampler = 'softmax_triplet'), (x.loss.metric = 'triplet'), (x.loss.ceWeight = 0), (x.loss.tripletWeight = 0)));
    expect(settingsProblems(zero).filter((p) => p.severity === 'error').map((p) => p.field)).toEqual(['loss']);
    expect(settingsProblems(zero)[0]!.message).toContain('cross-entropy, triplet');
    // One active term with a weight is a real loss; a zero weight on a term the sampler does not use changes nothing.
    const ceOnly = with_((x) => ((x.sampler = 'softmax_triplet'), (x.loss.metric = 'triplet'), (x.loss.tripletWeight = 0)));
    expect(settingsProblems(ceOnly).filter((p) => p.severity === 'error')).toEqual([]);
    const unusedZero = with_((x) => ((x.sampler = 'softmax'), (x.loss.metric = 'triplet'), (x.loss.tripletWeight = 0)));
    expect(settingsProblems(unusedZero).filter((p) => p.severity === 'error')).toEqual([]);
    const onlyUnused = with_((x) => ((x.sampler = 'softmax'), (x.loss.metric = 'triplet'), (x.loss.ceWeight = 0)));
    expect(settingsProblems(onlyUnused).filter((p) => p.severity === 'error').map((p) => p.field)).toEqual(['loss']);
  });
});
