import { CLS_LAYERS, LOSS_TERMS, lossTermWeight, type ClsLayer, type TrainingSettings } from '../../../core/index.js';
import { editSettings } from '../store/training.js';
import { Field, int, nonNeg, pos, Toggle } from './SettingsSection.js';

/**
 * The fast-reid recipe options (BoT / AGW / SBS): classification layer with scale and margin
 * (fastreid/layers/any_softmax.py), triplet variants (losses/triplet_loss.py), cosine LR with a delay,
 * the backbone freeze of the first iterations, AutoAugment's probability, and each loss term's weight —
 * the weights listed from the loss-term table (core/training/losses.ts).
 */
export function FastreidSettings({ settings: s }: { settings: TrainingSettings }) {
  const cosine = s.schedule.name === 'cosine';
  return (
    <div className="settings-grid" data-testid="fastreid-settings">
      <label className="field inline" title="fast-reid MODEL.HEADS.CLS_LAYER: how the training logits are formed (evaluation does not use them)">
        <span>Classifier</span>
        <select data-testid="set-cls-layer" value={s.classifier.layer} onChange={(e) => editSettings('classification layer', (x) => (x.classifier.layer = e.target.value as ClsLayer))}>
          {CLS_LAYERS.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
      {s.classifier.layer !== 'Linear' && (
        <>
          <Field label="scale" testId="set-cls-scale" value={String(s.classifier.scale)} parse={pos} commit={(t) => editSettings('classifier scale', (x) => (x.classifier.scale = Number(t)))} width={50} />
          <Field label="margin" testId="set-cls-margin" value={String(s.classifier.margin)} parse={nonNeg} commit={(t) => editSettings('classifier margin', (x) => (x.classifier.margin = Number(t)))} width={50} />
        </>
      )}
      <Toggle label="Soft-margin triplet" testId="set-soft-margin" title="fast-reid TRI.MARGIN 0: SoftMarginLoss instead of the hinge" checked={s.loss.softMargin} onChange={(v) => editSettings('soft-margin triplet', (x) => (x.loss.softMargin = v))} />
      <Toggle label="Hard mining" testId="set-hard-mining" title="fast-reid TRI.HARD_MINING: batch-hard (on) or softmax-weighted triplets (off, AGW)" checked={s.loss.hardMining} onChange={(v) => editSettings('hard mining', (x) => (x.loss.hardMining = v))} />
      <Toggle label="Normalise triplet features" testId="set-norm-feat" title="fast-reid TRI.NORM_FEAT" checked={s.loss.normFeat} onChange={(v) => editSettings('triplet feature normalisation', (x) => (x.loss.normFeat = v))} />
      {LOSS_TERMS.filter((t) => t.weightField !== 'centerWeight').map((t) => (
        <Field key={t.id} label={`${t.label} weight`} testId={`set-weight-${t.id}`} value={String(lossTermWeight(t.id, s.loss))} parse={nonNeg} commit={(v) => editSettings(`${t.name} weight`, (x) => (x.loss[t.weightField] = Number(v)))} width={50} />
      ))}
      <label className="field inline" title="multi-step (reid-strong-baseline) or fast-reid's cosine annealing after a delay">
        <span>LR schedule</span>
        <select data-testid="set-schedule" value={s.schedule.name} onChange={(e) => editSettings('LR schedule', (x) => (x.schedule.name = e.target.value as TrainingSettings['schedule']['name']))}>
          <option value="multistep">multi-step</option>
          <option value="cosine">cosine (delayed)</option>
        </select>
      </label>
      {cosine && (
        <>
          <Field label="delay epochs" testId="set-delay" value={String(s.schedule.delayEpochs)} parse={int(0, 10000)} commit={(t) => editSettings('cosine delay', (x) => (x.schedule.delayEpochs = Number(t)))} width={50} />
          <Field label="min LR" testId="set-eta-min" value={String(s.schedule.etaMinLr)} parse={nonNeg} commit={(t) => editSettings('minimum LR', (x) => (x.schedule.etaMinLr = Number(t)))} width={70} />
        </>
      )}
      <Field label="Freeze backbone (iters)" testId="set-freeze-iters" value={String(s.freezeBackboneIters)} parse={int(0, 10_000_000)} commit={(t) => editSettings('backbone freeze', (x) => (x.freezeBackboneIters = Number(t)))} width={60} hint="fast-reid FREEZE_LAYERS [backbone] + FREEZE_ITERS" />
      <Field label="AutoAugment p" testId="set-autoaug" value={String(s.augment.autoAugmentProb)} parse={(t) => (nonNeg(t) ?? (Number(t) <= 1 ? null : 'a probability from 0 to 1'))} commit={(t) => editSettings('AutoAugment', (x) => (x.augment.autoAugmentProb = Number(t)))} width={50} hint="fast-reid INPUT.AUTOAUG.PROB (ImageNet policy)" />
    </div>
  );
}
