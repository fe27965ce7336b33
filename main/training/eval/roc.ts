/**
 * Thresholds of an evaluation: the distance distributions of true and false pairs, the ROC curve, its AUC
 * and the TPR at FPR 1e-2 / 1e-3 / 1e-4 with the distance threshold of each — what fast-reid reports with
 * `TEST.ROC.ENABLED` (fastreid/evaluation/reid_evaluation.py + roc.py) and draws in demo/visualize_result.py
 * (fastreid/utils/visualizer.py `vis_roc_curve`, `plot_distribution`).
 *
 * Pairs: every (query, gallery) entry of the evaluated Q×G distance matrix except the same-pid-same-camera
 * entries the Market-1501 protocol removes (fast-reid roc.py `evaluate_roc_py`); a true pair has the query's
 * pid. Queries without a true match still contribute their false pairs (as in fast-reid).
 *
 * The curve is scikit-learn's `roc_curve` (1.2, `drop_intermediate=True`) of the labels "true pair" with
 * the score −distance, i.e. a pair is accepted as a match when its distance ≤ the threshold; FPR is the
 * fraction of false pairs accepted ("false matches"), TPR of true pairs accepted. AUC = np.trapz over that
 * curve (sklearn `roc_auc_score`). TPR@FPR follows reid_evaluation.py: the curve point whose FPR is nearest
 * the target (`np.argmin(np.abs(fprs - fpr))`, first on ties), except that sklearn's prepended point (0, 0) —
 * no distance threshold, "accept nothing" — loses a tie to the first real point of FPR 0 (a real distance that
 * accepts true pairs and no false one). Where that point is still the nearest (the smallest distance is a
 * false pair's and the target is nearer 0 than the first false match's FPR), `acceptsNone` says so: no
 * distance threshold reaches the target except accepting no pair.
 *
 * Porting note: fast-reid labels true pairs 0 and false pairs 1 and scores by distance, so its "FPR" is the
 * fraction of true pairs rejected; the AUC is the same, the TPR@FPR points are not. ReID Studio uses the
 * verification convention (a false positive is a false match), which answers "what threshold gives 1 %
 * false matches". The first point (0, 0) carries sklearn 1.2's threshold `scores[0] + 1`, as a distance
 * min(d) − 1 (accept nothing).
 *
 * Cost: no sort of the Q·G pairs. The false pairs' float32 distances are bucketed by their top 16 bits
 * (a counting pass and a scatter of the low 16 bits), every bucket is counted in order, and the true
 * pairs (few: ~#matches per query) are sorted and merged in, giving the distinct distances in order with
 * their (true, false) counts — sklearn's `_binary_clf_curve` — streamed once. Memory: 2 bytes per false pair.
 */
import type { Labels } from './metrics.js';

/** FPR targets reported, as in fast-reid reid_evaluation.py. */
export const FPR_TARGETS = [1e-4, 1e-3, 1e-2] as const;
/** Histogram bins of the distance distributions (fast-reid visualizer `plt.hist(..., bins=80)`). */
export const DISTANCE_BINS = 80;

/** One point of the (dropped) ROC curve; `index` is its position in sklearn's `roc_curve` output. */
export interface RocPoints {
  index: number[];
  fpr: number[];
  tpr: number[];
  /** Distance thresholds: a pair matches when its distance ≤ threshold. */
  threshold: number[];
}

export interface RocSummary {
  /** Area under the ROC curve (sklearn `roc_auc_score`), in [0, 1]. */
  auc: number;
  /** True pairs (same pid, other camera) and false pairs (other pid) counted. */
  numPositive: number;
  numNegative: number;
  /** Number of points of sklearn's full (dropped) curve; `points` is a subset of them for plotting. */
  numPoints: number;
  /** ≤ ~1,300 of the curve's points, in order: every FPR decade and TPR percent crossing, first and last. */
  points: RocPoints;
}

export interface TprAtFpr {
  /** The FPR asked for (1e-4, 1e-3, 1e-2). */
  fpr: number;
  /** The FPR of the curve point nearest to it, its TPR and its distance threshold. */
  actualFpr: number;
  tpr: number;
  /** With `acceptsNone`, sklearn's "accept nothing" threshold (min distance − 1), not a distance to use. */
  threshold: number;
  /** The nearest point is sklearn's prepended (0, 0): no pair accepted at this FPR, TPR 0, no real distance threshold. */
  acceptsNone: boolean;
}

/** numpy `histogram(x, bins=80, range=(min, max))` of true and false pair distances on one shared range. */
export interface DistanceHistogram {
  /** bins + 1 edges (np.linspace(min, max, bins + 1)). */
  edges: number[];
  positive: number[];
  negative: number[];
  positiveMean: number;
  negativeMean: number;
}

export interface ThresholdAnalysis {
  roc: RocSummary;
  tprAtFpr: TprAtFpr[];
  distanceHistogram: DistanceHistogram;
  /** The full curve, only with `keepCurve` (tests; it can hold millions of points on a Market-sized evaluation). */
  curve?: { fps: Float64Array; tps: Float64Array; threshold: Float64Array };
}

export interface ThresholdOptions {
  bins?: number;
  keepCurve?: boolean;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bits → an unsigned key in the float order (−0 taken as +0). */
function orderKey(bits: number): number {
  if (bits === 0x80000000) return 0x80000000;
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}
function keyValue(key: number): number {
  u32[0] = key & 0x80000000 ? (key ^ 0x80000000) >>> 0 : ~key >>> 0;
  return f32[0]!;
}

/** numpy's uniform-bin index of `x` (float64) — histograms.py: scaled index, then the ±1 edge corrections. */
function binOf(x: number, first: number, norm: number, edges: Float64Array, n: number): number {
  let i = Math.trunc((x - first) * norm);
  if (i === n) i--;
  if (x < edges[i]!) i--;
  if (i !== n - 1 && x >= edges[i + 1]!) i++;
  return i;
}

/**
 * Thresholds of a Q×G float32 distance matrix (row-major, the evaluated distances incl. re-ranking).
 * Errors: shapes that disagree, a non-finite distance, no true or no false pair. O(Q·G) time.
 */
export function thresholdAnalysis(distmat: Float32Array, query: Labels, gallery: Labels, opts: ThresholdOptions = {}): ThresholdAnalysis {
  const Q = query.pids.length;
  const G = gallery.pids.length;
  if (distmat.length !== Q * G) throw new Error(`distance matrix has ${distmat.length} entries, expected ${Q}×${G}`);
  const bins = opts.bins ?? DISTANCE_BINS;
  const bits = new Uint32Array(distmat.buffer, distmat.byteOffset, distmat.length);
  const gp = Int32Array.from(gallery.pids);
  const gc = Int32Array.from(gallery.camids);
  // Pass 1: false pairs counted per top-16-bit bucket; true pairs' keys kept; sums for the means.
  const bucket = new Float64Array(65536);
  let posKeys = new Uint32Array(1024);
  let nPos = 0;
  let nNeg = 0;
  let posSum = 0;
  let negSum = 0;
  for (let i = 0; i < Q; i++) {
    const qp = query.pids[i]!;
    const qc = query.camids[i]!;
    const row = i * G;
    for (let j = 0; j < G; j++) {
      const b = bits[row + j]!;
      if ((b & 0x7f800000) === 0x7f800000) throw new Error(`distance matrix: non-finite distance at query ${i}, gallery ${j}`);
      if (gp[j] === qp) {
        if (gc[j] === qc) continue;
        if (nPos === posKeys.length) {
          const n = new Uint32Array(nPos * 2);
          n.set(posKeys);
          posKeys = n;
        }
        posKeys[nPos++] = orderKey(b);
      } else {
        bucket[orderKey(b) >>> 16]!++;
        nNeg++;
      }
    }
  }
  if (nPos === 0) throw new Error('thresholds: no true pair (same identity, other camera) in the evaluation');
  if (nNeg === 0) throw new Error('thresholds: no false pair (other identity) in the evaluation');
  posKeys = posKeys.subarray(0, nPos).sort();
  // Pass 2: the false pairs' low 16 bits, grouped by bucket.
  const start = new Float64Array(65537);
  for (let h = 0; h < 65536; h++) start[h + 1] = start[h]! + bucket[h]!;
  const fill = Float64Array.from(start.subarray(0, 65536));
  const low = new Uint16Array(nNeg);
  for (let i = 0; i < Q; i++) {
    const qp = query.pids[i]!;
    const row = i * G;
    for (let j = 0; j < G; j++) {
      if (gp[j] === qp) continue;
      const k = orderKey(bits[row + j]!);
      low[fill[k >>> 16]!++] = k & 0xffff;
    }
  }
  let minKey = posKeys[0]!;
  let maxKey = posKeys[nPos - 1]!;
  for (let h = 0; h < 65536; h++)
    if (bucket[h]) {
      let m = 0xffff;
      for (let t = start[h]!; t < start[h + 1]!; t++) m = Math.min(m, low[t]!);
      minKey = Math.min(minKey, ((h << 16) | m) >>> 0);
      break;
    }
  for (let h = 65535; h >= 0; h--)
    if (bucket[h]) {
      let m = 0;
      for (let t = start[h]!; t < start[h + 1]!; t++) m = Math.max(m, low[t]!);
      maxKey = Math.max(maxKey, ((h << 16) | m) >>> 0);
      break;
    }
  // numpy histogram on the shared range [min, max] in float64.
  let first = keyValue(minKey);
  let last = keyValue(maxKey);
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const edges = new Float64Array(bins + 1);
  const step = (last - first) / bins;
  for (let e = 0; e <= bins; e++) edges[e] = e * step + first;
  edges[bins] = last;
  const norm = bins / (last - first);
  const histPos = new Float64Array(bins);
  const histNeg = new Float64Array(bins);

  // Streamed curve: distinct distances ascending with cumulative (tps, fps); sklearn's drop_intermediate
  // keeps a point when the second difference of fps or tps there is non-zero, plus the first and the last.
  const F = nNeg;
  const T = nPos;
  const curve = opts.keepCurve ? { fps: [] as number[], tps: [] as number[], thr: [] as number[] } : undefined;
  const sel: RocPoints = { index: [], fpr: [], tpr: [], threshold: [] };
  const logTargets = Array.from({ length: 7 * 60 + 1 }, (_, k) => 10 ** (-7 + k / 60));
  let nextLog = 0;
  let nextTprLevel = 1;
  const best = FPR_TARGETS.map(() => ({ diff: Infinity, index: -1, fpr: 0, tpr: 0, thr: 0 }));
  let auc = 0;
  let kept = 0; // points emitted so far (incl. the prepended (0, 0))
  let prevFpr = 0;
  let prevTpr = 0;
  let prevThr = 0;
  let selectedUpTo = -1;
  const select = (index: number, fpr: number, tpr: number, thr: number): void => {
    if (index <= selectedUpTo) return;
    selectedUpTo = index;
    sel.index.push(index);
    sel.fpr.push(fpr);
    sel.tpr.push(tpr);
    sel.threshold.push(thr);
  };
  const emit = (fps: number, tps: number, thr: number): void => {
    const fpr = fps / F;
    const tpr = tps / T;
    const index = kept++;
    curve?.fps.push(fps);
    curve?.tps.push(tps);
    curve?.thr.push(thr);
    if (index > 0) auc += ((fpr - prevFpr) * (tpr + prevTpr)) / 2;
    FPR_TARGETS.forEach((t, k) => {
      const d = Math.abs(fpr - t);
      // First on ties (np.argmin), but a real threshold beats the prepended "accept nothing" point.
      if (d < best[k]!.diff || (d === best[k]!.diff && best[k]!.index === 0)) best[k] = { diff: d, index, fpr, tpr, thr };
    });
    // Plot subset: the last point at or below each FPR target (log-spaced), the first at each TPR percent.
    while (nextLog < logTargets.length && fpr > logTargets[nextLog]!) {
      if (index > 0) select(index - 1, prevFpr, prevTpr, prevThr);
      nextLog++;
    }
    if (index === 0) select(index, fpr, tpr, thr);
    while (nextTprLevel <= 100 && tpr >= nextTprLevel / 100) {
      select(index, fpr, tpr, thr);
      nextTprLevel++;
    }
    prevFpr = fpr;
    prevTpr = tpr;
    prevThr = thr;
  };
  // Drop-intermediate window over the _binary_clf_curve points (before the prepended zero).
  let n = 0;
  let aF = 0, aT = 0, aD = 0; // point n-2
  let bF = 0, bT = 0, bD = 0; // point n-1
  let cumF = 0;
  let cumT = 0;
  const point = (npos: number, nneg: number, key: number): void => {
    const d = keyValue(key);
    if (npos) {
      histPos[binOf(d, first, norm, edges, bins)]! += npos;
      posSum += d * npos;
    }
    if (nneg) {
      histNeg[binOf(d, first, norm, edges, bins)]! += nneg;
      negSum += d * nneg;
    }
    cumF += nneg;
    cumT += npos;
    if (n === 0) emit(0, 0, d - 1);
    else if (n === 1) emit(bF, bT, bD);
    else if (cumF - 2 * bF + aF !== 0 || cumT - 2 * bT + aT !== 0) emit(bF, bT, bD);
    aF = bF;
    aT = bT;
    aD = bD;
    bF = cumF;
    bT = cumT;
    bD = d;
    n++;
  };
  void aD;
  let p = 0;
  const flushPositivesBelow = (key: number): number => {
    // Emits true-pair keys < key as their own points; returns how many true pairs sit exactly at key.
    while (p < nPos && posKeys[p]! < key) {
      const k = posKeys[p]!;
      let c = 0;
      while (p < nPos && posKeys[p] === k) {
        c++;
        p++;
      }
      point(c, 0, k);
    }
    let eq = 0;
    while (p < nPos && posKeys[p] === key) {
      eq++;
      p++;
    }
    return eq;
  };
  const count = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const c = bucket[h]!;
    if (!c) continue;
    const seg = low.subarray(start[h]!, start[h + 1]!);
    const base = (h << 16) >>> 0;
    if (c < 8192) {
      seg.sort();
      for (let t = 0; t < seg.length; ) {
        const v = seg[t]!;
        let m = 0;
        while (t < seg.length && seg[t] === v) {
          m++;
          t++;
        }
        const key = (base | v) >>> 0;
        point(flushPositivesBelow(key), m, key);
      }
    } else {
      count.fill(0);
      for (let t = 0; t < seg.length; t++) count[seg[t]!]!++;
      for (let v = 0; v < 65536; v++) {
        const m = count[v]!;
        if (!m) continue;
        const key = (base | v) >>> 0;
        point(flushPositivesBelow(key), m, key);
      }
    }
  }
  flushPositivesBelow(0xffffffff);
  if (p < nPos) point(nPos - p, 0, 0xffffffff);
  // The last point is always kept.
  if (n === 1) emit(bF, bT, bD);
  else emit(bF, bT, bD);
  select(kept - 1, prevFpr, prevTpr, prevThr);

  const result: ThresholdAnalysis = {
    roc: { auc, numPositive: T, numNegative: F, numPoints: kept, points: sel },
    tprAtFpr: FPR_TARGETS.map((t, k) => ({ fpr: t, actualFpr: best[k]!.fpr, tpr: best[k]!.tpr, threshold: best[k]!.thr, acceptsNone: best[k]!.index === 0 })),
    distanceHistogram: { edges: Array.from(edges), positive: Array.from(histPos), negative: Array.from(histNeg), positiveMean: posSum / T, negativeMean: negSum / F },
  };
  if (curve) result.curve = { fps: Float64Array.from(curve.fps), tps: Float64Array.from(curve.tps), threshold: Float64Array.from(curve.thr) };
  return result;
}
