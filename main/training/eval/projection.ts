/**
 * Embedding map: a seeded 2-D projection of eval features (query and gallery together) for the camera-bias
 * and identity-cluster views re-ID papers draw by hand. Pipeline (in a worker thread, never on the
 * service's event loop): L2 normalisation (the evaluation's TEST.FEAT_NORM, cosine geometry) → PCA to 50
 * dimensions (randomized, as t-SNE / UMAP practice reduces high-dimensional features first) → exact k
 * nearest neighbours → UMAP (umap-js, the PAIR-code port of McInnes et al. 2018, n_neighbors 15,
 * min_dist 0.1 as umap-learn's defaults) driven by the app's seeded Rng (main/training/data/rng.ts): the same features and seed give the
 * same map. Cost on 19k × 2048: a few seconds of PCA / neighbours, then umap-js's layout epochs (200 for
 * more than 10,000 points, umap-learn's rule) — see bench/analysis.ts.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../data/worker-url.js';
import type { FeatureMatrix } from './distance.js';
import type { ProjectionJob, ProjectionMessage } from './projection-worker.js';

export interface ProjectionOptions {
  /** Seed of PCA's random sketch and of UMAP (default 0). */
  seed?: number;
  nNeighbors?: number;
  minDist?: number;
  /** Layout epochs (default: umap-js's choice, 200 above 10,000 points, else 500). */
  nEpochs?: number;
  pcaDims?: number;
  onProgress?: (p: { stage: 'pca' | 'neighbours' | 'layout'; done: number; total: number }) => void;
}

export interface Projection {
  /** N×2 row-major coordinates, in the order of the feature rows. */
  xy: Float32Array;
  epochs: number;
  pcaDims: number;
  seed: number;
}

/** Smallest map: UMAP needs more points than neighbours to say anything. */
export const MIN_PROJECTION_POINTS = 4;

/**
 * Projects N×D features to 2-D. Errors: fewer than 4 rows, a non-finite feature, or the worker's failure
 * (its message). Time and memory: O(N·D) for PCA plus O(N²·50) multiply-adds for the neighbours (in blocks).
 */
export function projectFeatures(f: FeatureMatrix, opts: ProjectionOptions = {}): Promise<Projection> {
  if (f.rows < MIN_PROJECTION_POINTS) return Promise.reject(new Error(`an embedding map needs at least ${MIN_PROJECTION_POINTS} images (got ${f.rows})`));
  if (f.data.length !== f.rows * f.dim) return Promise.reject(new Error(`features: expected ${f.rows}×${f.dim} values, got ${f.data.length}`));
  for (let i = 0; i < f.data.length; i++) if (!Number.isFinite(f.data[i]!)) return Promise.reject(new Error(`features: non-finite value in row ${Math.floor(i / f.dim)}`));
  const shared = new SharedArrayBuffer(f.data.length * 4);
  new Float32Array(shared).set(f.data);
  const seed = opts.seed ?? 0;
  const job: ProjectionJob = { features: shared, rows: f.rows, dim: f.dim, seed, nNeighbors: opts.nNeighbors ?? 15, minDist: opts.minDist ?? 0.1, pcaDims: opts.pcaDims ?? 50, ...(opts.nEpochs ? { nEpochs: opts.nEpochs } : {}) };
  const { url, execArgv } = workerEntry('projection-worker', new URL('./projection-worker.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const w = new Worker(url, { execArgv, workerData: job });
    let done = false;
    w.on('message', (m: ProjectionMessage) => {
      if ('progress' in m) opts.onProgress?.(m.progress);
      else if ('error' in m) {
        done = true;
        reject(new Error(`embedding map: ${m.error}`));
        void w.terminate();
      } else {
        done = true;
        resolve({ xy: m.result, epochs: m.epochs, pcaDims: m.pcaDims, seed });
        void w.terminate();
      }
    });
    w.on('error', (e) => {
      if (!done) reject(e);
      done = true;
    });
    w.on('exit', (code) => {
      if (!done) reject(new Error(`embedding map: worker exited with code ${code}`));
      done = true;
    });
  });
}
