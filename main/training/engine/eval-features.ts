/**
 * The eval-mode features of the last evaluation, kept in the run folder so the UI can show rank lists
 * (a query and its top-k gallery images, correct matches marked) without re-running the model.
 * eval-features.json: metric, featNorm and the query / gallery records; eval-features.bin: float32 rows;
 * eval-queries.json / .bin: the per-query results of the same evaluation (eval-queries.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/files.js';
import type { FeatureMatrix, Labels } from '../eval/evaluate.js';
import { writeEvalQueries } from './eval-queries.js';
import type { EvalFeatures } from './evaluate-model.js';

interface Index {
  metric: 'cosine' | 'euclidean';
  featNorm: boolean;
  dim: number;
  query: { path: string; pid: number; camid: number }[];
  gallery: { path: string; pid: number; camid: number }[];
}

export async function writeEvalFeatures(runDir: string, f: EvalFeatures, metric: 'cosine' | 'euclidean', featNorm: boolean): Promise<void> {
  const dim = f.query.feats.dim;
  const all = new Float32Array((f.query.feats.rows + f.gallery.feats.rows) * dim);
  all.set(f.query.feats.data);
  all.set(f.gallery.feats.data, f.query.feats.rows * dim);
  const rec = (r: { path: string; pid: number; camid: number }) => ({ path: r.path, pid: r.pid, camid: r.camid });
  const index: Index = { metric, featNorm, dim, query: f.query.records.map(rec), gallery: f.gallery.records.map(rec) };
  await writeFileAtomic(join(runDir, 'eval-features.bin'), new Uint8Array(all.buffer));
  await writeFileAtomic(join(runDir, 'eval-features.json'), JSON.stringify(index));
  await writeEvalQueries(runDir, f.queries, f.gallery.feats.rows);
}

export async function readEvalFeatures(runDir: string) {
  let index: Index;
  let buf: Buffer;
  try {
    index = JSON.parse(await readFile(join(runDir, 'eval-features.json'), 'utf8'));
    buf = await readFile(join(runDir, 'eval-features.bin'));
  } catch {
    return null;
  }
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const { dim } = index;
  const row = (i: number) => data.subarray(i * dim, (i + 1) * dim);
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  const nq = index.query.length;
  const labels = (rs: { pid: number; camid: number }[]): Labels => ({ pids: Int32Array.from(rs, (r) => r.pid), camids: Int32Array.from(rs, (r) => r.camid) });
  return {
    query: index.query,
    gallery: index.gallery,
    metric: index.metric,
    featNorm: index.featNorm,
    /** The stored features and labels, as the evaluation ranked them. */
    matrices(): { query: FeatureMatrix; gallery: FeatureMatrix; queryLabels: Labels; galleryLabels: Labels } {
      return {
        query: { data: data.subarray(0, nq * dim), rows: nq, dim },
        gallery: { data: data.subarray(nq * dim), rows: index.gallery.length, dim },
        queryLabels: labels(index.query),
        galleryLabels: labels(index.gallery),
      };
    },
    /** Evenly spaced sample of queries; per query the k nearest gallery images after the same-pid-same-camera exclusion. */
    rankList(queries: number, k: number) {
      const picks = Array.from({ length: Math.min(queries, nq) }, (_, i) => Math.floor((i * nq) / Math.min(queries, nq)));
      return picks.map((qi) => {
        const q = index.query[qi]!;
        const qv = row(qi);
        const qn = index.featNorm ? norm(qv) : 1;
        const scored: { gi: number; d: number }[] = [];
        index.gallery.forEach((g, gi) => {
          if (g.pid === q.pid && g.camid === q.camid) return; // excluded from evaluation
          const gv = row(nq + gi);
          const gn = index.featNorm ? norm(gv) : 1;
          let dot = 0;
          let sq = 0;
          for (let j = 0; j < dim; j++) {
            const a = qv[j]! / qn;
            const b = gv[j]! / gn;
            dot += a * b;
            sq += (a - b) * (a - b);
          }
          scored.push({ gi, d: index.metric === 'cosine' ? 1 - dot : sq });
        });
        scored.sort((a, b) => a.d - b.d);
        return {
          query: q,
          results: scored.slice(0, k).map(({ gi, d }) => {
            const g = index.gallery[gi]!;
            return { path: g.path, pid: g.pid, camid: g.camid, match: g.pid === q.pid, distance: d };
          }),
        };
      });
    },
  };
}
