import { useEffect, useState } from 'react';
import type { CallInput, CallOutput } from '../../../core/api/contract.js';
import { api, ClientError } from '../api/client.js';
import { fmtCam } from '../lib/format.js';
import { Thumb, useActmaps, useThumbnails } from './Thumbs.js';

type Page = CallOutput<'runs.queries'>;
type Sort = NonNullable<CallInput<'runs.queries'>['sort']>;
type Failures = NonNullable<CallInput<'runs.queries'>['failures']>;

const PAGE_SIZES = [6, 20, 50] as const;
const K = 10;
const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);

function Row({ it, thumbs }: { it: Page['items'][number]; thumbs: Map<string, string | null> }) {
  const wrong = it.firstMatchRank !== null && it.firstMatchRank > 1;
  return (
    <div className={`ranklist${wrong ? ' failure' : ''}`} data-testid="ranklist-row" data-query-index={it.index} data-ap={it.ap ?? ''} data-first-match={it.firstMatchRank ?? ''}>
      <div className="ranklist-info">
        <span className="muted small">query {it.index + 1}</span>
        <strong data-testid="ranklist-ap" title="average precision of this query (its share of the mAP)">
          AP {pct(it.ap)}
        </strong>
        <span className="muted small" title="inverse negative penalty: true matches ÷ rank of the hardest one">
          INP {pct(it.inp)}
        </span>
        <span className={`small ${wrong ? 'error-text' : 'muted'}`} data-testid="ranklist-first">
          {it.firstMatchRank === null ? 'no true match in the gallery (not in mAP)' : `${it.numMatches > 1 ? `1st of ${it.numMatches} matches` : 'true match'}: rank ${it.firstMatchRank}`}
        </span>
      </div>
      <Thumb src={thumbs.get(it.query.path)} caption={`#${it.query.pid} ${fmtCam(it.query.camid)}`} className="query" testId="ranklist-query" pid={it.query.pid} />
      <span className="rank-arrow">→</span>
      {it.results.map((r, i) => (
        <Thumb key={r.path} src={thumbs.get(r.path)} caption={`${i + 1}. ${fmtCam(r.camid)}`} className={r.match ? 'match' : 'miss'} testId={r.match ? 'rank-match' : 'rank-miss'} pid={r.pid} />
      ))}
    </div>
  );
}

/** The map's weights over the image offered (the first is the default: the person stays visible; 0.7 is torchreid's). */
const ACTMAP_OPACITIES = [0.5, 0.3, 0.7];

/**
 * Every query of the run's last evaluation, a page at a time (`runs.queries`): its AP and INP, the rank of
 * its first true match and its top-10 gallery images; sorted by query or by AP, failures (wrong rank-1)
 * first or only. `version` changes when the evaluation does; `evalId` pages one of the run's evaluation
 * records (Evaluate on…, an imported run's evaluations) instead of the training-time evaluation.
 */
export function RankLists({ runId, version, evalId }: { runId: string; version: string; evalId?: string }) {
  const [sort, setSort] = useState<Sort>('query');
  const [failures, setFailures] = useState<Failures>('all');
  const [limit, setLimit] = useState<number>(PAGE_SIZES[0]);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setError(null);
    api.call('runs.queries', { runId, offset, limit, k: K, sort, failures, ...(evalId ? { evalId } : {}) }).then(
      (p) => live && setPage(p),
      (e: ClientError) => live && setError(e.message),
    );
    return () => void (live = false);
  }, [runId, version, evalId, offset, limit, sort, failures]);
  // A new order or filter starts at the first page.
  const choose = <T,>(set: (v: T) => void) => (v: T) => (set(v), setOffset(0));
  const paths = page ? page.items.flatMap((it) => [it.query.path, ...it.results.map((r) => r.path)]) : [];
  const thumbs = useThumbnails(paths);
  const [showActmaps, setShowActmaps] = useState(false);
  const [checkpoint, setCheckpoint] = useState<'last' | 'best'>('last');
  const [opacity, setOpacity] = useState(ACTMAP_OPACITIES[0]);
  const actmaps = useActmaps(runId, showActmaps ? paths : [], checkpoint, opacity);
  const shown = showActmaps ? actmaps.images : thumbs;
  if (error) return <div className="form-error">{error}</div>;
  if (!page) return <div className="muted">Loading rank lists…</div>;
  const last = Math.max(0, Math.ceil(page.total / limit) - 1);
  const pageNo = Math.floor(offset / limit);
  return (
    <div className="ranklists" data-testid="ranklist-gallery" data-total={page.total} data-offset={page.offset}>
      <div className="ranklist-controls">
        <span className="small" data-testid="ranklist-counts">
          {page.numQuery.toLocaleString()} queries · {page.numFailures.toLocaleString()} with a wrong rank-1 · {(page.numQuery - page.numValidQuery).toLocaleString()} without a true match
        </span>
        <span className="grow" />
        <label className="small">
          order{' '}
          <select data-testid="ranklist-sort" value={sort} onChange={(e) => choose(setSort)(e.target.value as Sort)}>
            <option value="query">query list</option>
            <option value="ap-asc">AP, lowest first</option>
            <option value="ap-desc">AP, highest first</option>
          </select>
        </label>
        <label className="small">
          failures{' '}
          <select data-testid="ranklist-failures" value={failures} onChange={(e) => choose(setFailures)(e.target.value as Failures)}>
            <option value="all">in order</option>
            <option value="first">first (wrong rank-1)</option>
            <option value="only">only (wrong rank-1)</option>
          </select>
        </label>
        <label className="small">
          per page{' '}
          <select data-testid="ranklist-page-size" value={limit} onChange={(e) => choose(setLimit)(Number(e.target.value))}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label className="small" title="torchreid's activation maps: where the last feature map is strong (the model's attention), from the run's checkpoint on the evaluating engine">
          <input type="checkbox" data-testid="ranklist-actmap-toggle" checked={showActmaps} onChange={(e) => setShowActmaps(e.target.checked)} /> activation maps
        </label>
        {showActmaps && (
          <select className="small" data-testid="ranklist-actmap-checkpoint" value={checkpoint} onChange={(e) => setCheckpoint(e.target.value as 'last' | 'best')} title="the run's last checkpoint, or its best by mAP">
            <option value="last">last checkpoint</option>
            <option value="best">best by mAP</option>
          </select>
        )}
        {showActmaps && (
          <select className="small" data-testid="ranklist-actmap-opacity" value={opacity} onChange={(e) => setOpacity(Number(e.target.value))} title="how much the map covers the image (torchreid blends image·0.3 + map·0.7)">
            {ACTMAP_OPACITIES.map((o) => (
              <option key={o} value={o}>
                map {Math.round(o * 100)}%{o === 0.7 ? ' (torchreid)' : ''}
              </option>
            ))}
          </select>
        )}
        {showActmaps && (
          <span className={`small ${actmaps.error ? 'error-text' : 'muted'}`} data-testid="ranklist-actmap-status">
            {actmaps.error ?? (actmaps.info ? `${actmaps.info.featureMap[0]}×${actmaps.info.featureMap[1]} map · ${actmaps.info.engine}` : 'computing…')}
          </span>
        )}
        <button className="mini" data-testid="ranklist-prev" disabled={pageNo === 0} onClick={() => setOffset(Math.max(0, offset - limit))}>
          ‹ Prev
        </button>
        <span className="small" data-testid="ranklist-page">
          {page.total ? `${offset + 1}–${Math.min(offset + limit, page.total)} of ${page.total.toLocaleString()}` : 'none'}
        </span>
        <button className="mini" data-testid="ranklist-next" disabled={pageNo >= last} onClick={() => setOffset(offset + limit)}>
          Next ›
        </button>
      </div>
      {page.items.map((it) => (
        <Row key={it.index} it={it} thumbs={shown} />
      ))}
      <div className="muted small">
        Green frame: same identity as the query (a correct match); red: a different identity. Same-camera images of the query identity are excluded, as in the evaluation protocol (mAP {pct(page.mAP)}, mINP {pct(page.mINP)}: the means of the per-query AP and INP).
      </div>
    </div>
  );
}
