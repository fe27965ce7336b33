import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../data/worker-url.js';

/** Row-major feature matrix: `rows` vectors of `dim` floats. */
export interface FeatureMatrix {
  data: Float32Array;
  rows: number;
  dim: number;
}

export type DistanceMetric = 'euclidean' | 'cosine';

export interface DistanceOptions {
  /**
   * 'euclidean' = squared Euclidean ‖q‖²+‖g‖²−2q·g without sqrt (RSB utils/reid_metric.py);
   * 'cosine' = 1 − cos (fast-reid TEST.METRIC 'cosine'). Both rank identically on L2-normalised features.
   */
  metric: DistanceMetric;
  /** RSB TEST.FEAT_NORM: L2-normalise features before the distance. */
  featNorm: boolean;
  /** Worker threads for the product; 0 = compute in this thread. Default: automatic by problem size. */
  threads?: number;
}

/** Problems below this many multiply-adds run in plain JS: worker + wasm start-up costs ~0.5 s. */
const WORKER_MIN_WORK = 3e8;
const BLOCK_ROWS = 256;

export function checkFeatures(m: FeatureMatrix, what: string): void {
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.dim) || m.rows < 0 || m.dim < 1) throw new Error(`${what}: invalid shape ${m.rows}×${m.dim}`);
  if (m.data.length !== m.rows * m.dim) throw new Error(`${what}: expected ${m.rows}×${m.dim} = ${m.rows * m.dim} values, got ${m.data.length}`);
}

/** Copy with every row scaled to unit L2 norm (torch.nn.functional.normalize: divides by max(‖x‖, 1e-12)). */
export function l2Normalize(m: FeatureMatrix): FeatureMatrix {
  const out = new Float32Array(m.data.length);
  for (let r = 0; r < m.rows; r++) {
    const o = r * m.dim;
    let s = 0;
    for (let k = 0; k < m.dim; k++) s += m.data[o + k]! * m.data[o + k]!;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < m.dim; k++) out[o + k] = m.data[o + k]! * inv;
  }
  return { data: out, rows: m.rows, dim: m.dim };
}

function sqNorms(m: FeatureMatrix): Float64Array {
  const n = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    const o = r * m.dim;
    for (let k = 0; k < m.dim; k++) s += m.data[o + k]! * m.data[o + k]!;
    n[r] = s;
  }
  return n;
}

/** out[i·G + j] = q_i · g_j, 4×1 register blocking over query rows. */
function dotsJs(q: FeatureMatrix, g: FeatureMatrix, out: Float32Array): void {
  const D = q.dim;
  const G = g.rows;
  const qd = q.data;
  const gd = g.data;
  let i = 0;
  for (; i + 4 <= q.rows; i += 4) {
    const o0 = i * D, o1 = o0 + D, o2 = o1 + D, o3 = o2 + D;
    for (let j = 0; j < G; j++) {
      const go = j * D;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < D; k++) {
        const gv = gd[go + k]!;
        s0 += qd[o0 + k]! * gv;
        s1 += qd[o1 + k]! * gv;
        s2 += qd[o2 + k]! * gv;
        s3 += qd[o3 + k]! * gv;
      }
      out[i * G + j] = s0;
      out[(i + 1) * G + j] = s1;
      out[(i + 2) * G + j] = s2;
      out[(i + 3) * G + j] = s3;
    }
  }
  for (; i < q.rows; i++) {
    const oq = i * D;
    for (let j = 0; j < G; j++) {
      const go = j * D;
      let s = 0;
      for (let k = 0; k < D; k++) s += qd[oq + k]! * gd[go + k]!;
      out[i * G + j] = s;
    }
  }
}

/** Blocks of query rows are handed to a small pool of wasm workers; the result lands in shared memory. */
async function dotsWorkers(q: FeatureMatrix, g: FeatureMatrix, threads: number): Promise<Float32Array> {
  const Q = q.rows, G = g.rows, D = q.dim;
  const qs = new SharedArrayBuffer(Q * D * 4);
  new Float32Array(qs).set(q.data);
  const gTs = new SharedArrayBuffer(G * D * 4);
  const gT = new Float32Array(gTs);
  // Cache-blocked transpose of the gallery (G×D → D×G).
  const TB = 64;
  for (let j0 = 0; j0 < G; j0 += TB)
    for (let k0 = 0; k0 < D; k0 += TB)
      for (let j = j0; j < Math.min(j0 + TB, G); j++)
        for (let k = k0; k < Math.min(k0 + TB, D); k++) gT[k * G + j] = g.data[j * D + k]!;
  const outS = new SharedArrayBuffer(Q * G * 4);
  const { url, execArgv } = workerEntry('eval-worker', new URL('./distance-worker.ts', import.meta.url));
  const starts: number[] = [];
  for (let s = 0; s < Q; s += BLOCK_ROWS) starts.push(s);
  let next = 0;
  const workers: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: Math.min(threads, starts.length) }, () =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(url, { execArgv, workerData: { q: qs, gT: gTs, out: outS, numQ: Q, numG: G, dim: D, block: BLOCK_ROWS } });
          workers.push(w);
          const feed = (): void => {
            const s = starts[next++];
            if (s === undefined) {
              w.postMessage({ done: true });
              resolve();
            } else w.postMessage({ start: s });
          };
          w.on('message', (m: { ready?: boolean; start?: number; error?: string }) => {
            if (m.error) reject(new Error(`distance worker: ${m.error}`));
            else feed();
          });
          w.on('error', reject);
          w.on('exit', (code) => {
            if (code !== 0) reject(new Error(`distance worker exited with code ${code}`));
          });
        }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return new Float32Array(outS);
}

/**
 * Query×gallery distance matrix (Q×G row-major). Large problems (Market-1501: 3,368×15,913×2,048) run the
 * product blockwise on wasm workers; small ones in plain JS.
 */
export async function distanceMatrix(q: FeatureMatrix, g: FeatureMatrix, opts: DistanceOptions): Promise<Float32Array> {
  checkFeatures(q, 'query features');
  checkFeatures(g, 'gallery features');
  if (q.dim !== g.dim) throw new Error(`query features are ${q.dim}-d but gallery features are ${g.dim}-d`);
  const normalise = opts.featNorm || opts.metric === 'cosine';
  const qn = normalise ? l2Normalize(q) : q;
  const gn = normalise ? l2Normalize(g) : g;
  const work = q.rows * g.rows * q.dim;
  const threads = opts.threads ?? (work >= WORKER_MIN_WORK ? Math.max(1, Math.min(2, availableParallelism())) : 0);
  let dots: Float32Array;
  if (threads > 0 && q.rows > 0 && g.rows > 0) dots = await dotsWorkers(qn, gn, threads);
  else {
    dots = new Float32Array(q.rows * g.rows);
    dotsJs(qn, gn, dots);
  }
  const G = g.rows;
  if (opts.metric === 'cosine') {
    for (let i = 0; i < dots.length; i++) dots[i] = 1 - dots[i]!;
    return dots;
  }
  const a = sqNorms(qn);
  const b = sqNorms(gn);
  for (let i = 0; i < q.rows; i++) {
    const ai = a[i]!;
    const o = i * G;
    for (let j = 0; j < G; j++) dots[o + j] = ai + b[j]! - 2 * dots[o + j]!;
  }
  return dots;
}
