import { useEffect } from 'react';
import { EXPORT_FORMATS, type ExportFormat } from '../../../core/api/contract.js';
import { nativeOpen, nativeSave } from '../store/native.js';
import { closePicker, patchEval, patchExport, pickPath, runEvalDialog, runExportDialog, startOpsEvents, useOps, usesFastreidStem, type EvalDialogState, type ExportDialogState } from '../store/ops.js';
import { loadDetail, refreshRuns, useTraining } from '../store/training.js';
import { MetricCards } from '../training/Results.js';
import { FileDialog } from './FileDialog.js';

const WEIGHT_EXTS = ['.pth', '.pt', '.tar', '.safetensors'];

function ExportDialog({ s }: { s: ExportDialogState }) {
  const runs = useTraining((t) => t.runs);
  useEffect(() => void refreshRuns(), []);
  const fmt = EXPORT_FORMATS[s.format];
  const busy = !!s.progress && !['done', 'failed'].includes(s.progress.stage);
  const chooseOut = async () => {
    const base = s.runName ?? 'model';
    const suggested = fmt.folder ? `${base}-${s.format}` : `${base}${s.format === 'graph' ? '.json' : '.yml'}`;
    const path = await pickPath(() => nativeSave(suggested, 'export'), { title: `Export to (${fmt.label})`, mode: 'save', extensions: fmt.folder ? [] : [fmt.extension], ...(fmt.folder ? {} : { appendExtension: fmt.extension }), defaultName: suggested, confirm: 'Choose' });
    if (path) patchExport({ out: path });
  };
  const chooseWeightsFile = async () => {
    const path = await pickPath(() => nativeOpen('weights'), { title: 'Weights file (.pth / .safetensors)', mode: 'open', extensions: WEIGHT_EXTS, confirm: 'Choose' });
    if (path) patchExport({ weights: { kind: 'file', path } });
  };
  const refused = !!s.check && !s.check.ok;
  return (
    <div className="dialog wide" data-testid="export-dialog">
      <h3>Export {s.runName ? `run “${s.runName}”` : 'model'}</h3>
      <label className="field">
        <span>Format</span>
        <select data-testid="export-format" value={s.format} disabled={busy} onChange={(e) => patchExport({ format: e.target.value as ExportFormat, out: '' })}>
          {(Object.keys(EXPORT_FORMATS) as ExportFormat[]).map((f) => (
            <option key={f} value={f}>
              {EXPORT_FORMATS[f].label}
            </option>
          ))}
        </select>
      </label>
      <div className="muted small">{fmt.description}</div>
      {usesFastreidStem(s.format) && (
        <label className="field check">
          <input type="checkbox" data-testid="export-fastreid-stem" checked={s.fastreidStem} onChange={(e) => patchExport({ fastreidStem: e.target.checked })} />
          <span>Convert the stem to fast-reid's (changes the model)</span>
        </label>
      )}
      {fmt.weights && (
        <fieldset className="field" data-testid="export-weights">
          <span>Weights</span>
          <label>
            <input type="radio" data-testid="export-weights-none" checked={s.weights.kind === 'none'} onChange={() => patchExport({ weights: { kind: 'none' } })} /> none (fresh initialisation)
          </label>
          <label>
            <input type="radio" data-testid="export-weights-run" checked={s.weights.kind === 'run'} disabled={!runs.length} onChange={() => runs[0] && patchExport({ weights: { kind: 'run', runId: runs[0].id } })} /> a run
            {s.weights.kind === 'run' && (
              <select data-testid="export-weights-run-select" value={s.weights.runId} onChange={(e) => patchExport({ weights: { kind: 'run', runId: e.target.value } })}>
                {runs.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name}
                  </option>
                ))}
              </select>
            )}
            {s.weights.kind === 'run' && (
              <select data-testid="export-weights-checkpoint" value={s.weights.checkpoint ?? 'last'} title="the run's last checkpoint, or its best by mAP (kept as evaluations land during training)" onChange={(e) => s.weights.kind === 'run' && patchExport({ weights: { kind: 'run', runId: s.weights.runId, checkpoint: e.target.value as 'last' | 'best' } })}>
                <option value="last">last checkpoint</option>
                <option value="best">best by mAP</option>
              </select>
            )}
          </label>
          <label>
            <input type="radio" data-testid="export-weights-file" checked={s.weights.kind === 'file'} onChange={() => void chooseWeightsFile()} /> a file
            {s.weights.kind === 'file' && <span className="muted small"> {s.weights.path}</span>}
          </label>
        </fieldset>
      )}
      <div className="row">
        <span className="grow muted small" data-testid="export-out" title={s.out}>
          {s.out || 'No destination chosen'}
        </span>
        <button data-testid="export-choose-out" disabled={busy} onClick={() => void chooseOut()}>
          Destination…
        </button>
      </div>
      {s.checking && <div className="muted small">Checking what the format can express…</div>}
      {refused && (
        <ul className="form-error" data-testid="export-refusals">
          {s.check!.refusals.map((r) => (
            <li key={r} data-testid="export-refusal">
              {r}
            </li>
          ))}
        </ul>
      )}
      {s.check?.warnings.map((w) => (
        <div key={w} className="muted small" data-testid="export-warning">
          note: {w}
        </div>
      ))}
      {s.progress && (
        <div className="progress-line" data-testid="export-progress" data-stage={s.progress.stage}>
          {busy && <progress />} {s.progress.stage}
          {s.progress.message ? `: ${s.progress.message}` : ''}
        </div>
      )}
      {s.result?.ok && (
        <div data-testid="export-result">
          Wrote {s.result.out}
          <ul className="small">
            {s.result.files.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
          {s.result.warnings.map((w) => (
            <div key={w} className="muted small">
              note: {w}
            </div>
          ))}
        </div>
      )}
      {s.result && !s.result.ok && (
        <ul className="form-error" data-testid="export-refusals">
          {s.result.refusals.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      {s.error && <div className="form-error" data-testid="export-error">{s.error}</div>}
      <div className="dialog-buttons">
        <span className="spacer" />
        <button data-testid="export-close" onClick={() => useOps.setState({ exporting: null })}>
          {s.result?.ok ? 'Close' : 'Cancel'}
        </button>
        <button className="primary" data-testid="export-confirm" disabled={!s.out || refused || !s.check || busy} onClick={() => void runExportDialog()}>
          Export
        </button>
      </div>
    </div>
  );
}

function EvalDialog({ s }: { s: EvalDialogState }) {
  const busy = !!s.progress && !['done', 'failed'].includes(s.progress.stage);
  const dataKind = s.data === null ? 'run' : s.data.kind;
  const chooseFolder = async () => {
    const path = await pickPath(() => nativeOpen('folder'), { title: 'Dataset folder (Market-1501 / DukeMTMC-reID layout)', mode: 'open', extensions: [], folder: true, confirm: 'Use this folder' });
    if (path) patchEval({ data: { kind: 'folder', path } });
  };
  const p = s.progress;
  const r = s.result;
  return (
    <div className="dialog" data-testid="eval-dialog">
      <h3>Evaluate “{s.runName}” on…</h3>
      <label className="field">
        <span>Dataset</span>
        <select
          data-testid="eval-data"
          value={dataKind}
          disabled={busy}
          onChange={(e) => (e.target.value === 'run' ? patchEval({ data: null }) : e.target.value === 'demo' ? patchEval({ data: { kind: 'demo', size: 'tiny' } }) : void chooseFolder())}
        >
          <option value="run">the run's own dataset</option>
          <option value="demo">demo (synthetic)</option>
          <option value="folder">a folder…</option>
        </select>
      </label>
      {s.data?.kind === 'demo' && (
        <label className="field">
          <span>Demo size</span>
          <select data-testid="eval-demo-size" value={s.data.size} onChange={(e) => patchEval({ data: { kind: 'demo', size: e.target.value as 'tiny' | 'small' | 'medium' } })}>
            <option value="tiny">tiny</option>
            <option value="small">small</option>
            <option value="medium">medium</option>
          </select>
        </label>
      )}
      {s.data?.kind === 'folder' && <div className="muted small">{s.data.path}</div>}
      <label className="field">
        <span>Checkpoint</span>
        <select data-testid="eval-checkpoint" value={s.checkpoint} disabled={busy} onChange={(e) => patchEval({ checkpoint: e.target.value as 'last' | 'best' })} title="the run's last checkpoint, or its best by mAP (kept as evaluations land during training)">
          <option value="last">last</option>
          <option value="best">best by mAP</option>
        </select>
      </label>
      <label className="field">
        <span>Distance</span>
        <select data-testid="eval-metric" value={s.metric} disabled={busy} onChange={(e) => patchEval({ metric: e.target.value as 'cosine' | 'euclidean' })}>
          <option value="cosine">cosine</option>
          <option value="euclidean">euclidean</option>
        </select>
      </label>
      <label className="field check">
        <input type="checkbox" data-testid="eval-rerank" checked={s.reRanking} disabled={busy} onChange={(e) => patchEval({ reRanking: e.target.checked })} />
        <span>k-reciprocal re-ranking (k1 20, k2 6, λ 0.3)</span>
      </label>
      {p && (
        <div className="progress-line" data-testid="eval-progress" data-stage={p.stage}>
          {busy && <progress value={p.total ? p.done : undefined} max={p.total || undefined} />} {p.stage}
          {p.total > 1 ? ` ${p.done}/${p.total} images` : ''}
        </div>
      )}
      {r && (
        <div data-testid="eval-result">
          <MetricCards m={r} prefix="eval-result" />
          <div className="muted small" data-testid="eval-result-counts">
            {r.numValidQuery} of {r.numQuery} queries × {r.numGallery} gallery, {r.metric}
            {r.reRanking ? ', re-ranked' : ''}; {r.backend}{r.adapter ? ` · ${r.adapter}` : ''}; {r.seconds !== undefined ? `${r.seconds.toFixed(1)} s` : ''}
          </div>
        </div>
      )}
      {s.error && <div className="form-error" data-testid="eval-error">{s.error}</div>}
      <div className="dialog-buttons">
        <span className="spacer" />
        <button data-testid="eval-close" disabled={busy} onClick={() => useOps.setState({ evaluating: null })}>
          Close
        </button>
        <button className="primary" data-testid="eval-confirm" disabled={busy} onClick={() => void runEvalDialog((id) => (void loadDetail(id), void refreshRuns()))}>
          Evaluate
        </button>
      </div>
    </div>
  );
}

function ImportedDialog() {
  const r = useOps((s) => s.imported)!;
  return (
    <div className="dialog" data-testid="import-dialog">
      <h3>Imported a {r.frameworkLabel} config</h3>
      <div className="muted small">{r.path} → a new model (not saved yet)</div>
      <h4>Ignored keys (not modelled by ReID Studio)</h4>
      {r.ignored.length ? (
        <ul className="small" data-testid="import-ignored">
          {r.ignored.map((k) => (
            <li key={k} data-testid="import-ignored-key">
              {k}
            </li>
          ))}
        </ul>
      ) : (
        <div className="muted small" data-testid="import-ignored-none">
          none
        </div>
      )}
      {r.warnings.map((w) => (
        <div key={w} className="muted small">
          note: {w}
        </div>
      ))}
      <div className="dialog-buttons">
        <span className="spacer" />
        <button className="primary" data-testid="import-close" onClick={() => useOps.setState({ imported: null })}>
          OK
        </button>
      </div>
    </div>
  );
}

/** The modal layer of exports, config import, evaluation and the in-app path picker. */
export function OpsDialogs() {
  const { exporting, evaluating, imported, picker } = useOps();
  useEffect(() => startOpsEvents(), []);
  if (picker)
    return (
      <div className="modal">
        <FileDialog mode={picker.mode} pick={{ ...picker, onClose: closePicker }} />
      </div>
    );
  if (!exporting && !evaluating && !imported) return null;
  return (
    <div className="modal">
      {exporting && <ExportDialog s={exporting} />}
      {!exporting && evaluating && <EvalDialog s={evaluating} />}
      {!exporting && !evaluating && imported && <ImportedDialog />}
    </div>
  );
}
