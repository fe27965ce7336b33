import { useEffect, useState } from 'react';
import type { RunSummary } from '../../../core/api/contract.js';
import { RUN_NAME_MAX } from '../../../core/api/training-contract.js';
import { LOSS_TERMS, lossTerm, type LossTermId } from '../../../core/training/losses.js';
import { CompareQueries } from './CompareQueries.js';
import { EvalMatrix } from './EvalMatrix.js';
import { compare, deleteRun, importTrainingFolder, openRun, refreshRuns, renameRun, toggleCompare, useTraining, type Comparison } from '../store/training.js';
import { nativeOpen } from '../store/native.js';
import { pickPath } from '../store/ops.js';
import { Chart, COLORS, type Line } from './Chart.js';
import { EvalRecords } from './EvalRecords.js';
import { fmtEvalEpoch, pct, RunOpsButtons } from './Results.js';

function RunRow({ r, checked }: { r: RunSummary; checked: boolean }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(r.name);
  const [confirm, setConfirm] = useState(false);
  const save = () => {
    setEditing(false);
    if (name.trim() && name.trim() !== r.name) void renameRun(r.id, name.trim());
  };
  return (
    <tr data-testid="run-row" data-run-id={r.id}>
      <td>
        <input type="checkbox" data-testid="run-compare" checked={checked} onChange={() => toggleCompare(r.id)} title="select for comparison" />
      </td>
      <td>
        {editing ? (
          <input data-testid="run-rename-input" autoFocus maxLength={RUN_NAME_MAX} value={name} onChange={(e) => setName(e.target.value)} onBlur={save} onKeyDown={(e) => e.key === 'Enter' && save()} />
        ) : (
          <span data-testid="run-name" title={r.id}>
            {r.name}
          </span>
        )}
      </td>
      <td>
        <span className={`badge phase ${r.status}`} data-testid="run-status" title={r.external ? `${r.external.source}${r.external.lastChanged ? `, last changed ${new Date(r.external.lastChanged).toLocaleString()}` : ''}` : undefined}>
          {r.external ? `external: ${r.backend ?? r.external.framework}` : r.status}
        </span>
        {r.external?.lastChanged && <div className="muted small" data-testid="run-last-changed">changed {new Date(r.external.lastChanged).toLocaleString()}</div>}
      </td>
      <td className="muted">{r.backend ?? ''}</td>
      <td>{r.epoch !== undefined && r.epochs ? `${Math.min(r.epoch, r.epochs)}/${r.epochs}` : ''}</td>
      <td data-testid="run-map">{pct(r.mAP)}</td>
      <td>{pct(r.rank1)}</td>
      <td className="muted small">{new Date(r.created).toLocaleString()}</td>
      <td className="actions">
        <button className="mini" data-testid="run-open" onClick={() => void openRun(r.id)}>
          Open
        </button>
        <button className="mini" data-testid="run-rename" onClick={() => (setName(r.name), setEditing(true))}>
          Rename
        </button>
        <RunOpsButtons runId={r.id} name={r.name} disabled={r.active} />
        {confirm ? (
          <button className="mini danger" data-testid="run-delete-confirm" onClick={() => void deleteRun(r.id)} onBlur={() => setConfirm(false)}>
            Delete?
          </button>
        ) : (
          <button className="mini" data-testid="run-delete" disabled={r.active} title={r.active ? 'stop the run first' : 'delete the run folder'} onClick={() => setConfirm(true)}>
            Delete
          </button>
        )}
      </td>
    </tr>
  );
}

/** Which loss the comparison plots: the total, or one term (core/training/losses.ts). */
type CurveKey = 'loss' | LossTermId;

function overlay(c: Comparison, key: CurveKey, name: (id: string) => string): { x: number[]; lines: Line[] } {
  const steps = [...new Set(c.runs.flatMap((r) => r.curve.map((p) => p.step)))].sort((a, b) => a - b);
  const lines = c.runs.map((r, i) => {
    const at = new Map(r.curve.flatMap((p) => (p[key] === undefined ? [] : [[p.step, p[key]] as const])));
    return { label: name(r.summary.id), values: steps.map((s) => at.get(s) ?? null), color: COLORS[i % COLORS.length]! };
  });
  return { x: steps, lines };
}

function CompareView({ c }: { c: Comparison }) {
  const [key, setKey] = useState<CurveKey>('loss');
  // The terms some compared run has (a run without one gets no line for it).
  const terms = LOSS_TERMS.filter((t) => c.runs.some((r) => r.curve.some((p) => p[t.id] !== undefined)));
  // Names from the live runs list, so a rename in the list above shows here at once.
  const runs = useTraining((st) => st.runs);
  const name = (id: string) => runs.find((r) => r.id === id)?.name ?? c.runs.find((r) => r.summary.id === id)?.summary.name ?? id;
  const { x, lines } = overlay(c, key, name);
  const metric = (e: Record<string, unknown> | null, k: string) => pct(e?.[k]);
  return (
    <div className="compare" data-testid="compare-view">
      <label className="compare-curve">
        curve{' '}
        <select data-testid="compare-curve" value={key} onChange={(e) => setKey(e.target.value as CurveKey)}>
          <option value="loss">total loss</option>
          {terms.map((t) => (
            <option key={t.id} value={t.id}>
              {t.label} loss
            </option>
          ))}
        </select>
      </label>
      <Chart key={key} title={key === 'loss' ? 'Training loss' : `${lossTerm(key).label} loss`} testId="chart-compare" x={x} lines={lines} version={x.length} height={170} />
      <table className="kv-table" data-testid="compare-metrics">
        <thead>
          <tr>
            <th>run</th>
            <th>mAP</th>
            <th>rank-1</th>
            <th>rank-5</th>
            <th>rank-10</th>
            <th>mINP</th>
            <th title="the epoch of the weights these metrics were measured on">evaluated at</th>
            <th>status</th>
          </tr>
        </thead>
        <tbody>
          {c.runs.map((r, i) => (
            <tr key={r.summary.id} data-compare-run-id={r.summary.id}>
              <th style={{ color: COLORS[i % COLORS.length] }} data-testid="compare-run-name">
                {name(r.summary.id)}
              </th>
              <td>{metric(r.eval, 'mAP')}</td>
              <td>{metric(r.eval, 'rank1')}</td>
              <td>{metric(r.eval, 'rank5')}</td>
              <td>{metric(r.eval, 'rank10')}</td>
              <td>{metric(r.eval, 'mINP')}</td>
              <td data-testid="compare-epoch">{fmtEvalEpoch(r.eval)}</td>
              <td>{r.summary.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {c.runs.some((r) => r.evals?.length) ? (
        <>
          <h4>Evaluations after training (by dataset; the table above is each run&apos;s training-time evaluation)</h4>
          {c.runs
            .filter((r) => r.evals?.length)
            .map((r) => (
              <div key={r.summary.id} data-testid="compare-evals" data-compare-run-id={r.summary.id}>
                <div className="small">
                  <strong>{name(r.summary.id)}</strong>
                </div>
                <EvalRecords records={r.evals} testId="compare-eval-records" />
              </div>
            ))}
        </>
      ) : null}
      <h4>What changed</h4>
      {c.changes.map((ch) => (
        <div key={ch.to} className="changes" data-testid="compare-changes">
          <div className="small">
            <strong>{name(ch.from)}</strong> → <strong>{name(ch.to)}</strong>
          </div>
          <ul>
            {ch.model.map((m) => (
              <li key={`m${m.text}`} data-testid="change-model" className={`change ${m.kind}`}>
                <span className="badge">{m.kind}</span> {m.text}
              </li>
            ))}
            {ch.settings.map((m) => (
              <li key={`s${m.text}`} data-testid="change-setting" className="change setting">
                <span className="badge">setting</span> {m.text}
              </li>
            ))}
            {!ch.model.length && !ch.settings.length && <li className="muted">Same graph and settings.</li>}
          </ul>
        </div>
      ))}
      {c.runs.length === 2 && (
        <>
          <h4>Query by query (A = first, B = second run)</h4>
          <CompareQueries runIds={[c.runs[0]!.summary.id, c.runs[1]!.summary.id]} names={[name(c.runs[0]!.summary.id), name(c.runs[1]!.summary.id)]} />
        </>
      )}
    </div>
  );
}

async function importFolder(): Promise<void> {
  const path = await pickPath(() => nativeOpen('folder'), { title: 'Training output folder (fast-reid / reid-strong-baseline OUTPUT_DIR)', mode: 'open', extensions: [], folder: true, confirm: 'Import' });
  if (path) await importTrainingFolder(path);
}

export function Runs() {
  const { runs, compareIds, comparison } = useTraining();
  useEffect(() => void refreshRuns(), []);
  return (
    <div className="runs" data-testid="runs">
      <div className="dash-head">
        <strong>Runs</strong>
        <span className="muted small">every run keeps its graph and settings snapshot</span>
        <span className="grow" />
        <button onClick={() => void refreshRuns()}>Refresh</button>
        <button data-testid="runs-import" title="a fast-reid / reid-strong-baseline output folder (OUTPUT_DIR) as a run; followed while it is still written" onClick={() => void importFolder()}>
          Import training folder…
        </button>
        <button className="primary" data-testid="runs-compare" disabled={compareIds.length < 2} onClick={() => void compare()} title="select two or more runs">
          Compare {compareIds.length >= 2 ? compareIds.length : ''}
        </button>
      </div>
      <table className="runs-table">
        <thead>
          <tr>
            <th />
            <th>name</th>
            <th>status</th>
            <th>backend</th>
            <th>epoch</th>
            <th>mAP</th>
            <th>rank-1</th>
            <th>created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <RunRow key={r.id} r={r} checked={compareIds.includes(r.id)} />
          ))}
          {!runs.length && (
            <tr>
              <td colSpan={9} className="muted">
                No runs yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {comparison && <CompareView c={comparison} />}
      <EvalMatrix runs={runs} />
    </div>
  );
}
