import { checkFeatures, distanceMatrix, type DistanceMetric, type FeatureMatrix } from './distance.js';
import { checkLabels, evaluateDistmat, rankQueries, type EvalResult, type Labels, type QueryResults } from './metrics.js';
import { cameraPairGrid, type CameraPairGrid } from './camera-pairs.js';
import { reRank, type ReRankOptions } from './rerank.js';
import { thresholdAnalysis, type DistanceHistogram, type RocSummary, type TprAtFpr } from './roc.js';

export interface EvaluateOptions {
  /** 'cosine' (default of the app's test settings) or RSB's squared 'euclidean'. */
  metric?: DistanceMetric;
  /** RSB TEST.FEAT_NORM (default true). */
  featNorm?: boolean;
  /** RSB TEST.RE_RANKING: k-reciprocal re-ranking with k1 20, k2 6, λ 0.3. */
  reRanking?: boolean | ReRankOptions;
  /** CMC length (RSB/torchreid max_rank 50). */
  maxRank?: number;
  /** Worker threads for the distance product (default: automatic). */
  threads?: number;
  /** Keep per-query results (AP, INP, the `topK` nearest gallery entries) of this evaluation: `queries`. */
  topK?: number;
  /** Also compute the thresholds (ROC, TPR@FPR, distance distributions: ./roc.ts) and the per-camera-pair grid (./camera-pairs.ts) of the same distances. */
  analysis?: boolean;
}

/** The analyses of one evaluation's distance matrix (eval.json / `eval --json` fields). */
export interface EvalAnalysis {
  roc: RocSummary;
  tprAtFpr: TprAtFpr[];
  distanceHistogram: DistanceHistogram;
  perCameraPair: CameraPairGrid;
}

export type { CameraPairGrid, DistanceHistogram, EvalResult, FeatureMatrix, Labels, QueryResults, RocSummary, TprAtFpr };

/**
 * Evaluation of eval-mode features: distance → (optional re-ranking) → CMC/mAP with the
 * same-pid-same-camera exclusion. The result is the shape written to `eval.json`.
 */
export async function evaluate(queryFeats: FeatureMatrix, galleryFeats: FeatureMatrix, query: Labels, gallery: Labels, opts: EvaluateOptions = {}): Promise<EvalResult & { queries?: QueryResults } & Partial<EvalAnalysis>> {
  const t0 = performance.now();
  checkFeatures(queryFeats, 'query features');
  checkFeatures(galleryFeats, 'gallery features');
  checkLabels(query, queryFeats.rows, 'query');
  checkLabels(gallery, galleryFeats.rows, 'gallery');
  if (queryFeats.rows === 0) throw new Error('evaluation: the query set is empty');
  if (galleryFeats.rows === 0) throw new Error('evaluation: the gallery set is empty');
  const metric = opts.metric ?? 'cosine';
  const featNorm = opts.featNorm ?? true;
  const dopts = { metric, featNorm, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) };
  let distmat: Float32Array;
  if (opts.reRanking) {
    // RSB R1_mAP_reranking: the original distance is over [query; gallery] × [query; gallery].
    const D = queryFeats.dim;
    const all = new Float32Array((queryFeats.rows + galleryFeats.rows) * D);
    all.set(queryFeats.data);
    all.set(galleryFeats.data, queryFeats.rows * D);
    const n = queryFeats.rows + galleryFeats.rows;
    const m: FeatureMatrix = { data: all, rows: n, dim: D };
    const full = await distanceMatrix(m, m, dopts);
    distmat = reRank(full, queryFeats.rows, n, opts.reRanking === true ? {} : opts.reRanking);
  } else distmat = await distanceMatrix(queryFeats, galleryFeats, dopts);
  const t1 = performance.now();
  const { result: r, queries } = rankQueries(distmat, query, gallery, opts.maxRank ?? 50, opts.topK ?? 0);
  const t2 = performance.now();
  let analysis: EvalAnalysis | undefined;
  if (opts.analysis) {
    const { roc, tprAtFpr, distanceHistogram } = thresholdAnalysis(distmat, query, gallery);
    analysis = { roc, tprAtFpr, distanceHistogram, perCameraPair: cameraPairGrid(distmat, query, gallery) };
  }
  const t3 = performance.now();
  return {
    ...r,
    ...(opts.topK ? { queries } : {}),
    ...analysis,
    reRanking: !!opts.reRanking,
    metric,
    featNorm: featNorm || metric === 'cosine',
    seconds: (t3 - t0) / 1000,
    timings: { distance: (t1 - t0) / 1000, ranking: (t2 - t1) / 1000, ...(analysis ? { analysis: (t3 - t2) / 1000 } : {}) },
  };
}

export { distanceMatrix, evaluateDistmat, rankQueries, reRank };
