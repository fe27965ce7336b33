/**
 * mAP / rank-1 per (query camera, gallery camera) pair: the Market-1501 evaluation (fast-reid
 * fastreid/evaluation/rank.py `eval_market1501`, the same rule as RSB eval_reid.py) run on the queries of one
 * camera against the gallery entries of one camera. The same-pid-same-camera removal makes a diagonal cell
 * (query camera = gallery camera) empty: it has no valid query. Re-ID engineers read the grid for camera
 * bias (a camera whose row is weak: bad colour cast or viewpoint; a pair that is weak: a hard transition).
 */
import { rankQueries, type Labels } from './metrics.js';

export interface CameraPairCell {
  queryCamera: number;
  galleryCamera: number;
  /** Queries of this camera with a true match among this camera's gallery entries (those averaged). */
  numValidQuery: number;
  numQuery: number;
  numGallery: number;
  /** null when no query of the cell has a true match (eval_market1501 asserts there). */
  mAP: number | null;
  rank1: number | null;
}

export interface CameraPairGrid {
  /** Camera ids in ascending order (rows: query cameras, columns: gallery cameras). */
  queryCameras: number[];
  galleryCameras: number[];
  /** Row-major cells, queryCameras.length × galleryCameras.length. */
  cells: CameraPairCell[];
}

const byCamera = (camids: ArrayLike<number>): Map<number, number[]> => {
  const m = new Map<number, number[]>();
  for (let i = 0; i < camids.length; i++) {
    const c = camids[i]!;
    let l = m.get(c);
    if (!l) m.set(c, (l = []));
    l.push(i);
  }
  return new Map([...m].sort((a, b) => a[0] - b[0]));
};

/**
 * The per-camera-pair grid of a Q×G distance matrix (row-major, the evaluated distances). O(Q·G) in all:
 * each cell copies its sub-matrix and ranks it with the same code as the overall mAP / rank-1.
 */
export function cameraPairGrid(distmat: Float32Array | Float64Array, query: Labels, gallery: Labels): CameraPairGrid {
  const Q = query.pids.length;
  const G = gallery.pids.length;
  if (distmat.length !== Q * G) throw new Error(`distance matrix has ${distmat.length} entries, expected ${Q}×${G}`);
  const qCams = byCamera(query.camids);
  const gCams = byCamera(gallery.camids);
  const cells: CameraPairCell[] = [];
  for (const [qc, qi] of qCams) {
    for (const [gc, gi] of gCams) {
      const ql = { pids: qi.map((i) => query.pids[i]!), camids: qi.map((i) => query.camids[i]!) };
      const gl = { pids: gi.map((i) => gallery.pids[i]!), camids: gi.map((i) => gallery.camids[i]!) };
      const cell: CameraPairCell = { queryCamera: qc, galleryCamera: gc, numValidQuery: 0, numQuery: qi.length, numGallery: gi.length, mAP: null, rank1: null };
      // A query is valid when its pid is among the gallery camera's pids and the cameras differ.
      const gPids = new Set(gl.pids);
      if (qc !== gc && ql.pids.some((p) => gPids.has(p))) {
        const sub = distmat instanceof Float64Array ? new Float64Array(qi.length * gi.length) : new Float32Array(qi.length * gi.length);
        for (let a = 0; a < qi.length; a++) {
          const row = qi[a]! * G;
          const o = a * gi.length;
          for (let b = 0; b < gi.length; b++) sub[o + b] = distmat[row + gi[b]!]!;
        }
        const { result } = rankQueries(sub, ql, gl, 50, 0);
        cell.numValidQuery = result.numValidQuery;
        cell.mAP = result.mAP;
        cell.rank1 = result.rank1;
      }
      cells.push(cell);
    }
  }
  return { queryCameras: [...qCams.keys()], galleryCameras: [...gCams.keys()], cells };
}
