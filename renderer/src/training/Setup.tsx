import { useEffect, useState } from 'react';
import { settingsProblems } from '../../../core/training/validate.js';
import { RUN_NAME_MAX } from '../../../core/api/training-contract.js';
import { useEditor } from '../store/editor.js';
import { showProblem } from '../components/ProblemsPanel.js';
import { nativeOpen } from '../store/native.js';
import { checkWeights, currentSettings, dataSourceOf, editSettings, startTraining, useTraining, type WeightsCheck } from '../store/training.js';
import { pickPath } from '../store/ops.js';
import { describeConcerns, hasConcerns, weightsConcerns } from '../lib/weights-check.js';
import { DatasetSection } from './DatasetSection.js';
import { SettingsSection } from './SettingsSection.js';

const WEIGHTS = /\.(pth|pt|safetensors)$/i;
const WEIGHT_EXTS = ['.pth', '.pt', '.safetensors'];

/** What the checked file loads into the graph, and what it does not (before Train). */
function WeightsPreview({ check, choice }: { check: WeightsCheck; choice: 'imagenet' | 'self' }) {
  if (check.state === 'checking') return <div className="muted small" data-testid="weights-checking">Reading the weights file…</div>;
  if (check.state === 'error')
    return (
      <div className="form-error" data-testid="weights-error">
        {check.message}
      </div>
    );
  const r = check.report;
  if (!r) return null;
  const c = weightsConcerns(r, choice);
  return (
    <div className="small" data-testid="weights-report">
      <div data-testid="weights-loaded">
        loads {r.counts.loaded} of the graph's {r.counts.slots} tensors from {check.tensors} in the file ({r.format}
        {r.wrapper ? `, ${r.wrapper}` : ''}, {r.layout} names)
      </div>
      {c.freshHead.length > 0 && (
        <div className="muted" data-testid="weights-fresh-head">
          initialised fresh, as expected: {[...new Set(c.freshHead.map((m) => m.layer))].join(', ')}
        </div>
      )}
      {c.byDesign > 0 && <div className="muted">{c.byDesign} keys left out by design (ImageNet fc, BatchNorm step counters, the old classifier)</div>}
      {hasConcerns(c) && (
        <ul className="problem-list" data-testid="weights-concerns">
          {describeConcerns(c, 4).map((line) => (
            <li key={line} className="warning">
              {line}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function WeightsSection({ choice, path }: { choice: 'none' | 'imagenet' | 'self'; path: string | undefined }) {
  const [text, setText] = useState(path ?? '');
  const graph = useEditor((s) => s.history.doc.graph);
  const check = useTraining((s) => s.weightsCheck);
  const problem = text && !WEIGHTS.test(text) ? 'a .pth or .safetensors file' : text && !text.startsWith('/') && !/^[A-Za-z]:/.test(text) ? 'an absolute path' : null;
  useEffect(() => {
    if (choice !== 'none' && path) void checkWeights(path, useEditor.getState().history.doc);
  }, [choice, path, graph]);
  const browse = async () => {
    // The desktop app shows the system dialog; browser mode the in-app file browser (paths are the server's).
    const picked = await pickPath(() => nativeOpen('weights'), { title: 'Pretrained weights (.pth / .safetensors)', mode: 'open', extensions: WEIGHT_EXTS, confirm: 'Choose' });
    if (!picked) return;
    setText(picked);
    editSettings('weights file', (s) => (s.pretrained.path = picked));
  };
  return (
    <section className="train-section" data-testid="weights-section">
      <h4>Pretrained weights</h4>
      <div className="row">
        <select
          data-testid="weights-choice"
          value={choice}
          onChange={(e) => editSettings('pretrained weights', (s) => (s.pretrained.choice = e.target.value as 'none' | 'imagenet' | 'self'))}
        >
          <option value="none">none (random initialisation)</option>
          <option value="imagenet">ImageNet backbone</option>
          <option value="self">a re-ID model (continue / fine-tune)</option>
        </select>
        {choice !== 'none' && (
          <input
            className={`grow ${problem ? 'invalid' : ''}`}
            data-testid="weights-path"
            placeholder="/path/to/resnet50-19c8e357.pth or model.safetensors"
            value={text}
            onChange={(e) => setText(e.target.value)}
            onBlur={() => !problem && text !== (path ?? '') && editSettings('weights file', (s) => (s.pretrained.path = text || undefined))}
            onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
          />
        )}
        {choice !== 'none' && (
          <button data-testid="weights-browse" title={window.reidStudio ? 'Choose the file in a system dialog' : 'Choose the file on the server running ReID Studio'} onClick={() => void browse()}>
            Browse…
          </button>
        )}
      </div>
      {problem && <div className="form-error">{problem}</div>}
      {choice !== 'none' && path && check?.path === path && <WeightsPreview check={check} choice={choice} />}
      {choice !== 'none' && <div className="muted small">The file is read and matched against the model before Train; the full load report is kept with the run.</div>}
    </section>
  );
}

/** Dataset, settings, weights and the Train button, with every problem listed before training starts. */
export function Setup() {
  const training = useEditor((s) => s.history.doc.training);
  const diagnostics = useEditor((s) => s.analysis.diagnostics);
  const graphErrors = diagnostics.filter((d) => d.severity === 'error');
  const { inspection, inspectedKey, inspectError, busy, weightsCheck } = useTraining();
  const [name, setName] = useState('');
  const parsed = currentSettings(training);
  if (!parsed.ok)
    return (
      <div className="pad">
        <div className="form-error" data-testid="settings-invalid">
          {parsed.message}
        </div>
        <button onClick={() => editSettings('reset to defaults', () => undefined)}>Reset to the strong-baseline defaults</button>
      </div>
    );
  const s = parsed.settings;
  const source = dataSourceOf(s);
  const fresh = inspection && source && inspectedKey === JSON.stringify(source) ? inspection : null;
  const problems = settingsProblems(s, fresh ? { trainIdentities: fresh.summary.train.identities, identitiesBelowK: s.batch.k > 4 ? undefined : fresh.problems.identitiesBelowK.filter((x) => x.images < s.batch.k).length } : undefined);
  const all = [
    // The Problems panel is under the training view: the first error is named here, with a link to it.
    ...(graphErrors.length ? [{ severity: 'error' as const, field: 'graph', message: `the graph has ${graphErrors.length} error${graphErrors.length === 1 ? '' : 's'}: ${graphErrors[0]!.message}${graphErrors.length > 1 ? ' …' : ''}`, diagnostic: graphErrors[0]! }] : []),
    ...(!source ? [{ severity: 'error' as const, field: 'dataset', message: 'choose a dataset folder' }] : []),
    // A refused folder must not leave the previous dataset silently active: Train waits for a readable one.
    ...(inspectError ? [{ severity: 'error' as const, field: 'dataset-refused', message: `dataset refused: ${inspectError} — choose another folder (or the demo dataset)` }] : []),
    ...(s.pretrained.choice !== 'none' && !s.pretrained.path ? [{ severity: 'error' as const, field: 'pretrained', message: 'choose a weights file, or set pretrained weights to none' }] : []),
    // A weights file that cannot be read blocks Train; one that loads with mismatches asks at Train.
    ...(s.pretrained.choice !== 'none' && weightsCheck && weightsCheck.path === s.pretrained.path && weightsCheck.state === 'error' ? [{ severity: 'error' as const, field: 'pretrained-file', message: `weights: ${weightsCheck.message}` }] : []),
    ...(s.pretrained.choice !== 'none' && weightsCheck?.report && weightsCheck.path === s.pretrained.path && hasConcerns(weightsConcerns(weightsCheck.report, s.pretrained.choice))
      ? [{ severity: 'warning' as const, field: 'pretrained-fit', message: 'the weights file does not fully fit the model (listed under Pretrained weights): Train asks before starting' }]
      : []),
    ...problems,
  ];
  const blocked = all.some((p) => p.severity === 'error');
  return (
    <div className="setup">
      <div className="setup-cols">
        <div className="setup-col">
          <DatasetSection settings={s} />
        </div>
        <div className="setup-col">
          <SettingsSection settings={s} problems={all} />
          <WeightsSection key={s.pretrained.path ?? ''} choice={s.pretrained.choice} path={s.pretrained.path} />
        </div>
      </div>
      <div className="train-bar">
        <ul className="problem-list grow" data-testid="train-problems">
          {all.map((p) => (
            <li key={p.field + p.message} className={p.severity} data-testid={`train-problem-${p.severity}`}>
              {p.message}
              {'diagnostic' in p && p.diagnostic && (
                <>
                  {' '}
                  <button className="link inline" data-testid="train-problem-show" onClick={() => showProblem(p.diagnostic!)}>
                    {p.diagnostic.nodeId ? 'show the block' : 'show the Problems panel'}
                  </button>
                </>
              )}
            </li>
          ))}
          {!all.length && <li className="ok">Ready to train.</li>}
        </ul>
        <input data-testid="run-name" placeholder="run name (optional)" maxLength={RUN_NAME_MAX} value={name} onChange={(e) => setName(e.target.value)} />
        <button className="primary big" data-testid="train-start" disabled={blocked || busy} title={blocked ? 'fix the errors listed first' : 'start training in a separate process'} onClick={() => void startTraining(name)}>
          {busy ? 'Starting…' : 'Train'}
        </button>
      </div>
    </div>
  );
}
