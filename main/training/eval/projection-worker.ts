/**
 * Worker thread of the embedding map (./projection.ts): L2-normalised features → PCA (randomized range
 * finder with one power iteration, Halko, Martinsson & Tropp 2011, Alg. 4.3 + 5.1) → exact k nearest
 * neighbours in the PCA space → UMAP (umap-js, McInnes et al. 2018) seeded with mulberry32(seed).
 * The big products run on a private TF.js wasm engine (as distance-worker.ts); the small eigenproblem
 * (k×k, k ≤ 64) is a cyclic Jacobi sweep.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { UMAP } from 'umap-js';
import { Rng } from '../data/rng.js';

export interface ProjectionJob {
  features: SharedArrayBuffer;
  rows: number;
  dim: number;
  seed: number;
  nNeighbors: number;
  minDist: number;
  nEpochs?: number;
  pcaDims: number;
}
export type ProjectionMessage = { progress: { stage: 'pca' | 'neighbours' | 'layout'; done: number; total: number } } | { result: Float32Array; epochs: number; pcaDims: number } | { error: string };

const post = (m: ProjectionMessage) => parentPort!.postMessage(m);

/** Rows normalised to unit L2 norm and centred (PCA of the cosine geometry the evaluation ranks by). */
function normaliseCentre(x: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(x.length);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < d; k++) {
      const v = x[i * d + k]! * inv;
      out[i * d + k] = v;
      mean[k]! += v;
    }
  }
  for (let k = 0; k < d; k++) mean[k]! /= n;
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) out[i * d + k]! -= mean[k]!;
  return out;
}

/** Modified Gram–Schmidt on the columns of Y (n×k row-major), in place. */
function orthonormalise(y: Float32Array, n: number, k: number): void {
  for (let c = 0; c < k; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += y[i * k + c]! * y[i * k + p]!;
      for (let i = 0; i < n; i++) y[i * k + c]! -= dot * y[i * k + p]!;
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += y[i * k + c]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < n; i++) y[i * k + c]! *= inv;
  }
}

/** Eigen-decomposition of a symmetric k×k matrix (cyclic Jacobi): eigenvalues descending, vectors as columns. */
function jacobiEigen(a: Float64Array, k: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += a[p * k + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < k; p++)
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * k + q]! - a[p * k + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const arp = a[r * k + p]!;
          const arq = a[r * k + q]!;
          a[r * k + p] = c * arp - s * arq;
          a[r * k + q] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = a[p * k + r]!;
          const aqr = a[q * k + r]!;
          a[p * k + r] = c * apr - s * aqr;
          a[q * k + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r * k + p]!;
          const vrq = v[r * k + q]!;
          v[r * k + p] = c * vrp - s * vrq;
          v[r * k + q] = s * vrp + c * vrq;
        }
      }
  }
  const order = Array.from({ length: k }, (_, i) => i).sort((x, y) => a[y * k + y]! - a[x * k + x]!);
  const values = Float64Array.from(order, (i) => a[i * k + i]!);
  const vectors = new Float64Array(k * k);
  order.forEach((src, dst) => {
    for (let r = 0; r < k; r++) vectors[r * k + dst] = v[r * k + src]!;
  });
  return { values, vectors };
}

const transpose = (x: Float32Array, n: number, d: number): Float32Array => {
  const t = new Float32Array(x.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) t[k * n + i] = x[i * d + k]!;
  return t;
};
const matMul = (a: Float32Array, n: number, m: number, b: Float32Array, p: number): Float32Array =>
  tf.tidy(() => tf.matMul(tf.tensor2d(a, [n, m]), tf.tensor2d(b, [m, p])).dataSync() as Float32Array);

/** PCA scores (n×m) of the normalised, centred features. */
function pca(x: Float32Array, n: number, d: number, m: number, rand: () => number): Float32Array {
  const k = Math.min(d, n, m + 10);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const omega = Float32Array.from({ length: d * k }, normal);
  let y = matMul(x, n, d, omega, k);
  const xT = transpose(x, n, d);
  post({ progress: { stage: 'pca', done: 1, total: 3 } });
  orthonormalise(y, n, k);
  y = matMul(x, n, d, matMul(xT, d, n, y, k), k); // one power iteration: Y = X Xᵀ Q
  orthonormalise(y, n, k);
  post({ progress: { stage: 'pca', done: 2, total: 3 } });
  const b = matMul(transpose(y, n, k), k, n, x, d); // B = Qᵀ X (k×d) = U Σ Vᵀ
  const bbT = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = i; j < k; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += b[i * d + c]! * b[j * d + c]!;
      bbT[i * k + j] = bbT[j * k + i] = s;
    }
  const { values, vectors } = jacobiEigen(bbT, k);
  const mm = Math.min(m, k);
  const us = new Float32Array(k * mm); // U Σ: scores = X V = Q B V = Q U Σ
  for (let r = 0; r < k; r++) for (let c = 0; c < mm; c++) us[r * mm + c] = vectors[r * k + c]! * Math.sqrt(Math.max(values[c]!, 0));
  post({ progress: { stage: 'pca', done: 3, total: 3 } });
  return matMul(y, n, k, us, mm);
}

/** Exact k nearest neighbours (Euclidean, self first) of the n×m rows, in blocks of rows. */
function neighbours(s: Float32Array, n: number, m: number, kn: number): { indices: number[][]; distances: number[][] } {
  const sT = transpose(s, n, m);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) sq[i]! += s[i * m + c]! ** 2;
  const indices: number[][] = [];
  const distances: number[][] = [];
  const B = 512;
  const bi = new Int32Array(kn);
  const bd = new Float64Array(kn);
  for (let r0 = 0; r0 < n; r0 += B) {
    const rows = Math.min(B, n - r0);
    const dots = matMul(s.subarray(r0 * m, (r0 + rows) * m), rows, m, sT, n);
    for (let a = 0; a < rows; a++) {
      const i = r0 + a;
      bd.fill(Infinity);
      bi.fill(-1);
      for (let j = 0; j < n; j++) {
        const dd = j === i ? -1 : Math.max(sq[i]! + sq[j]! - 2 * dots[a * n + j]!, 0);
        if (dd >= bd[kn - 1]!) continue;
        let p = kn - 1;
        while (p > 0 && bd[p - 1]! > dd) {
          bd[p] = bd[p - 1]!;
          bi[p] = bi[p - 1]!;
          p--;
        }
        bd[p] = dd;
        bi[p] = j;
      }
      indices.push(Array.from(bi));
      distances.push(Array.from(bd, (v) => Math.sqrt(Math.max(v, 0))));
    }
    post({ progress: { stage: 'neighbours', done: r0 + rows, total: n } });
  }
  return { indices, distances };
}

async function main(): Promise<void> {
  const job = workerData as ProjectionJob;
  await tf.setBackend('wasm');
  await tf.ready();
  // umap-js draws from Math.random unless given a generator: the app's seeded sfc32 (main/training/data/rng.ts).
  const rng = new Rng(job.seed);
  const rand = () => rng.float();
  const n = job.rows;
  const x = normaliseCentre(new Float32Array(job.features), n, job.dim);
  const scores = pca(x, n, job.dim, job.pcaDims, rand);
  const m = Math.min(job.pcaDims, job.dim, n);
  const kn = Math.min(job.nNeighbors, n);
  const knn = neighbours(scores, n, m, kn);
  const umap = new UMAP({ nComponents: 2, nNeighbors: kn, minDist: job.minDist, random: rand, ...(job.nEpochs ? { nEpochs: job.nEpochs } : {}) });
  umap.setPrecomputedKNN(knn.indices, knn.distances);
  const rowsOf = Array.from({ length: n }, (_, i) => Array.from(scores.subarray(i * m, (i + 1) * m)));
  const epochs = umap.initializeFit(rowsOf);
  for (let e = 0; e < epochs; e++) {
    umap.step();
    if (e % 10 === 9 || e === epochs - 1) post({ progress: { stage: 'layout', done: e + 1, total: epochs } });
  }
  const emb = umap.getEmbedding();
  const out = new Float32Array(n * 2);
  emb.forEach((p, i) => {
    out[2 * i] = p[0]!;
    out[2 * i + 1] = p[1]!;
  });
  post({ result: out, epochs, pcaDims: m });
}

main().catch((e: Error) => post({ error: e.message }));
