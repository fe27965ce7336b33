import { useState } from 'react';
import { openEval, openExport } from '../store/ops.js';
import { useTraining } from '../store/training.js';
import { Chart, COLORS } from './Chart.js';
import { EvalRecords } from './EvalRecords.js';
import { CameraPairsView, ThresholdsView, type EvalAnalysisFields } from './Analysis.js';
import { EmbeddingMap } from './EmbeddingMap.js';
import { RankLists } from './RankLists.js';

export const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '—');

/** The epoch an evaluation's weights come from: `epoch 4`, `epoch 3 + 12 it.` (a mid-epoch checkpoint), or '—'. */
export function fmtEvalEpoch(ev: Record<string, unknown> | null | undefined): string {
  if (typeof ev?.epoch !== 'number') return '—';
  return typeof ev.iteration === 'number' && ev.iteration > 0 ? `epoch ${ev.epoch} + ${ev.iteration} it.` : `epoch ${ev.epoch}`;
}

/** mAP, rank-1/5/10 and mINP (fast-reid's mean inverse negative penalty) as cards; test ids `${prefix}-map` …. */
export function MetricCards({ m, prefix }: { m: { mAP?: number; rank1?: number; rank5?: number; rank10?: number; mINP?: number }; prefix: string }) {
  const cards = [
    ['mAP', m.mAP, 'map'],
    ['rank-1', m.rank1, 'rank1'],
    ['rank-5', m.rank5, 'rank5'],
    ['rank-10', m.rank10, 'rank10'],
    ['mINP', m.mINP, 'minp'],
  ] as const;
  return (
    <div className="metric-cards">
      {cards.map(([label, value, id]) => (
        <div key={id} className="metric-card">
          <span className="muted small">{label}</span>
          <strong data-testid={`${prefix}-${id}`}>{pct(value)}</strong>
        </div>
      ))}
    </div>
  );
}

/** A run's Export weights… / Export config… / Evaluate on… (Runs list and Results). */
export function RunOpsButtons({ runId, name, disabled }: { runId: string; name: string; disabled?: boolean }) {
  const why = disabled ? 'the run is training' : undefined;
  return (
    <>
      <button className="mini" data-testid="run-export-weights" disabled={disabled} title={why ?? 'PyTorch code + weights, or a tfjs model, with this run’s weights'} onClick={() => openExport({ graph: { kind: 'run', runId }, runName: name, format: 'pytorch', weights: { kind: 'run', runId } })}>
        Export weights…
      </button>
      <button className="mini" data-testid="run-export-config" title="reid-strong-baseline / fast-reid YAML of this run’s model and settings" onClick={() => openExport({ graph: { kind: 'run', runId }, runName: name, format: 'rsb-yaml' })}>
        Export config…
      </button>
      <button className="mini" data-testid="run-export-job" disabled={disabled} title={why ?? 'a folder that trains this run with fast-reid’s distributed trainer (tools/train_net.py): config, weights, train.sh'} onClick={() => openExport({ graph: { kind: 'run', runId }, runName: name, format: 'fastreid-job', weights: { kind: 'run', runId } })}>
        Training job…
      </button>
      <button className="mini" data-testid="run-evaluate" disabled={disabled} title={why ?? 'evaluate this run on a dataset'} onClick={() => openEval(runId, name)}>
        Evaluate on…
      </button>
    </>
  );
}

export function Results() {
  const v = useTraining((s) => s.current);
  const training = v?.detail?.eval as ({ mAP?: number; rank1?: number; rank5?: number; rank10?: number; mINP?: number; cmc?: number[]; epoch?: number; numQuery?: number; numGallery?: number; dataset?: string } & EvalAnalysisFields) | null | undefined;
  const [tab, setTab] = useState<'ranklists' | 'thresholds' | 'cameras' | 'map'>('ranklists');
  const [camMetric, setCamMetric] = useState<'mAP' | 'rank1'>('mAP');
  const [recordId, setRecordId] = useState<string | null>(null);
  const records = v?.detail?.evals ?? [];
  // A run without a training-time evaluation (an imported run, a run stopped early) shows its latest record.
  const record = records.find((r) => r.id === recordId) ?? (training ? undefined : records[records.length - 1]);
  const ev = training ?? (record ? { ...record.results, dataset: record.dataset.root.replace(/[\\/]+$/, '').split(/[\\/]/).pop() } : null);
  if (!v || !ev)
    return (
      <div className="pad muted" data-testid="results-empty">
        {v ? 'This run has no evaluation yet: it runs after the last epoch (and every "Eval every" epochs).' : 'No run selected.'}
      </div>
    );
  const trainedOn = (v.detail?.info as { dataset?: { root?: string } } | undefined)?.dataset?.root?.replace(/[\\/]+$/, '').split(/[\\/]/).pop();
  const cmc = (ev.cmc ?? []).slice(0, 50);
  const ranks = cmc.map((_, i) => i + 1);
  return (
    <div className="results" data-testid="results">
      <div className="dash-head">
        <strong>{v.name}</strong>
        <span className="muted small" data-testid="results-label">
          {ev.epoch !== undefined ? `evaluation of the weights after ${fmtEvalEpoch(ev as Record<string, unknown>)}` : `evaluation${ev.dataset ? ` on ${ev.dataset}` : ''}`}
          {trainedOn && ev.epoch !== undefined ? ` on ${trainedOn} (training-time)` : ''}
        </span>
        <span className="grow" />
        <RunOpsButtons runId={v.runId} name={v.name} disabled={['starting', 'running', 'pausing', 'stopping', 'evaluating'].includes(v.phase)} />
      </div>
      <MetricCards m={ev} prefix="result" />
      {v.detail?.evals?.length ? (
        <>
          <h4>Evaluations after training</h4>
          <EvalRecords records={v.detail.evals} selected={record?.id ?? null} onSelect={setRecordId} />
        </>
      ) : null}
      <div className="charts one">
        <Chart title="CMC curve" testId="chart-cmc" x={ranks} xLabel="rank" lines={[{ label: 'matching rate', values: cmc, color: COLORS[0]! }]} version={cmc.length} height={170} yRange={[0, 1]} />
      </div>
      <div className="tabs" role="tablist" data-testid="results-tabs">
        {(
          [
            ['ranklists', 'Rank lists'],
            ['thresholds', 'Thresholds'],
            ['cameras', 'Camera pairs'],
            ['map', 'Embedding map'],
          ] as const
        ).map(([id, label]) => (
          <button key={id} role="tab" aria-selected={tab === id} className={tab === id ? 'active' : ''} data-testid={`results-tab-${id}`} onClick={() => setTab(id)}>
            {label}
          </button>
        ))}
        {tab === 'cameras' && (
          <select data-testid="camera-metric" value={camMetric} onChange={(e) => setCamMetric(e.target.value as 'mAP' | 'rank1')}>
            <option value="mAP">mAP</option>
            <option value="rank1">rank-1</option>
          </select>
        )}
      </div>
      {tab === 'ranklists' && (
        <>
          <h4 data-testid="ranklists-of">Rank lists (every query → its top-10 gallery){record ? ` of the evaluation on ${record.dataset.root.replace(/[\\/]+$/, '').split(/[\\/]/).pop()}` : ''}</h4>
          <RankLists runId={v.runId} version={`${ev.epoch ?? ''}-${ev.mAP ?? ''}-${ev.dataset ?? ''}`} {...(record ? { evalId: record.id } : {})} />
        </>
      )}
      {tab === 'thresholds' && <ThresholdsView ev={ev} />}
      {tab === 'cameras' && <CameraPairsView ev={ev} metric={camMetric} />}
      {tab === 'map' && <EmbeddingMap runId={v.runId} />}
    </div>
  );
}
