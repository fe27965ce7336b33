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
  /**
   * Whether features were L2-normalised before the distance: always for cosine; for euclidean as the document's
   * framework does it (reid-strong-baseline TEST.FEAT_NORM yes: normalised; fast-reid: raw, core/config/conventions.ts).
   */
  featNorm?: boolean;
  /** Wall-clock seconds spent in the evaluation. */
  seconds?: number;
  /** Seconds per stage: distance matrix (incl. re-ranking) and ranking/metrics. */
  timings?: { distance: number; ranking: number; analysis?: number };
}

export interface Labels {
  pids: ArrayLike<number>;
  camids: ArrayLike<number>;
}

/**
 * Per-query results of one evaluation, from the same pass that gives `EvalResult` (so the mean of `ap` over
 * the valid queries is the reported mAP, and of `inp` the mINP). Arrays have one entry per query (Q);
 * `top` / `topDistance` are Q×k row-major.
 */
export interface QueryResults {
  /** Rank-list length kept per query (≤ the gallery size). */
  k: number;
  /** Average precision per query; NaN for a skipped query (no true match once same-pid-same-camera entries are removed). */
  ap: Float64Array;
  /** Inverse negative penalty per query (torchreid / fast-reid rank.py: matches ÷ (rank of the hardest match + 1)); NaN when skipped. */
  inp: Float64Array;
  /** 0-based rank of the first true match among the kept gallery entries; −1 when skipped. */
  firstMatch: Int32Array;
  /** Gallery index of that first true match; −1 when skipped. */
  firstMatchIndex: Int32Array;
  /** Its distance; NaN when skipped. */
  firstMatchDistance: Float32Array;
  /** Number of true matches (same pid, other camera). */
  numMatches: Int32Array;
  /** The k nearest kept gallery indices per query, nearest first (ties: lower gallery index first); −1 pads short rows. */
  top: Int32Array;
  /** Their distances (the evaluated distance matrix's values); NaN pads. */
  topDistance: Float32Array;
}

export function checkLabels(l: Labels, n: number, what: string): void {
  if (l.pids.length !== n) throw new Error(`${what}: ${l.pids.length} pids for ${n} samples`);
  if (l.camids.length !== n) throw new Error(`${what}: ${l.camids.length} camids for ${n} samples`);
}

/**
 * Evaluates a Q×G distance matrix (row-major). Throws when shapes disagree or no query has a true match.
 */
export function evaluateDistmat(distmat: Float32Array | Float64Array, query: Labels, gallery: Labels, maxRank = 50): EvalResult {
  return rankQueries(distmat, query, gallery, maxRank, 0).result;
}

/**
 * The evaluation of `evaluateDistmat` plus, per query, its AP, INP, first-match rank and its `topK`
 * nearest kept gallery entries (the rank list the UI pages through). `topK` 0 skips the rank lists.
 */
export function rankQueries(distmat: Float32Array | Float64Array, query: Labels, gallery: Labels, maxRank = 50, topK = 20): { result: EvalResult; queries: QueryResults } {
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
  const K = Math.max(0, Math.min(topK, G));
  const queries: QueryResults = {
    k: K,
    ap: new Float64Array(Q).fill(NaN),
    inp: new Float64Array(Q).fill(NaN),
    firstMatch: new Int32Array(Q).fill(-1),
    firstMatchIndex: new Int32Array(Q).fill(-1),
    firstMatchDistance: new Float32Array(Q).fill(NaN),
    numMatches: new Int32Array(Q),
    top: new Int32Array(Q * K).fill(-1),
    topDistance: new Float32Array(Q * K).fill(NaN),
  };
  for (let i = 0; i < Q; i++) {
    const qp = query.pids[i]!;
    const qc = query.camids[i]!;
    const row = i * G;
    if (K) topKept(distmat, row, G, gp, gc, qp, qc, K, queries.top.subarray(i * K, (i + 1) * K), queries.topDistance.subarray(i * K, (i + 1) * K));
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
    queries.numMatches[i] = m;
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
    queries.ap[i] = ap / m;
    queries.inp[i] = m / (lastRank + 1);
    queries.firstMatch[i] = firstRank;
    queries.firstMatchIndex[i] = si[0]!;
    queries.firstMatchDistance[i] = sd[0]!;
    for (let k = firstRank; k < R; k++) cmcSum[k]!++;
  }
  // RSB eval_reid.py asserts the same: there is nothing to average.
  if (valid === 0) throw new Error('evaluation: no query has a true match in the gallery once same-pid-same-camera entries are removed');
  const cmc = Array.from(cmcSum, (v) => v / valid);
  const at = (k: number): number => cmc[Math.min(k, cmc.length) - 1] ?? 0;
  const result: EvalResult = {
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
  return { result, queries };
}

/**
 * The k nearest gallery entries of one query row in (distance, gallery index) order — the order the
 * AP / CMC above rank by — leaving out the same-pid-same-camera entries the protocol removes. One pass
 * with a sorted buffer of k (insertion): O(G + k·insertions).
 */
function topKept(distmat: Float32Array | Float64Array, row: number, G: number, gp: Int32Array, gc: Int32Array, qp: number, qc: number, k: number, outI: Int32Array, outD: Float32Array): void {
  const bd = new Float64Array(k).fill(Infinity);
  const bi = new Int32Array(k).fill(-1);
  let n = 0;
  // Scanning j upwards, an equal distance ranks after the entries already kept: only d < worst enters.
  let worst = Infinity;
  for (let j = 0; j < G; j++) {
    const d = distmat[row + j]!;
    if (!(d < worst) && n === k) continue;
    if (gp[j] === qp && gc[j] === qc) continue;
    let p = n < k ? n : k - 1;
    while (p > 0 && bd[p - 1]! > d) {
      bd[p] = bd[p - 1]!;
      bi[p] = bi[p - 1]!;
      p--;
    }
    bd[p] = d;
    bi[p] = j;
    if (n < k) n++;
    if (n === k) worst = bd[k - 1]!;
  }
  for (let t = 0; t < n; t++) {
    outI[t] = bi[t]!;
    outD[t] = bd[t]!;
  }
}
