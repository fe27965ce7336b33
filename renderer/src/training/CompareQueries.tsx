import { useEffect, useRef, useState } from 'react';
import type { CallInput, CallOutput } from '../../../core/api/contract.js';
import { api, ClientError } from '../api/client.js';
import { ExportButtons, prepareCanvas } from '../lib/export-view.js';
import { fmtCam } from '../lib/format.js';
import { Thumb, useThumbnails } from './Thumbs.js';

type Page = CallOutput<'runs.compareQueries'>;
type Filter = NonNullable<CallInput<'runs.compareQueries'>['filter']>;
type Sort = NonNullable<CallInput<'runs.compareQueries'>['sort']>;
const LIMIT = 10;
const K = 8;

/** Every valid query's ΔAP (all pages, 100 at a time), for the picture and the CSV. */
async function allDiffs(runIds: [string, string]): Promise<Page['items']> {
  const items: Page['items'] = [];
  let page: Page;
  do {
    page = await api.call('runs.compareQueries', { runIds, offset: items.length, limit: 100, k: 1, sort: 'diff-desc', filter: 'all' });
    items.push(...page.items);
  } while (items.length < page.total && page.items.length);
  return items;
}

/** ΔAP of every query, sorted (improved above the axis, regressed below): the comparison's picture. */
function drawDiffs(canvas: HTMLCanvasElement, diffs: number[]) {
  const W = 520, H = 140;
  const ctx = prepareCanvas(canvas, W, H);
  const mid = H / 2;
  const w = (W - 20) / Math.max(diffs.length, 1);
  // Scaled to the largest |ΔAP| (named in the caption): short runs differ by a few AP points only.
  const top = Math.max(...diffs.map(Math.abs), 1e-9);
  diffs.forEach((d, i) => {
    ctx.fillStyle = d > 0 ? '#2f9e6b' : d < 0 ? '#db2777' : '#999';
    const h = (d / top) * (H / 2 - 8);
    ctx.fillRect(10 + i * w, d > 0 ? mid - h : mid, Math.max(w, 0.5), Math.abs(h) || 0.5);
  });
  ctx.fillStyle = getComputedStyle(canvas).getPropertyValue('--muted').trim() || '#666';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(`ΔAP per query (B − A), sorted · axis ±${(top * 100).toFixed(1)} AP points`, 10, 12);
}

/** Two runs on the same evaluation, query by query: ΔAP sorted, filters, and both rank lists side by side. */
export function CompareQueries({ runIds, names }: { runIds: [string, string]; names: [string, string] }) {
  const [filter, setFilter] = useState<Filter>('all');
  const [sort, setSort] = useState<Sort>('diff-desc');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [diffs, setDiffs] = useState<Page['items'] | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const key = runIds.join('|');

  useEffect(() => {
    let live = true;
    api.call('runs.compareQueries', { runIds, offset, limit: LIMIT, k: K, sort, filter }).then(
      (p) => live && (setPage(p), setError(null)),
      (e: unknown) => live && setError(e instanceof ClientError ? e.message : String(e)),
    );
    return () => void (live = false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, offset, sort, filter]);
  useEffect(() => {
    let live = true;
    allDiffs(runIds).then((d) => live && setDiffs(d), () => undefined);
    return () => void (live = false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  // The canvas mounts with the first page: draw when the ΔAPs or the canvas arrive, whichever is last.
  const mounted = page !== null && !error;
  useEffect(() => {
    if (canvas.current && diffs) drawDiffs(canvas.current, diffs.map((d) => d.diff));
  }, [diffs, mounted]);

  const paths = page ? page.items.flatMap((it) => [it.query.path, ...it.results[0].map((r) => r.path), ...it.results[1].map((r) => r.path)]) : [];
  const thumbs = useThumbnails(paths);
  if (error) return <p className="error small" data-testid="compare-queries-error">{error}</p>;
  if (!page) return <p className="muted small">Loading the per-query comparison…</p>;
  const c = page.counts;
  return (
    <div className="compare-queries" data-testid="compare-queries" data-total={page.total}>
      <div className="analysis-head">
        <span>
          A = <strong>{names[0]}</strong> (mAP {(page.mAP[0] * 100).toFixed(1)}%), B = <strong>{names[1]}</strong> (mAP {(page.mAP[1] * 100).toFixed(1)}%):{' '}
          <span data-testid="compare-counts">
            {c.improved} improved, {c.regressed} regressed, {c.unchanged} unchanged, {c.bothFail} fail in both
          </span>
        </span>
        <span className="grow" />
        <ExportButtons
          name="compare-queries"
          png={() => canvas.current}
          csv={() => ({ header: ['query_index', 'path', 'pid', 'camid', 'ap_a', 'ap_b', 'diff', 'first_match_rank_a', 'first_match_rank_b'], rows: (diffs ?? []).map((it) => [it.index, it.query.path, it.query.pid, it.query.camid, it.ap[0], it.ap[1], it.diff, it.firstMatchRank[0], it.firstMatchRank[1]]) })}
        />
      </div>
      <canvas ref={canvas} data-testid="compare-diff-chart" />
      <div className="ranklist-controls">
        <select data-testid="compare-filter" value={filter} onChange={(e) => (setFilter(e.target.value as Filter), setOffset(0))}>
          <option value="all">all queries</option>
          <option value="improved">improved (ΔAP &gt; 0)</option>
          <option value="regressed">regressed (ΔAP &lt; 0)</option>
          <option value="both-fail">both fail (rank-1 wrong in A and B)</option>
        </select>
        <select data-testid="compare-sort" value={sort} onChange={(e) => (setSort(e.target.value as Sort), setOffset(0))}>
          <option value="diff-desc">most improved first</option>
          <option value="diff-asc">most regressed first</option>
          <option value="query">query order</option>
        </select>
        <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - LIMIT))}>
          ‹ prev
        </button>
        <span className="muted small">
          {page.total ? `${offset + 1}–${Math.min(offset + LIMIT, page.total)} of ${page.total}` : 'no query'}
        </span>
        <button disabled={offset + LIMIT >= page.total} onClick={() => setOffset(offset + LIMIT)}>
          next ›
        </button>
      </div>
      {page.items.map((it) => (
        <div key={it.index} className="compare-query" data-testid="compare-query" data-index={it.index} data-diff={it.diff}>
          <Thumb src={thumbs.get(it.query.path)} caption={`query ${it.index} · ${fmtCam(it.query.camid)}`} className="query" pid={it.query.pid} />
          {[0, 1].map((s) => (
            <div key={s} className="compare-side">
              <div className="small">
                {s ? 'B' : 'A'}: AP {(it.ap[s]! * 100).toFixed(1)}% · first match at rank {it.firstMatchRank[s]}
                {s === 1 && <strong className={it.diff > 0 ? 'good' : it.diff < 0 ? 'bad' : ''}> ({it.diff > 0 ? '+' : ''}{(it.diff * 100).toFixed(1)})</strong>}
              </div>
              <div className="compare-gallery">
                {it.results[s]!.map((r, t) => (
                  <Thumb key={t} src={thumbs.get(r.path)} caption={`${t + 1} · ${fmtCam(r.camid)}`} className={r.match ? 'match' : 'miss'} pid={r.pid} />
                ))}
              </div>
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}
