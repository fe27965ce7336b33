import { useEffect, useRef } from 'react';
import { fmtCam } from '../lib/format.js';
import { ExportButtons, prepareCanvas } from '../lib/export-view.js';

/** eval.json fields of the thresholds and camera-pair analyses (README "Thresholds and camera pairs"). */
export interface EvalAnalysisFields {
  roc?: { auc: number; numPositive: number; numNegative: number; numPoints: number; points: { index: number[]; fpr: number[]; tpr: number[]; threshold: number[] } };
  tprAtFpr?: { fpr: number; actualFpr: number; tpr: number; threshold: number; acceptsNone?: boolean }[];
  distanceHistogram?: { edges: number[]; positive: number[]; negative: number[]; positiveMean: number; negativeMean: number };
  perCameraPair?: { queryCameras: number[]; galleryCameras: number[]; cells: { queryCamera: number; galleryCamera: number; mAP: number | null; rank1: number | null; numValidQuery: number }[] };
}

const POS = '#0e9f8f';
const NEG = '#db2777';
const W = 420;
const H = 220;
const M = { l: 44, r: 10, t: 10, b: 30 };

function axes(ctx: CanvasRenderingContext2D, canvas: HTMLCanvasElement, xTicks: [number, string][], yTicks: [number, string][], xLabel: string) {
  const css = getComputedStyle(canvas);
  const fg = css.getPropertyValue('--muted').trim() || '#666';
  ctx.strokeStyle = fg;
  ctx.fillStyle = fg;
  ctx.font = '11px system-ui, sans-serif';
  ctx.beginPath();
  ctx.moveTo(M.l, M.t);
  ctx.lineTo(M.l, H - M.b);
  ctx.lineTo(W - M.r, H - M.b);
  ctx.stroke();
  ctx.textAlign = 'center';
  for (const [x, s] of xTicks) ctx.fillText(s, x, H - M.b + 13);
  ctx.fillText(xLabel, (M.l + W - M.r) / 2, H - 4);
  ctx.textAlign = 'right';
  for (const [y, s] of yTicks) ctx.fillText(s, M.l - 4, y + 4);
}

/** True / false pair distance distributions (densities, as fast-reid's plot_distribution) on one canvas. */
function drawHistogram(canvas: HTMLCanvasElement, h: NonNullable<EvalAnalysisFields['distanceHistogram']>) {
  const ctx = prepareCanvas(canvas, W, H);
  const width = h.edges[1]! - h.edges[0]!;
  const dens = (c: number[]) => {
    const n = c.reduce((s, v) => s + v, 0) || 1;
    return c.map((v) => v / n / width);
  };
  const p = dens(h.positive);
  const q = dens(h.negative);
  const top = Math.max(...p, ...q) || 1;
  const lo = h.edges[0]!;
  const hi = h.edges.at(-1)!;
  const X = (v: number) => M.l + ((v - lo) / (hi - lo || 1)) * (W - M.l - M.r);
  const Y = (v: number) => H - M.b - (v / top) * (H - M.t - M.b);
  for (const [d, color] of [
    [q, NEG],
    [p, POS],
  ] as const) {
    ctx.fillStyle = color + '99';
    d.forEach((v, i) => ctx.fillRect(X(h.edges[i]!), Y(v), Math.max(1, X(h.edges[i + 1]!) - X(h.edges[i]!) - 0.5), H - M.b - Y(v)));
  }
  // Enough decimals that the five ticks differ (a tiny run's cosine distances can all lie within 0.01).
  const digits = Math.min(8, Math.max(2, Math.ceil(-Math.log10((hi - lo) / 4 || 1)) + 1));
  const xt: [number, string][] = [0, 0.25, 0.5, 0.75, 1].map((f) => [X(lo + f * (hi - lo)), (lo + f * (hi - lo)).toFixed(digits)]);
  axes(ctx, canvas, xt, [[Y(0), '0'], [Y(top), top.toPrecision(2)]], 'distance');
  ctx.textAlign = 'left';
  ctx.fillStyle = POS;
  ctx.fillText('■ true pairs', M.l + 8, M.t + 12);
  ctx.fillStyle = NEG;
  ctx.fillText('■ false pairs', M.l + 8, M.t + 26);
}

/** ROC curve on a log FPR axis (fast-reid plot_roc_curve: semilogx), the TPR@FPR points marked. */
function drawRoc(canvas: HTMLCanvasElement, roc: NonNullable<EvalAnalysisFields['roc']>, marks: NonNullable<EvalAnalysisFields['tprAtFpr']>) {
  const ctx = prepareCanvas(canvas, W, H);
  const minLog = -6;
  const X = (f: number) => M.l + ((Math.log10(Math.max(f, 10 ** minLog)) - minLog) / -minLog) * (W - M.l - M.r);
  const Y = (t: number) => H - M.b - t * (H - M.t - M.b);
  ctx.strokeStyle = '#3b6fe0';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  roc.points.fpr.forEach((f, i) => (i ? ctx.lineTo(X(f), Y(roc.points.tpr[i]!)) : ctx.moveTo(X(f), Y(roc.points.tpr[i]!))));
  ctx.stroke();
  ctx.fillStyle = '#d97706';
  for (const m of marks) {
    ctx.beginPath();
    ctx.arc(X(m.actualFpr), Y(m.tpr), 3.5, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.lineWidth = 1;
  const xt: [number, string][] = [-6, -5, -4, -3, -2, -1, 0].map((e) => [X(10 ** e), `1e${e}`]);
  axes(ctx, canvas, xt, [[Y(0), '0'], [Y(0.5), '0.5'], [Y(1), '1']], 'false positive rate (false pairs accepted)');
}

/** What the threshold cell says where no distance threshold reaches the FPR but accepting no pair. */
export const NO_PAIR_ACCEPTED = 'no pair accepted at this FPR';
/**
 * The row is sklearn's prepended "accept nothing" point, whose threshold (min distance − 1) is no distance.
 * eval.json written before `acceptsNone` existed: that point is the only one with FPR 0 and TPR 0 (any real
 * threshold ≥ the smallest distance accepts a pair).
 */
const acceptsNone = (t: NonNullable<EvalAnalysisFields['tprAtFpr']>[number]) => t.acceptsNone ?? (t.actualFpr === 0 && t.tpr === 0);

/** Thresholds: distance distributions, ROC with AUC, TPR at FPR 1e-4 / 1e-3 / 1e-2 with their distance thresholds. */
export function ThresholdsView({ ev }: { ev: EvalAnalysisFields }) {
  const hist = useRef<HTMLCanvasElement>(null);
  const roc = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (hist.current && ev.distanceHistogram) drawHistogram(hist.current, ev.distanceHistogram);
    if (roc.current && ev.roc) drawRoc(roc.current, ev.roc, ev.tprAtFpr ?? []);
  }, [ev]);
  if (!ev.roc || !ev.distanceHistogram || !ev.tprAtFpr) return <p className="muted small">This evaluation has no threshold analysis (evaluated before it existed): evaluate the run again.</p>;
  const h = ev.distanceHistogram;
  const r = ev.roc;
  return (
    <div className="analysis thresholds" data-testid="thresholds" data-auc={r.auc}>
      <div className="analysis-head">
        <span>
          AUC <strong data-testid="roc-auc">{r.auc.toFixed(4)}</strong> · {r.numPositive.toLocaleString()} true / {r.numNegative.toLocaleString()} false pairs · a pair matches when its distance ≤ the threshold
        </span>
        <span className="grow" />
        <ExportButtons
          name="distance-distributions"
          png={() => hist.current}
          csv={() => ({ header: ['bin_start', 'bin_end', 'true_pairs', 'false_pairs'], rows: h.positive.map((c, i) => [h.edges[i]!, h.edges[i + 1]!, c, h.negative[i]!]) })}
        />
        <ExportButtons name="roc" png={() => roc.current} csv={() => ({ header: ['index', 'fpr', 'tpr', 'threshold'], rows: r.points.index.map((k, i) => [k, r.points.fpr[i]!, r.points.tpr[i]!, k === 0 ? null : r.points.threshold[i]!]) })} />
      </div>
      <div className="analysis-charts">
        <canvas ref={hist} data-testid="distance-histogram" />
        <canvas ref={roc} data-testid="roc-curve" />
      </div>
      <table className="kv-table" data-testid="tpr-at-fpr">
        <thead>
          <tr>
            <th>FPR (target)</th>
            <th>FPR (curve point)</th>
            <th>TPR</th>
            <th>distance threshold</th>
          </tr>
        </thead>
        <tbody>
          {ev.tprAtFpr.map((t) => (
            <tr key={t.fpr} data-fpr={t.fpr} data-threshold={acceptsNone(t) ? undefined : t.threshold}>
              <td>{t.fpr.toExponential(0)}</td>
              <td>{t.actualFpr.toExponential(2)}</td>
              <td>{(t.tpr * 100).toFixed(2)}%</td>
              <td data-testid="threshold-value">{acceptsNone(t) ? NO_PAIR_ACCEPTED : t.threshold.toFixed(4)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Heat colour of a value in [0, 1] (white → blue). */
const heat = (v: number) => `hsl(220, 70%, ${Math.round(96 - v * 56)}%)`;

function drawGrid(canvas: HTMLCanvasElement, g: NonNullable<EvalAnalysisFields['perCameraPair']>, metric: 'mAP' | 'rank1') {
  const cell = 46;
  const font = '11px system-ui, sans-serif';
  const caption = `${metric === 'mAP' ? 'mAP' : 'rank-1'} % · rows: query camera, columns: gallery camera`;
  const probe = canvas.getContext('2d')!;
  probe.font = font;
  // Wide enough for the caption as well as the cells (a grid of few cameras is narrower than its caption).
  const w = Math.max(60 + cell * g.galleryCameras.length, Math.ceil(probe.measureText(caption).width) + 8);
  const h = 40 + cell * g.queryCameras.length;
  const ctx = prepareCanvas(canvas, w, h);
  ctx.font = font;
  ctx.textAlign = 'center';
  const fg = getComputedStyle(canvas).getPropertyValue('--muted').trim() || '#666';
  g.galleryCameras.forEach((c, j) => {
    ctx.fillStyle = fg;
    ctx.fillText(fmtCam(c), 60 + j * cell + cell / 2, 28);
  });
  g.queryCameras.forEach((c, i) => {
    ctx.fillStyle = fg;
    ctx.textAlign = 'right';
    ctx.fillText(fmtCam(c), 52, 40 + i * cell + cell / 2 + 4);
    ctx.textAlign = 'center';
    g.galleryCameras.forEach((_, j) => {
      const v = g.cells[i * g.galleryCameras.length + j]![metric];
      ctx.fillStyle = v === null ? '#8884' : heat(v);
      ctx.fillRect(60 + j * cell + 1, 40 + i * cell + 1, cell - 2, cell - 2);
      ctx.fillStyle = v !== null && v > 0.6 ? '#fff' : '#222';
      ctx.fillText(v === null ? '—' : (v * 100).toFixed(1), 60 + j * cell + cell / 2, 40 + i * cell + cell / 2 + 4);
    });
  });
  ctx.fillStyle = fg;
  ctx.textAlign = 'left';
  ctx.fillText(caption, 4, 12);
}

/** mAP / rank-1 per (query camera, gallery camera): the camera-bias grid. */
export function CameraPairsView({ ev, metric }: { ev: EvalAnalysisFields; metric: 'mAP' | 'rank1' }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const g = ev.perCameraPair;
  useEffect(() => {
    if (canvas.current && g) drawGrid(canvas.current, g, metric);
  }, [g, metric]);
  if (!g) return <p className="muted small">This evaluation has no per-camera-pair grid (evaluated before it existed): evaluate the run again.</p>;
  return (
    <div className="analysis camera-pairs" data-testid="camera-pairs" data-cells={g.cells.length}>
      <div className="analysis-head">
        <span className="grow" />
        <ExportButtons
          name="camera-pairs"
          png={() => canvas.current}
          csv={() => ({ header: ['query_camera', 'gallery_camera', 'mAP', 'rank1', 'valid_queries'], rows: g.cells.map((c) => [c.queryCamera, c.galleryCamera, c.mAP, c.rank1, c.numValidQuery]) })}
        />
      </div>
      <canvas ref={canvas} data-testid="camera-grid" />
    </div>
  );
}
