import { useState } from 'react';
import { settingsProblems } from '../../../core/training/validate.js';
import { useEditor } from '../store/editor.js';
import { nativeOpen } from '../store/native.js';
import { currentSettings, dataSourceOf, editSettings, startTraining, useTraining } from '../store/training.js';
import { DatasetSection } from './DatasetSection.js';
import { SettingsSection } from './SettingsSection.js';

const WEIGHTS = /\.(pth|pt|safetensors)$/i;

function WeightsSection({ choice, path }: { choice: 'none' | 'imagenet' | 'self'; path: string | undefined }) {
  const [text, setText] = useState(path ?? '');
  const problem = text && !WEIGHTS.test(text) ? 'a .pth or .safetensors file' : text && !text.startsWith('/') && !/^[A-Za-z]:/.test(text) ? 'an absolute path' : null;
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
          />
        )}
        {choice !== 'none' && window.reidStudio && (
          <button
            data-testid="weights-browse"
            title="Choose the file in a system dialog (desktop app); in browser mode type the path on the server"
            onClick={() =>
              void nativeOpen('weights').then((r) => {
                if (!r.native || !r.path) return;
                setText(r.path);
                editSettings('weights file', (s) => (s.pretrained.path = r.path ?? undefined));
              })
            }
          >
            Browse…
          </button>
        )}
      </div>
      {problem && <div className="form-error">{problem}</div>}
      {choice !== 'none' && <div className="muted small">What was loaded, skipped, missing or mismatched is reported when the run starts and kept with the run.</div>}
    </section>
  );
}

/** Dataset, settings, weights and the Train button, with every problem listed before training starts. */
export function Setup() {
  const training = useEditor((s) => s.history.doc.training);
  const graphErrors = useEditor((s) => s.analysis.diagnostics.filter((d) => d.severity === 'error').length);
  const { inspection, inspectedKey, inspectError, busy } = useTraining();
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
    ...(graphErrors ? [{ severity: 'error' as const, field: 'graph', message: `the graph has ${graphErrors} problem(s); see the Problems panel` }] : []),
    ...(!source ? [{ severity: 'error' as const, field: 'dataset', message: 'choose a dataset folder' }] : []),
    // A refused folder must not leave the previous dataset silently active: Train waits for a readable one.
    ...(inspectError ? [{ severity: 'error' as const, field: 'dataset-refused', message: `dataset refused: ${inspectError} — choose another folder (or the demo dataset)` }] : []),
    ...(s.pretrained.choice !== 'none' && !s.pretrained.path ? [{ severity: 'error' as const, field: 'pretrained', message: 'choose a weights file, or set pretrained weights to none' }] : []),
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
            </li>
          ))}
          {!all.length && <li className="ok">Ready to train.</li>}
        </ul>
        <input data-testid="run-name" placeholder="run name (optional)" value={name} onChange={(e) => setName(e.target.value)} />
        <button className="primary big" data-testid="train-start" disabled={blocked || busy} title={blocked ? 'fix the errors listed first' : 'start training in a separate process'} onClick={() => void startTraining(name)}>
          {busy ? 'Starting…' : 'Train'}
        </button>
      </div>
    </div>
  );
}
