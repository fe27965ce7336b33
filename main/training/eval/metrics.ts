/**
 * CMC / mAP with the Market-1501 / DukeMTMC protocol (RSB data/datasets/eval_reid.py, torchreid rank.py):
 * per query, gallery entries with the same pid AND the same camid are removed;
 * queries without a remaining true match are skipped; CMC is truncated at max_rank (50).
 *
 * Instead of arg-sorting every gallery row (Q·G·log G) this finds, per query, the rank of each true
 * match among the kept gallery entries: only the R match distances are sorted and every other entry is
 * binary-searched into them, which gives the same AP and CMC. Ties are broken by gallery index (a stable
 * sort); the reference's numpy quicksort leaves tie order unspecified.
 */
export interface EvalResult {
  /** Mean average precision over the valid queries, in [0, 1]. */
  mAP: number;
  rank1: number;
  rank5: number;
  rank10: number;
  /** Mean inverse negative penalty (fast-reid / torchreid `mINP`). */
  mINP: number;
  /** CMC curve, cmc[k] = fraction of valid queries with a true match within the top k+1. */
  cmc: number[];
  numQuery: number;
  numGallery: number;
  /** Queries that had at least one true match after the same-pid-same-camera removal. */
  numValidQuery: number;
  /** Queries skipped because no true match remained. */
  numSkippedQuery: number;
  reRanking?: boolean;
  metric?: string;
  /** Wall-clock seconds spent in the evaluation. */
  seconds?: number;
  /** Seconds per stage: distance matrix (incl. re-ranking) and ranking/metrics. */
  timings?: { distance: number; ranking: number };
}

export interface Labels {
  pids: ArrayLike<number>;
  camids: ArrayLike<number>;
}

export function checkLabels(l: Labels, n: number, what: string): void {
  if (l.pids.length !== n) throw new Error(`${what}: ${l.pids.length} pids for ${n} samples`);
  if (l.camids.length !== n) throw new Error(`${what}: ${l.camids.length} camids for ${n} samples`);
}

/** Evaluates a Q×G distance matrix (row-major). */
export function evaluateDistmat(distmat: Float32Array | Float64Array, query: Labels, gallery: Labels, maxRank = 50): EvalResult {
  const Q = query.pids.length;
  const G = gallery.pids.length;
  checkLabels(query, Q, 'query');
  checkLabels(gallery, G, 'gallery');
  if (distmat.length !== Q * G) throw new Error(`distance matrix has ${distmat.length} entries, expected ${Q}×${G}`);
  // torchreid: "Note: number of gallery samples is quite small" → max_rank shrinks to the gallery size.
  const R = Math.max(1, Math.min(maxRank, G));
  const cmcSum = new Float64Array(R);
  let apSum = 0;
  let inpSum = 0;
  let valid = 0;
  const gp = Int32Array.from(gallery.pids);
  const gc = Int32Array.from(gallery.camids);
  let matchD = new Float64Array(64);
  let matchI = new Int32Array(64);
  let order = new Int32Array(64);
  let before = new Int32Array(65);
  for (let i = 0; i < Q; i++) {
    const qp = query.pids[i]!;
    const qc = query.camids[i]!;
    const row = i * G;
    // Collect the true matches (same pid, other camera).
    let m = 0;
    for (let j = 0; j < G; j++) {
      if (gp[j] === qp && gc[j] !== qc) {
        if (m === matchD.length) {
          const nd = new Float64Array(m * 2);
          nd.set(matchD);
          matchD = nd;
          const ni = new Int32Array(m * 2);
          ni.set(matchI);
          matchI = ni;
          order = new Int32Array(m * 2);
          before = new Int32Array(m * 2 + 1);
        }
        matchD[m] = distmat[row + j]!;
        matchI[m] = j;
        m++;
      }
    }
    if (m === 0) continue;
    valid++;
    // Sort matches by (distance, index).
    for (let k = 0; k < m; k++) order[k] = k;
    const ord = Array.from(order.subarray(0, m)).sort((a, b) => matchD[a]! - matchD[b]! || matchI[a]! - matchI[b]!);
    const sd = new Float64Array(m);
    const si = new Int32Array(m);
    for (let k = 0; k < m; k++) {
      sd[k] = matchD[ord[k]!]!;
      si[k] = matchI[ord[k]!]!;
    }
    before.fill(0, 0, m + 1);
    const last = sd[m - 1]!;
    const lastI = si[m - 1]!;
    // Every kept non-match (other pid; same-pid entries are matches or removed) is placed among the matches.
    for (let j = 0; j < G; j++) {
      if (gp[j] === qp) continue;
      const d = distmat[row + j]!;
      if (d > last || (d === last && j > lastI)) continue;
      let lo = 0;
      let hi = m - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sd[mid]! < d || (sd[mid] === d && si[mid]! < j)) lo = mid + 1;
        else hi = mid;
      }
      before[lo]!++;
    }
    // rank (0-based, among kept entries) of the k-th match = k + non-matches ranked before it.
    let acc = 0;
    let ap = 0;
    let firstRank = -1;
    let lastRank = 0;
    for (let k = 0; k < m; k++) {
      acc += before[k]!;
      const rank = k + acc;
      if (k === 0) firstRank = rank;
      lastRank = rank;
      ap += (k + 1) / (rank + 1);
    }
    apSum += ap / m;
    inpSum += m / (lastRank + 1);
    for (let k = firstRank; k < R; k++) cmcSum[k]!++;
  }
  // RSB eval_reid.py asserts the same: there is nothing to average.
  if (valid === 0) throw new Error('evaluation: no query has a true match in the gallery once same-pid-same-camera entries are removed');
  const cmc = Array.from(cmcSum, (v) => v / valid);
  const at = (k: number): number => cmc[Math.min(k, cmc.length) - 1] ?? 0;
  return {
    mAP: apSum / valid,
    rank1: at(1),
    rank5: at(5),
    rank10: at(10),
    mINP: inpSum / valid,
    cmc,
    numQuery: Q,
    numGallery: G,
    numValidQuery: valid,
    numSkippedQuery: Q - valid,
  };
}
