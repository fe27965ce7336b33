/**
 * Retrieval evaluation of a model: eval-mode features of query and gallery (no augmentation), then
 * CMC / mAP with the same-identity-same-camera exclusion (main/training/eval). Images that cannot be
 * decoded are left out of the evaluation and counted.
 */
import type { TrainingSettings } from '../../../core/index.js';
import { extractFeatures, type ReidModel } from '../../tfjs/index.js';
import type { ImageRecord, LoadedDataset } from '../data/datasets.js';
import type { DataLoaderPool } from '../data/pipeline.js';
import { evaluate, type EvalResult } from '../eval/evaluate.js';

/** Images embedded so far of the split's total (query, then gallery), then the ranking stage. */
export type EvalModelProgress = (p: { stage: 'query' | 'gallery' | 'ranking'; done: number; total: number }) => void;

async function features(reid: ReidModel, pool: DataLoaderPool, records: ImageRecord[], progress: (done: number) => void = () => undefined) {
  const rows: Float32Array[] = [];
  const kept: ImageRecord[] = [];
  let dim = 0;
  let seen = 0;
  for await (const b of pool.evalBatches(records.map((r) => ({ path: r.path, label: r.pid })), 16)) {
    const f = await extractFeatures(reid, b.images, b.size, 16);
    dim = f.dim;
    const failed = new Set(b.failed);
    for (let i = 0; i < b.size; i++) {
      if (failed.has(i)) continue;
      rows.push(f.features.subarray(i * dim, (i + 1) * dim));
      kept.push(records[b.indices[i]!]!);
    }
    seen += b.size;
    progress(seen);
  }
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => data.set(r, i * dim));
  return { feats: { data, rows: rows.length, dim }, labels: { pids: Int32Array.from(kept, (r) => r.pid), camids: Int32Array.from(kept, (r) => r.camid) }, kept };
}

export interface EvalFeatures {
  query: { feats: { data: Float32Array; rows: number; dim: number }; records: ImageRecord[] };
  gallery: { feats: { data: Float32Array; rows: number; dim: number }; records: ImageRecord[] };
}

export async function evaluateModel(reid: ReidModel, ds: LoadedDataset, s: TrainingSettings, pool: DataLoaderPool, onProgress?: EvalModelProgress): Promise<EvalResult & { queryFiles: string[]; galleryFiles: string[]; features: EvalFeatures }> {
  if (!ds.query.length || !ds.gallery.length) throw new Error('the dataset has no query / gallery split to evaluate on');
  const q = await features(reid, pool, ds.query, (done) => onProgress?.({ stage: 'query', done, total: ds.query.length }));
  const g = await features(reid, pool, ds.gallery, (done) => onProgress?.({ stage: 'gallery', done, total: ds.gallery.length }));
  onProgress?.({ stage: 'ranking', done: 0, total: 1 });
  const r = await evaluate(q.feats, g.feats, q.labels, g.labels, { metric: s.test.metric, featNorm: s.test.featNorm, reRanking: s.test.reRanking });
  const out: EvalFeatures = { query: { feats: q.feats, records: q.kept }, gallery: { feats: g.feats, records: g.kept } };
  return { ...r, queryFiles: q.kept.map((x) => x.path), galleryFiles: g.kept.map((x) => x.path), features: out };
}
