import { useEffect, useState } from 'react';
import { api, ClientError } from '../api/client.js';
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

export function Results() {
  const v = useTraining((s) => s.current);
  const ev = v?.detail?.eval as { mAP?: number; rank1?: number; rank5?: number; rank10?: number; cmc?: number[]; epoch?: number; numQuery?: number; numGallery?: number } | null | undefined;
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
        <span className="muted small">evaluation after epoch {ev.epoch ?? '?'}</span>
      </div>
      <div className="metric-cards">
        {(
          [
            ['mAP', ev.mAP, 'result-map'],
            ['rank-1', ev.rank1, 'result-rank1'],
            ['rank-5', ev.rank5, 'result-rank5'],
            ['rank-10', ev.rank10, 'result-rank10'],
          ] as const
        ).map(([label, value, id]) => (
          <div key={id} className="metric-card">
            <span className="muted small">{label}</span>
            <strong data-testid={id}>{pct(value)}</strong>
          </div>
        ))}
      </div>
      <div className="charts one">
        <Chart title="CMC curve" testId="chart-cmc" x={ranks} xLabel="rank" lines={[{ label: 'matching rate', values: cmc, color: COLORS[0]! }]} version={cmc.length} height={170} />
      </div>
      <h4>Rank lists (query → top-10 gallery)</h4>
      <RankListGallery runId={v.runId} version={String(ev.epoch ?? '')} />
    </div>
  );
}
