/**
 * k-reciprocal re-ranking (Zhong et al., CVPR 2017), a port of RSB utils/re_ranking.py (same algorithm as
 * the authors' code and torchreid). k1 = 20, k2 = 6, λ = 0.3 as hard-coded in RSB.
 *
 * Differences from the Python, none of which changes the algorithm:
 * - V and the Jaccard distance are float32/float64 here; the reference keeps them in float16, which only
 *   rounds them (≈1e-3 relative).
 * - V is stored as sparse rows (each has ≲ 2·k1 non-zeros) instead of a dense all×all float16 matrix.
 * - initial_rank keeps only the first k1+1 columns: the reference never reads further.
 */
export interface ReRankOptions {
  k1?: number;
  k2?: number;
  lambda?: number;
}

interface SparseRow {
  idx: Int32Array;
  val: Float64Array;
}

/** numpy.around: round half to even. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Indices of the `k` smallest entries of row, ordered by (value, index). */
function smallestK(row: Float32Array | Float64Array, off: number, n: number, k: number): Int32Array {
  const kk = Math.min(k, n);
  const idx = new Int32Array(kk);
  const val = new Float64Array(kk);
  let len = 0;
  for (let j = 0; j < n; j++) {
    const v = row[off + j]!;
    if (len === kk && !(v < val[kk - 1]!)) continue;
    let p = len === kk ? kk - 1 : len++;
    while (p > 0 && val[p - 1]! > v) {
      val[p] = val[p - 1]!;
      idx[p] = idx[p - 1]!;
      p--;
    }
    val[p] = v;
    idx[p] = j;
  }
  return idx;
}

/**
 * @param dist full (Q+G)×(Q+G) original distance over [query; gallery] (squared Euclidean in RSB), row-major;
 *   symmetrised in place.
 * @returns the re-ranked Q×G distance matrix.
 */
export function reRank(dist: Float32Array, numQuery: number, numAll: number, opts: ReRankOptions = {}): Float32Array {
  const k1 = opts.k1 ?? 20;
  const k2 = opts.k2 ?? 6;
  const lambda = opts.lambda ?? 0.3;
  const N = numAll;
  if (dist.length !== N * N) throw new Error(`re-ranking: expected a ${N}×${N} distance matrix`);
  // original_dist = transpose(original_dist / max(original_dist, axis=0)). The matrix is symmetric in
  // exact arithmetic; it is symmetrised in place (float products may differ in the last bit) so that
  // orig[i, j] = dist[i, j] / max_k dist[k, i] can be read row-wise without a second N×N copy.
  for (let i = 0; i < N; i++)
    for (let j = i + 1; j < N; j++) {
      const m = 0.5 * (dist[i * N + j]! + dist[j * N + i]!);
      dist[i * N + j] = m;
      dist[j * N + i] = m;
    }
  const rowMax = new Float64Array(N).fill(-Infinity);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (dist[i * N + j]! > rowMax[i]!) rowMax[i] = dist[i * N + j]!;
  const orig = (i: number, j: number): number => dist[i * N + j]! / rowMax[i]!;

  const kFwd = k1 + 1;
  const kHalf = roundHalfEven(k1 / 2) + 1;
  const topK = Math.max(kFwd, kHalf, k2);
  const rank: Int32Array[] = [];
  for (let i = 0; i < N; i++) rank.push(smallestK(dist, i * N, N, topK)); // row scaling keeps the order
  const contains = (arr: Int32Array, len: number, x: number): boolean => {
    for (let t = 0; t < Math.min(len, arr.length); t++) if (arr[t] === x) return true;
    return false;
  };
  const reciprocal = (i: number, k: number): number[] => {
    const out: number[] = [];
    const fwd = rank[i]!;
    for (let t = 0; t < Math.min(k, fwd.length); t++) {
      const c = fwd[t]!;
      if (contains(rank[c]!, k, i)) out.push(c);
    }
    return out;
  };

  let V: SparseRow[] = [];
  for (let i = 0; i < N; i++) {
    const kRec = reciprocal(i, kFwd);
    const kRecSet = new Set(kRec);
    const expansion = new Set(kRec);
    for (const cand of kRec) {
      const cRec = reciprocal(cand, kHalf);
      let inter = 0;
      for (const c of new Set(cRec)) if (kRecSet.has(c)) inter++;
      if (inter > (2 / 3) * cRec.length) for (const c of cRec) expansion.add(c);
    }
    const idx = Int32Array.from([...expansion].sort((a, b) => a - b));
    const val = new Float64Array(idx.length);
    let s = 0;
    for (let t = 0; t < idx.length; t++) {
      val[t] = Math.exp(-orig(i, idx[t]!));
      s += val[t]!;
    }
    for (let t = 0; t < idx.length; t++) val[t]! /= s;
    V.push({ idx, val });
  }

  if (k2 !== 1) {
    // Local query expansion: V_qe[i] = mean of V over i's k2 nearest neighbours.
    const acc = new Float64Array(N);
    const touched = new Uint8Array(N);
    const qe: SparseRow[] = [];
    for (let i = 0; i < N; i++) {
      const nb = rank[i]!.subarray(0, Math.min(k2, N));
      const list: number[] = [];
      for (const r of nb) {
        const row = V[r]!;
        for (let t = 0; t < row.idx.length; t++) {
          const c = row.idx[t]!;
          if (!touched[c]) {
            touched[c] = 1;
            list.push(c);
          }
          acc[c]! += row.val[t]!;
        }
      }
      list.sort((a, b) => a - b);
      const idx = Int32Array.from(list);
      const val = new Float64Array(idx.length);
      for (let t = 0; t < idx.length; t++) {
        val[t] = acc[idx[t]!]! / nb.length;
        acc[idx[t]!] = 0;
        touched[idx[t]!] = 0;
      }
      qe.push({ idx, val });
    }
    V = qe;
  }

  // Inverted index: for each column, the rows with a non-zero entry (and that entry).
  const invRows: number[][] = Array.from({ length: N }, () => []);
  const invVals: number[][] = Array.from({ length: N }, () => []);
  for (let r = 0; r < N; r++) {
    const row = V[r]!;
    for (let t = 0; t < row.idx.length; t++) {
      if (row.val[t] === 0) continue;
      invRows[row.idx[t]!]!.push(r);
      invVals[row.idx[t]!]!.push(row.val[t]!);
    }
  }

  const G = N - numQuery;
  const out = new Float32Array(numQuery * G);
  const tempMin = new Float64Array(N);
  for (let i = 0; i < numQuery; i++) {
    tempMin.fill(0);
    const row = V[i]!;
    for (let t = 0; t < row.idx.length; t++) {
      const vi = row.val[t]!;
      if (vi === 0) continue;
      const col = row.idx[t]!;
      const rs = invRows[col]!;
      const vs = invVals[col]!;
      for (let u = 0; u < rs.length; u++) tempMin[rs[u]!]! += Math.min(vi, vs[u]!);
    }
    for (let j = 0; j < G; j++) {
      const tm = tempMin[numQuery + j]!;
      const jac = 1 - tm / (2 - tm);
      out[i * G + j] = jac * (1 - lambda) + orig(i, numQuery + j) * lambda;
    }
  }
  return out;
}
