/**
 * Retrieval evaluation of a model: eval-mode features of query and gallery (no augmentation), then
 * CMC / mAP with the same-identity-same-camera exclusion (main/training/eval). Images that cannot be
 * decoded are left out of the evaluation and counted.
 */
import type { TrainingSettings } from '../../../core/index.js';
import { extractFeatures, type ReidModel } from '../../tfjs/index.js';
import { countValidQueries, DatasetError, noValidQueryError, type ImageRecord, type LoadedDataset } from '../data/datasets.js';
import type { DataLoaderPool } from '../data/pipeline.js';
import { evaluate, type EvalAnalysis, type EvalResult, type QueryResults } from '../eval/evaluate.js';
import { assertFiniteFeatures } from '../eval/finite.js';

/** Rank-list length kept per query for the UI (the `runs.queries` call serves up to this many). */
export const RANK_LIST_K = 20;

/** Progress of an evaluation: images embedded so far of the split's total (query, then gallery), then the ranking (0 → 1). */
export type EvalModelProgress = (p: { stage: 'query' | 'gallery' | 'ranking'; done: number; total: number }) => void;

/** Eval features of `count` NHWC images (an engine other than the model's tfjs backend, e.g. onnxruntime). */
export type FeatureExtractor = (images: Float32Array, count: number, batchSize: number) => Promise<{ features: Float32Array; dim: number }>;

async function features(reid: ReidModel | undefined, pool: DataLoaderPool, records: ImageRecord[], extract: FeatureExtractor | undefined, progress: (done: number) => void) {
  const rows: Float32Array[] = [];
  const kept: ImageRecord[] = [];
  let dim = 0;
  let seen = 0;
  for await (const b of pool.evalBatches(records.map((r) => ({ path: r.path, label: r.pid })), 16)) {
    if (!extract && !reid) throw new Error('evaluateModel: neither a model nor a feature engine');
    const f = extract ? await extract(b.images, b.size, 16) : await extractFeatures(reid!, b.images, b.size, 16);
    dim = f.dim;
    const failed = new Set(b.failed);
    assertFiniteFeatures(f.features, dim, b.size, (i) => records[b.indices[i]!]!.path, failed);
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
  /** Per-query AP / INP / rank lists of this very evaluation (indices into the records above). */
  queries: QueryResults;
}

/**
 * Features of the query and gallery splits (eval mode, no augmentation) and the retrieval metrics.
 * `onProgress` is called after every batch and around the ranking; `extract` computes the features on
 * another engine (onnxruntime) instead of the model's tfjs backend (then `reid` may be absent: the ONNX
 * engines read a weight store, no tfjs model is built). Data problems are DatasetErrors
 * (no query / gallery, nothing readable, no query with a valid match).
 */
export async function evaluateModel(reid: ReidModel | undefined, ds: LoadedDataset, s: TrainingSettings, pool: DataLoaderPool, onProgress?: EvalModelProgress, extract?: FeatureExtractor): Promise<EvalResult & Partial<EvalAnalysis> & { queryFiles: string[]; galleryFiles: string[]; features: EvalFeatures }> {
  if (!ds.query.length || !ds.gallery.length) throw new DatasetError(`${ds.root} has no query / gallery images to evaluate on`, 'E_DATASET_EMPTY_SPLIT');
  if (!countValidQueries(ds.query, ds.gallery)) throw noValidQueryError(ds.query.length, ds.gallery.length);
  const q = await features(reid, pool, ds.query, extract, (done) => onProgress?.({ stage: 'query', done, total: ds.query.length }));
  const g = await features(reid, pool, ds.gallery, extract, (done) => onProgress?.({ stage: 'gallery', done, total: ds.gallery.length }));
  // Images found unreadable while extracting are left out; what is left must still be an evaluation.
  if (!q.kept.length || !g.kept.length) throw new DatasetError(`none of the ${q.kept.length ? 'gallery' : 'query'} images of ${ds.root} could be read`, 'E_DATASET_UNREADABLE');
  if (!countValidQueries(q.kept, g.kept)) throw noValidQueryError(q.kept.length, g.kept.length);
  onProgress?.({ stage: 'ranking', done: 0, total: 1 });
  const { queries, ...r } = await evaluate(q.feats, g.feats, q.labels, g.labels, { metric: s.test.metric, featNorm: s.test.featNorm, reRanking: s.test.reRanking, topK: RANK_LIST_K, analysis: true });
  onProgress?.({ stage: 'ranking', done: 1, total: 1 });
  const out: EvalFeatures = { query: { feats: q.feats, records: q.kept }, gallery: { feats: g.feats, records: g.kept }, queries: queries! };
  return { ...r, queryFiles: q.kept.map((x) => x.path), galleryFiles: g.kept.map((x) => x.path), features: out };
}
