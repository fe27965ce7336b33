import { useEffect, useMemo, useRef, useState } from 'react';
import type { CallOutput } from '../../../core/api/contract.js';
import { api, ClientError } from '../api/client.js';
import { ExportButtons, prepareCanvas } from '../lib/export-view.js';
import { fmtCam } from '../lib/format.js';
import { COLORS } from './Chart.js';
import { Thumb, useThumbnails } from './Thumbs.js';

type Map2d = CallOutput<'runs.projection'>;
const SIZE = 520;

/** A stable colour per identity (golden-angle hues). */
const identityColour = (pid: number) => `hsl(${(pid * 137.508) % 360}, 65%, 50%)`;
/** Identities the legend lists before "… and N more" (a dataset has hundreds; hovering a dot names its own). */
const LEGEND_IDENTITIES = 24;

/**
 * One colour per camera of the map: the chart palette in camera order while it has enough colours, else evenly
 * spaced hues (MSMT17's 15 cameras), so no two cameras share a colour.
 */
function cameraColours(m: Map2d): Map<number, string> {
  const cams = [...new Set(m.images.map((im) => im.camid))].sort((a, b) => a - b);
  return new Map(cams.map((c, k) => [c, cams.length <= COLORS.length ? COLORS[k]! : `hsl(${Math.round((k * 360) / cams.length)}, 65%, 48%)`]));
}

/** The colours' legend: every camera, or the first identities (ascending) and how many more. */
function Legend({ map, by, cameras }: { map: Map2d; by: 'identity' | 'camera'; cameras: Map<number, string> }) {
  const pids = useMemo(() => [...new Set(map.images.map((im) => im.pid))].sort((a, b) => a - b), [map]);
  const items: [number, string, string][] = by === 'camera' ? [...cameras].map(([c, colour]) => [c, colour, fmtCam(c)]) : pids.slice(0, LEGEND_IDENTITIES).map((p) => [p, identityColour(p), `id ${p}`]);
  return (
    <ul className="embedding-legend" data-testid="embedding-legend" data-by={by}>
      {items.map(([key, colour, label]) => (
        <li key={key} data-key={key} data-colour={colour}>
          <span className="swatch" style={{ background: colour }} /> {label}
        </li>
      ))}
      {by === 'identity' && pids.length > LEGEND_IDENTITIES && <li className="muted">… and {pids.length - LEGEND_IDENTITIES} more identities</li>}
    </ul>
  );
}

function layout(m: Map2d) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < m.xy.length; i += 2) {
    x0 = Math.min(x0, m.xy[i]!);
    x1 = Math.max(x1, m.xy[i]!);
    y0 = Math.min(y0, m.xy[i + 1]!);
    y1 = Math.max(y1, m.xy[i + 1]!);
  }
  const s = (SIZE - 20) / Math.max(x1 - x0, y1 - y0, 1e-9);
  // One scale for both axes (distances stay comparable); the narrower extent is centred.
  const ox = 10 + (SIZE - 20 - (x1 - x0) * s) / 2;
  const oy = 10 + (SIZE - 20 - (y1 - y0) * s) / 2;
  return (i: number): [number, number] => [ox + (m.xy[2 * i]! - x0) * s, oy + (m.xy[2 * i + 1]! - y0) * s];
}

/**
 * Embedding map of the run's last evaluation (`runs.projection`: PCA → UMAP in a worker thread on the Node
 * side, seeded): one dot per query (ringed) and gallery image, coloured by identity or camera, with the
 * colours' legend; hovering a dot shows its image. The canvas is drawn once per map / colouring, hover only moves the tooltip.
 */
export function EmbeddingMap({ runId }: { runId: string }) {
  const [map, setMap] = useState<Map2d | null>(null);
  const [progress, setProgress] = useState<{ stage: string; done: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [by, setBy] = useState<'identity' | 'camera'>('camera');
  const [hover, setHover] = useState<number | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const seed = 0;
  const cameras = useMemo(() => (map ? cameraColours(map) : new Map<number, string>()), [map]);

  const compute = () => {
    setError(null);
    setProgress({ stage: 'pca', done: 0, total: 1 });
    const off = api.on('projection.progress', (p) => p.runId === runId && setProgress(p));
    api.call('runs.projection', { runId, seed }).then(
      (m) => {
        off();
        setProgress(null);
        setMap(m);
      },
      (e: unknown) => {
        off();
        setProgress(null);
        setError(e instanceof ClientError ? e.message : String(e));
      },
    );
  };
  useEffect(() => setMap(null), [runId]);

  useEffect(() => {
    if (!map || !canvas.current) return;
    const ctx = prepareCanvas(canvas.current, SIZE, SIZE);
    const at = layout(map);
    const n = map.images.length;
    for (let i = 0; i < n; i++) {
      const im = map.images[i]!;
      const [x, y] = at(i);
      ctx.fillStyle = by === 'camera' ? cameras.get(im.camid)! : identityColour(im.pid);
      ctx.beginPath();
      ctx.arc(x, y, im.split === 'query' ? 3 : 2, 0, 2 * Math.PI);
      ctx.fill();
      if (im.split === 'query') {
        ctx.strokeStyle = '#000a';
        ctx.stroke();
      }
    }
  }, [map, by, cameras]);

  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    if (!map) return;
    const r = e.currentTarget.getBoundingClientRect();
    const mx = e.clientX - r.left;
    const my = e.clientY - r.top;
    const at = layout(map);
    let best = -1;
    let bd = 64; // within 8 px
    for (let i = 0; i < map.images.length; i++) {
      const [x, y] = at(i);
      const d = (x - mx) ** 2 + (y - my) ** 2;
      if (d < bd) {
        bd = d;
        best = i;
      }
    }
    setHover(best >= 0 ? best : null);
  };
  const hovered = hover !== null && map ? map.images[hover]! : null;
  const thumbs = useThumbnails(hovered ? [hovered.path] : []);

  return (
    <div className="analysis embedding-map" data-testid="embedding-map" data-points={map?.images.length ?? 0}>
      <div className="analysis-head">
        {!map && !progress && (
          <button className="primary" data-testid="embedding-compute" onClick={compute}>
            Compute embedding map
          </button>
        )}
        {progress && (
          <span className="progress-line" data-testid="embedding-progress" data-stage={progress.stage}>
            {progress.stage === 'layout' ? 'UMAP layout' : progress.stage === 'neighbours' ? 'nearest neighbours' : 'PCA'} <progress max={progress.total} value={progress.done} />
          </span>
        )}
        {map && (
          <label>
            colour by{' '}
            <select data-testid="embedding-colour" value={by} onChange={(e) => setBy(e.target.value as 'identity' | 'camera')}>
              <option value="camera">camera</option>
              <option value="identity">identity</option>
            </select>
          </label>
        )}
        <span className="grow" />
        {map && (
          <ExportButtons
            name="embedding-map"
            png={() => canvas.current}
            csv={() => ({ header: ['split', 'path', 'pid', 'camid', 'x', 'y'], rows: map.images.map((im, i) => [im.split, im.path, im.pid, im.camid, map.xy[2 * i]!, map.xy[2 * i + 1]!]) })}
          />
        )}
      </div>
      {error && <p className="error small">{error}</p>}
      {map && (
        <div className="embedding-body">
          <canvas ref={canvas} data-testid="embedding-canvas" onMouseMove={onMove} onMouseLeave={() => setHover(null)} />
          <div className="embedding-hover" data-testid="embedding-hover">
            {hovered ? <Thumb src={thumbs.get(hovered.path)} caption={`${hovered.split} · id ${hovered.pid} · ${fmtCam(hovered.camid)}`} pid={hovered.pid} /> : <span className="muted small">hover a dot to see its image (queries are ringed)</span>}
            <Legend map={map} by={by} cameras={cameras} />
            <p className="muted small">
              UMAP of {map.numQuery} query + {map.images.length - map.numQuery} gallery features (PCA 50, seed {map.seed}, {map.epochs} epochs)
            </p>
          </div>
        </div>
      )}
    </div>
  );
}
