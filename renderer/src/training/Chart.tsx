import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
  /** Plot against a second y axis on the right (a term on a very different scale, e.g. unweighted center loss). */
  right?: boolean;
}

export const COLORS = ['#3b6fe0', '#db2777', '#0e9f8f', '#d97706', '#8e44ec', '#2f9e6b', '#b7791f', '#5c6f99'];

const finite = (v: number | null) => (v === null || Number.isNaN(v) ? null : v);

/**
 * A uPlot line chart. Data changes arrive as `version` bumps (the arrays may be mutated in place by the
 * live store); redraws are coalesced to one per animation frame so a fast run cannot flood the UI thread.
 */
/** Tick labels that stay readable for learning rates (3.5e-6) as well as losses. */
function ticks(_u: uPlot, splits: number[]): string[] {
  const max = Math.max(...splits.map(Math.abs));
  return splits.map((v) => (v === 0 ? '0' : max < 0.01 || max >= 1e5 ? v.toExponential(1) : String(+v.toPrecision(4))));
}
// Steps and ranks are whole numbers.
const INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/**
 * `yRange` fixes the left y axis (e.g. [0, 1] for a CMC curve, so curves of different runs read alike);
 * the y scale uPlot draws is mirrored in `data-y-min` / `data-y-max` on the chart. `points` marks every value
 * (a chart of few values, e.g. one evaluation per epoch: a single value draws no line and was invisible).
 */
export function Chart({ title, x, lines, version, height = 190, testId, xLabel = 'step', log = false, yRange, points = false }: { title: string; x: number[]; lines: Line[]; version: number; height?: number; testId: string; xLabel?: string; log?: boolean; yRange?: [number, number]; points?: boolean }) {
  const outer = useRef<HTMLDivElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const frame = useRef(0);
  const key = lines.map((l) => `${l.label}${l.right ? '>' : ''}`).join('|');
  const right = lines.some((l) => l.right);

  const data = (): uPlot.AlignedData => [x.slice(), ...lines.map((l) => l.values.map(finite))];

  useEffect(() => {
    const el = box.current!;
    const css = getComputedStyle(el);
    const muted = css.getPropertyValue('--muted').trim() || '#888';
    const grid = css.getPropertyValue('--border').trim() || '#ddd';
    const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        legend: { show: true, live: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: false }, ...(log ? { y: { distr: 3 } } : yRange ? { y: { auto: false, range: yRange } } : {}) },
        hooks: {
          setScale: [
            (p: uPlot, scaleKey: string) => {
              const sc = p.scales.y;
              if (scaleKey !== 'y' || !outer.current || sc?.min == null || sc.max == null) return;
              outer.current.dataset.yMin = String(sc.min);
              outer.current.dataset.yMax = String(sc.max);
            },
          ],
        },
        axes: [
          { ...axis, label: xLabel, labelSize: 14, size: 30, incrs: INT_INCRS },
          { ...axis, size: 60, values: ticks },
          ...(right ? [{ ...axis, scale: 'y2', side: 1, size: 60, values: ticks, grid: { show: false } }] : []),
        ],
        series: [{ label: xLabel }, ...lines.map((l) => ({ label: l.right ? `${l.label} (right axis)` : l.label, stroke: l.color, width: 1.5, spanGaps: true, points: points ? { show: true, size: 7, fill: l.color } : { show: false }, ...(l.right ? { scale: 'y2' } : {}) }))],
      },
      data(),
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      cancelAnimationFrame(frame.current);
      frame.current = 0;
      u.destroy();
      plot.current = null;
    };
    // Re-created only when the set of lines changes; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, height, log, right, yRange?.[0], yRange?.[1], points]);

  useEffect(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      plot.current?.setData(data());
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [version, x.length]);

  return (
    <div ref={outer} className="chart" data-testid={testId} data-points={x.length}>
      <div className="chart-title">{title}</div>
      <div ref={box} className="chart-plot" />
    </div>
  );
}
