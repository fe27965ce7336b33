import { useEffect, useState } from 'react';
import { api, ClientError } from '../api/client.js';
import { openEval, openExport } from '../store/ops.js';
import { useTraining, type RankList } from '../store/training.js';
import { Chart, COLORS } from './Chart.js';
import { Thumb, useThumbnails } from './Thumbs.js';
import { fmtCam } from '../lib/format.js';

export const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '—');

function RankListGallery({ runId, version }: { runId: string; version: string }) {
  const [lists, setLists] = useState<RankList | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setLists(null);
    api.call('runs.ranklist', { runId, queries: 6, k: 10 }).then(setLists, (e: ClientError) => setError(e.message));
  }, [runId, version]);
  const paths = lists ? lists.flatMap((l) => [l.query.path, ...l.results.map((r) => r.path)]) : [];
  const thumbs = useThumbnails(paths);
  if (error) return <div className="form-error">{error}</div>;
  if (!lists) return <div className="muted">Loading rank lists…</div>;
  return (
    <div className="ranklists" data-testid="ranklist-gallery">
      {lists.map((l) => (
        <div key={l.query.path} className="ranklist" data-testid="ranklist-row">
          <Thumb src={thumbs.get(l.query.path)} caption={`#${l.query.pid} ${fmtCam(l.query.camid)}`} className="query" testId="ranklist-query" pid={l.query.pid} />
          <span className="rank-arrow">→</span>
          {l.results.map((r, i) => (
            <Thumb key={r.path} src={thumbs.get(r.path)} caption={`${i + 1}. ${fmtCam(r.camid)}`} className={r.match ? 'match' : 'miss'} testId={r.match ? 'rank-match' : 'rank-miss'} pid={r.pid} />
          ))}
        </div>
      ))}
      <div className="muted small">Green frame: same identity as the query (a correct match); red: a different identity. Same-camera images of the query identity are excluded, as in the evaluation protocol.</div>
    </div>
  );
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
      <button className="mini" data-testid="run-evaluate" disabled={disabled} title={why ?? 'evaluate this run on a dataset'} onClick={() => openEval(runId, name)}>
        Evaluate on…
      </button>
    </>
  );
}

export function Results() {
  const v = useTraining((s) => s.current);
  const ev = v?.detail?.eval as { mAP?: number; rank1?: number; rank5?: number; rank10?: number; mINP?: number; cmc?: number[]; epoch?: number; numQuery?: number; numGallery?: number; dataset?: string } | null | undefined;
  if (!v || !ev)
    return (
      <div className="pad muted" data-testid="results-empty">
        {v ? 'This run has no evaluation yet: it runs after the last epoch (and every "Eval every" epochs).' : 'No run selected.'}
      </div>
    );
  const cmc = (ev.cmc ?? []).slice(0, 50);
  const ranks = cmc.map((_, i) => i + 1);
  return (
    <div className="results" data-testid="results">
      <div className="dash-head">
        <strong>{v.name}</strong>
        <span className="muted small">{ev.epoch !== undefined ? `evaluation after epoch ${ev.epoch}` : `evaluation${ev.dataset ? ` on ${ev.dataset}` : ''}`}</span>
        <span className="grow" />
        <RunOpsButtons runId={v.runId} name={v.name} disabled={['starting', 'running', 'pausing', 'stopping', 'evaluating'].includes(v.phase)} />
      </div>
      <MetricCards m={ev} prefix="result" />
      <div className="charts one">
        <Chart title="CMC curve" testId="chart-cmc" x={ranks} xLabel="rank" lines={[{ label: 'matching rate', values: cmc, color: COLORS[0]! }]} version={cmc.length} height={170} />
      </div>
      <h4>Rank lists (query → top-10 gallery)</h4>
      <RankListGallery runId={v.runId} version={`${ev.epoch ?? ''}-${ev.mAP ?? ''}-${ev.dataset ?? ''}`} />
    </div>
  );
}
