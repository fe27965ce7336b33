import { useEffect, useRef, useState } from 'react';
import type { RunSummary } from '../../../core/api/contract.js';
import type { EvalRecordData } from '../../../core/api/training-contract.js';
import { api } from '../api/client.js';
import { ExportButtons, prepareCanvas } from '../lib/export-view.js';

interface Row {
  run: string;
  runId: string;
  dataset: string;
  root: string;
  inDomain: boolean;
  metric: string;
  reRanking: boolean;
  epoch: number | null;
  mAP: number;
  rank1: number;
  time: string;
}

const base = (p: string) => p.split(/[\\/]/).filter(Boolean).pop() ?? p;
const pctOf = (v: number) => (v * 100).toFixed(1);

/**
 * Every run × every dataset: the evaluation records of each run (`runs.evals`: Evaluate on…, `eval RUN_DIR`)
 * as a table, and the cross-domain matrix — runs as rows, evaluation datasets as columns, the latest
 * evaluation without re-ranking in each cell (mAP / rank-1), the run's training dataset marked ★ —
 * sortable by a column's mAP; both export as CSV, the matrix also as PNG.
 */
export function EvalMatrix({ runs }: { runs: RunSummary[] }) {
  const [rows, setRows] = useState<Row[]>([]);
  const [sortCol, setSortCol] = useState<string | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const key = runs.map((r) => `${r.id}:${r.updated}:${r.name}`).join('|');
  useEffect(() => {
    let live = true;
    void Promise.all(
      runs.map((r) =>
        api.call('runs.evals', { runId: r.id }).then(
          (recs: EvalRecordData[]) => recs.map((e): Row => ({ run: r.name, runId: r.id, dataset: `${base(e.dataset.root)} (${e.dataset.kind})`, root: e.dataset.root, inDomain: e.inDomain, metric: e.metric, reRanking: e.reRanking, epoch: e.epoch ?? null, mAP: e.results.mAP, rank1: e.results.rank1, time: e.time })),
          () => [] as Row[],
        ),
      ),
    ).then((all) => live && setRows(all.flat()));
    return () => void (live = false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const datasets = [...new Map(rows.map((r) => [r.root, r.dataset])).entries()];
  const cell = (runId: string, root: string) =>
    rows
      .filter((r) => r.runId === runId && r.root === root && !r.reRanking)
      .sort((a, b) => b.time.localeCompare(a.time))[0];
  const matrixRuns = runs.filter((r) => rows.some((x) => x.runId === r.id));
  if (sortCol) matrixRuns.sort((a, b) => (cell(b.id, sortCol)?.mAP ?? -1) - (cell(a.id, sortCol)?.mAP ?? -1));

  useEffect(() => {
    if (!canvas.current || !matrixRuns.length) return;
    const cw = 120, rh = 24, lw = 180;
    const ctx = prepareCanvas(canvas.current, lw + cw * datasets.length, rh * (matrixRuns.length + 1) + 6);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = getComputedStyle(canvas.current).getPropertyValue('--muted').trim() || '#555';
    datasets.forEach(([, name], j) => ctx.fillText(name.slice(0, 18), lw + j * cw + 4, 16));
    matrixRuns.forEach((r, i) => {
      ctx.fillStyle = getComputedStyle(canvas.current!).getPropertyValue('--muted').trim() || '#555';
      ctx.fillText(r.name.slice(0, 26), 4, rh * (i + 1) + 16);
      datasets.forEach(([root], j) => {
        const c = cell(r.id, root);
        ctx.fillStyle = c ? `hsl(220, 70%, ${Math.round(96 - c.mAP * 56)}%)` : '#8882';
        ctx.fillRect(lw + j * cw + 1, rh * (i + 1) + 1, cw - 2, rh - 2);
        ctx.fillStyle = c && c.mAP > 0.6 ? '#fff' : '#222';
        if (c) ctx.fillText(`${c.inDomain ? '★ ' : ''}${pctOf(c.mAP)} / ${pctOf(c.rank1)}`, lw + j * cw + 6, rh * (i + 1) + 16);
      });
    });
  });

  if (!rows.length) return <p className="muted small" data-testid="eval-matrix-empty">No evaluation records yet: Evaluate on… a dataset adds one per evaluation.</p>;
  return (
    <div className="eval-matrix" data-testid="eval-matrix">
      <div className="analysis-head">
        <strong>Cross-domain matrix</strong>
        <span className="muted small">mAP / rank-1 %, latest evaluation without re-ranking; ★ = the run's training dataset; click a dataset to sort</span>
        <span className="grow" />
        <ExportButtons
          name="cross-domain"
          png={() => canvas.current}
          csv={() => ({ header: ['run', ...datasets.flatMap(([, n]) => [`${n} mAP`, `${n} rank1`, `${n} train dataset`])], rows: matrixRuns.map((r) => [r.name, ...datasets.flatMap(([root]) => { const c = cell(r.id, root); return c ? [c.mAP, c.rank1, c.inDomain ? 'yes' : 'no'] : [null, null, null]; })]) })}
        />
      </div>
      <table className="kv-table" data-testid="cross-domain-table">
        <thead>
          <tr>
            <th>run</th>
            {datasets.map(([root, name]) => (
              <th key={root} className="sortable" data-testid="cross-domain-col" onClick={() => setSortCol(root)}>
                {name}
                {sortCol === root ? ' ▼' : ''}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {matrixRuns.map((r) => (
            <tr key={r.id} data-testid="cross-domain-row">
              <th>{r.name}</th>
              {datasets.map(([root]) => {
                const c = cell(r.id, root);
                return (
                  <td key={root} data-map={c?.mAP ?? ''} className={c?.inDomain ? 'in-domain' : ''}>
                    {c ? `${c.inDomain ? '★ ' : ''}${pctOf(c.mAP)} / ${pctOf(c.rank1)}` : '—'}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <canvas ref={canvas} data-testid="cross-domain-canvas" />
      <div className="analysis-head">
        <strong>Every evaluation</strong>
        <span className="grow" />
        <ExportButtons
          name="evaluations"
          png={() => canvas.current}
          csv={() => ({ header: ['run', 'dataset', 'root', 'train_dataset', 'metric', 're_ranking', 'epoch', 'mAP', 'rank1', 'time'], rows: rows.map((r) => [r.run, r.dataset, r.root, r.inDomain ? 'yes' : 'no', r.metric, r.reRanking ? 'yes' : 'no', r.epoch, r.mAP, r.rank1, r.time]) })}
        />
      </div>
      <table className="kv-table" data-testid="evaluations-table">
        <thead>
          <tr>
            <th>run</th>
            <th>dataset</th>
            <th>metric</th>
            <th>re-ranking</th>
            <th>epoch</th>
            <th>mAP</th>
            <th>rank-1</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td>{r.run}</td>
              <td>
                {r.inDomain ? '★ ' : ''}
                {r.dataset}
              </td>
              <td>{r.metric}</td>
              <td>{r.reRanking ? 'yes' : 'no'}</td>
              <td>{r.epoch ?? '—'}</td>
              <td>{pctOf(r.mAP)}%</td>
              <td>{pctOf(r.rank1)}%</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
