import { useEffect, useState } from 'react';
import { applyIbnPlacement, BACKEND_CHOICES, setNeck, setParams, swapNorm, type GraphDoc, type TrainingSettings } from '../../../core/index.js';
import type { CallOutput } from '../../../core/api/contract.js';
import { api } from '../api/client.js';
import type { SettingsProblem } from '../../../core/training/validate.js';
import { run, useEditor } from '../store/editor.js';
import { editSettings } from '../store/training.js';
import { FastreidSettings } from './FastreidSettings.js';
import { backendBadge } from './backend-badge.js';

/** The graph-level tricks, read from the document: last stage stride, BNNeck, IBN-a, input size. */
export function graphTricks(doc: GraphDoc) {
  const stages = doc.graph.nodes.filter((n) => n.kind === 'stage');
  const last = stages.find((n) => n.id === 'layer4') ?? stages[stages.length - 1];
  const neck = doc.graph.nodes.find((n) => n.kind === 'neck');
  const input = doc.graph.nodes.find((n) => n.kind === 'input');
  const ibn = doc.graph.nodes.some((n) => n.kind === 'ibn_a' || n.params.norm === 'ibn_a');
  return {
    lastStage: last,
    lastStride: last ? Number(last.params.stride ?? 2) : null,
    neck,
    bnneck: neck ? neck.params.type === 'bnneck' : null,
    ibn,
    input: input ? { id: input.id, h: Number(input.params.height), w: Number(input.params.width) } : null,
  };
}

/**
 * A text field that commits (one undo step) on Enter or blur, and shows why a value is refused. A commit that
 * returns false was refused downstream (editSettings' schema check, with a toast): the field shows the stored value again.
 */
export function Field({ label, value, parse, commit, testId, width = 70, hint }: { label: string; value: string; parse: (t: string) => string | null; commit: (t: string) => void | boolean; testId: string; width?: number; hint?: string }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const error = text === value ? null : parse(text);
  const done = () => {
    if (text !== value && !parse(text)) {
      if (commit(text) === false) setText(value);
    } else if (parse(text)) setText(value);
  };
  return (
    <label className="field inline" title={error ?? hint}>
      <span>{label}</span>
      <input style={{ width }} className={error ? 'invalid' : ''} data-testid={testId} value={text} onChange={(e) => setText(e.target.value)} onBlur={done} onKeyDown={(e) => e.key === 'Enter' && done()} />
    </label>
  );
}

export const int = (min: number, max: number) => (t: string) => (/^\d+$/.test(t.trim()) && +t >= min && +t <= max ? null : `a whole number from ${min} to ${max}`);
/** A typed number; a blank field is not a number (JavaScript's Number('') is 0, which would store 0). */
export const num = (t: string): number => (t.trim() === '' ? NaN : Number(t));
export const pos = (t: string) => (Number.isFinite(num(t)) && num(t) > 0 ? null : 'a positive number');
export const nonNeg = (t: string) => (Number.isFinite(num(t)) && num(t) >= 0 ? null : 'a number ≥ 0');
const stepsParse = (t: string) => (t.trim() === '' || (/^\s*\d+(\s*,\s*\d+)*\s*$/.test(t) && t.split(',').every((v) => Number(v) >= 1)) ? null : 'epochs (1 or more) separated by commas, e.g. 40, 70');
const microBatchParse = (t: string) => (/^\s*auto\s*$/i.test(t) || (/^\s*\d+\s*$/.test(t) && +t >= 1 && +t <= 4096) ? null : 'auto, or a whole number from 1 to 4096');
const sizeParse = (t: string) => (/^\s*\d+\s*[x×]\s*\d+\s*$/.test(t) ? null : 'H×W, e.g. 256x128');

export function Toggle({ label, checked, onChange, testId, title }: { label: string; checked: boolean; onChange: (v: boolean) => void; testId: string; title: string }) {
  return (
    <label className="toggle" title={title}>
      <input type="checkbox" data-testid={testId} checked={checked} onChange={(e) => onChange(e.target.checked)} />
      {label}
    </label>
  );
}

export function SettingsSection({ settings: s, problems }: { settings: TrainingSettings; problems: SettingsProblem[] }) {
  const doc = useEditor((st) => st.history.doc);
  const g = graphTricks(doc);
  const bad = (field: string) => problems.some((p) => p.field === field && p.severity === 'error');
  const setSize = (t: string) => {
    const m = /(\d+)\s*[x×]\s*(\d+)/.exec(t)!;
    if (g.input) run({ ...setParams([g.input.id], { height: Number(m[1]), width: Number(m[2]) }), label: 'Input size' });
  };
  return (
    <section className="train-section" data-testid="settings-section">
      <h4>
        Settings <span className="muted small">strong-baseline recipe; edits are undoable (Ctrl+Z)</span>
      </h4>
      <div className="tricks" data-testid="tricks">
        <Toggle label="Warm-up" testId="trick-warmup" title="linear LR warm-up (RSB WARMUP_ITERS)" checked={s.schedule.warmup} onChange={(v) => editSettings('warm-up', (x) => (x.schedule.warmup = v))} />
        <Toggle label="Random erasing" testId="trick-erasing" title="random erasing p = 0.5" checked={s.augment.randomErasingProb > 0} onChange={(v) => editSettings('random erasing', (x) => (x.augment.randomErasingProb = v ? 0.5 : 0))} />
        <Toggle label="Label smoothing" testId="trick-ls" title="cross-entropy with ε = 0.1" checked={s.loss.labelSmooth} onChange={(v) => editSettings('label smoothing', (x) => (x.loss.labelSmooth = v))} />
        <Toggle label="Last stride 1" testId="trick-last-stride" title="stride of the last ResNet stage (graph edit)" checked={g.lastStride === 1} onChange={(v) => g.lastStage && run({ ...setParams([g.lastStage.id], { stride: v ? 1 : 2 }), label: `Last stride ${v ? 1 : 2}` })} />
        <Toggle label="BNNeck" testId="trick-bnneck" title="BN between feature and classifier (graph edit)" checked={!!g.bnneck} onChange={(v) => run(setNeck(v ? 'bnneck' : 'no'))} />
        <Toggle label="Center loss" testId="trick-center" title="adds β·center loss (RSB triplet_center)" checked={s.loss.metric !== 'triplet'} onChange={(v) => editSettings('center loss', (x) => (x.loss.metric = v ? 'triplet_center' : 'triplet'))} />
        <Toggle label="IBN-a" testId="trick-ibn" title="IBN-a in bn1 of layer1–3 (graph edit)" checked={g.ibn} onChange={(v) => run(v ? applyIbnPlacement() : swapNorm('backbone', 'bn'))} />
      </div>
      <div className="settings-grid">
        <Field label="Epochs" testId="set-epochs" value={String(s.epochs)} parse={int(1, 10000)} commit={(t) => editSettings('epochs', (x) => (x.epochs = Number(t)))} />
        <Field label="P (ids/batch)" testId="set-p" value={String(s.batch.p)} parse={int(1, 1024)} commit={(t) => editSettings('batch P', (x) => (x.batch.p = Number(t)))} width={50} />
        <Field label="K (imgs/id)" testId="set-k" value={String(s.batch.k)} parse={int(1, 64)} commit={(t) => editSettings('batch K', (x) => (x.batch.k = Number(t)))} width={50} />
        <span className="muted small">batch {s.batch.p * s.batch.k}</span>
        <Field
          label="Micro-batch"
          testId="set-micro-batch"
          value={s.microBatch === undefined ? 'auto' : String(s.microBatch)}
          parse={microBatchParse}
          commit={(t) => editSettings('micro-batch', (x) => (/^\s*auto\s*$/i.test(t) ? delete x.microBatch : (x.microBatch = Number(t))))}
          width={50}
          hint="images per forward / backward pass (the batch's gradient is accumulated); auto = planned from the training device's memory"
        />
        {g.input && <Field label="Input H×W" testId="set-input" value={`${g.input.h}x${g.input.w}`} parse={sizeParse} commit={setSize} width={80} />}
        <label className="field inline">
          <span>Sampler</span>
          <select data-testid="set-sampler" className={bad('sampler') ? 'invalid' : ''} value={s.sampler} onChange={(e) => editSettings('sampler', (x) => (x.sampler = e.target.value as TrainingSettings['sampler']))}>
            <option value="softmax_triplet">P×K (softmax + triplet)</option>
            <option value="triplet">P×K (triplet only)</option>
            <option value="softmax">shuffle (softmax)</option>
          </select>
        </label>
        <label className="field inline">
          <span>Metric loss</span>
          <select data-testid="set-metric" value={s.loss.metric} onChange={(e) => editSettings('metric loss', (x) => (x.loss.metric = e.target.value as TrainingSettings['loss']['metric']))}>
            <option value="triplet_center">triplet + center</option>
            <option value="triplet">triplet</option>
            <option value="center">center</option>
          </select>
        </label>
        <label className="field inline">
          <span>Optimizer</span>
          <select value={s.optimizer.name} onChange={(e) => editSettings('optimizer', (x) => (x.optimizer.name = e.target.value as 'adam' | 'sgd'))}>
            <option value="adam">Adam</option>
            <option value="sgd">SGD</option>
          </select>
        </label>
        <Field label="Base LR" testId="set-lr" value={String(s.optimizer.baseLr)} parse={pos} commit={(t) => editSettings('base LR', (x) => (x.optimizer.baseLr = Number(t)))} />
        <Field label="Warm-up epochs" testId="set-warmup-epochs" value={String(s.schedule.warmupEpochs)} parse={int(0, 10000)} commit={(t) => editSettings('warm-up epochs', (x) => (x.schedule.warmupEpochs = Number(t)))} width={50} />
        <Field label="LR steps at" testId="set-steps" value={s.schedule.steps.join(', ')} parse={stepsParse} commit={(t) => editSettings('LR steps', (x) => (x.schedule.steps = t.split(',').filter((v) => v.trim()).map(Number)))} width={80} />
        <Field label="γ" testId="set-gamma" value={String(s.schedule.gamma)} parse={pos} commit={(t) => editSettings('LR γ', (x) => (x.schedule.gamma = Number(t)))} width={50} />
        <Field label="Eval every" testId="set-eval-period" value={String(s.evalPeriod)} parse={int(1, 10000)} commit={(t) => editSettings('eval period', (x) => (x.evalPeriod = Number(t)))} width={50} />
        <label className="field inline">
          <span>Backend</span>
          <BackendSelect value={s.backend} />
        </label>
      </div>
      <FastreidSettings settings={s} />
    </section>
  );
}

/**
 * The backend choice: a backend the service found missing or broken is disabled, with the reason as its
 * tooltip and in its label (the same check as `reid-studio backend`).
 */
function BackendSelect({ value }: { value: TrainingSettings['backend'] }) {
  const [status, setStatus] = useState<CallOutput<'backend.status'> | null>(null);
  useEffect(() => void api.call('backend.status', {}).then(setStatus, () => undefined), []);
  const unusable = new Map((status?.attempts ?? []).filter((a) => a.status === 'not-installed' || a.status === 'failed').map((a) => [a.name, a.message ?? a.status]));
  if (status?.onnxruntime && !status.onnxruntime.available) unusable.set('onnxruntime', status.onnxruntime.message ?? 'not available');
  if (status?.webgpu && !status.webgpu.available) unusable.set('webgpu', status.webgpu.message ?? 'not available');
  else if (status?.engines && status.engines.train.engine !== 'webgpu' && /does not run training/.test(status.engines.train.reason)) unusable.set('webgpu', 'does not train yet (evaluations only)');
  const autoPick = status?.engines?.train.engine ?? (status?.onnxruntime?.available ? 'onnxruntime' : status?.backend);
  const label = (b: string) => (b === 'webgpu' && status?.webgpu?.adapter ? `webgpu · ${status.webgpu.adapter.label}` : b);
  return (
    <select data-testid="set-backend" value={value} title={status ? (status.gpuFallback ?? `auto picks ${autoPick} here`) : undefined} onChange={(e) => editSettings('backend', (x) => (x.backend = e.target.value as TrainingSettings['backend']))}>
      {BACKEND_CHOICES.map((b) => (
        <option key={b} value={b} disabled={unusable.has(b) && b !== value} title={unusable.get(b)} data-testid={`backend-${b}`}>
          {b === 'auto' && status ? `auto (${autoPick === 'onnxruntime' || autoPick === 'webgpu' ? label(autoPick) : backendBadge(status).text})` : unusable.has(b) ? `${b} — ${unusable.get(b)}` : label(b)}
        </option>
      ))}
    </select>
  );
}
