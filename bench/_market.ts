/** Synthetic Market-1501-sized evaluation problems shared by the benchmarks (bench/eval.ts, bench/analysis.ts). */
import type { Rng } from '../main/training/data/rng.js';

/** Market-1501's test split size: 3,368 queries × 15,913 gallery (750 ids, 6 cameras, 2,793 distractors), 2,048-d. */
export const MARKET = { NQ: 3368, NG: 15913, D: 2048 };
const { NQ, NG, D } = MARKET;
const IDS = 750, CAMS = 6, DISTRACTORS = 2793;

export function marketLikeLabels(rng: Rng) {
  const qp: number[] = [], qc: number[] = [], gp: number[] = [], gc: number[] = [];
  const camsOf: number[][] = [];
  for (let id = 1; id <= IDS; id++) camsOf.push(rng.shuffle([0, 1, 2, 3, 4, 5]).slice(0, 2 + rng.int(CAMS - 1)));
  // One query per (identity, camera) until 3,368 (Market: 750 ids, up to 6 cameras).
  outer: for (let round = 0; ; round++)
    for (let id = 1; id <= IDS; id++) {
      if (qp.length === NQ) break outer;
      const cams = camsOf[id - 1]!;
      if (round < cams.length) {
        qp.push(id);
        qc.push(cams[round]!);
      } else if (round > CAMS) {
        qp.push(id);
        qc.push(rng.pick(cams));
      }
    }
  for (let i = 0; i < DISTRACTORS; i++) {
    gp.push(0);
    gc.push(rng.int(CAMS));
  }
  while (gp.length < NG) {
    const id = 1 + rng.int(IDS);
    gp.push(id);
    gc.push(rng.pick(camsOf[id - 1]!));
  }
  return { qp, qc, gp, gc };
}

export function features(rng: Rng, pids: number[], centres: Map<number, Float32Array>): Float32Array {
  // Identity centre (shared by query and gallery) + noise: the ranking is neither trivial nor random.
  const out = new Float32Array(pids.length * D);
  for (let i = 0; i < pids.length; i++) {
    const p = pids[i]!;
    let c = centres.get(p);
    if (!c) {
      c = Float32Array.from({ length: D }, () => rng.normal());
      centres.set(p, c);
    }
    const w = p === 0 ? 0 : 0.25;
    for (let k = 0; k < D; k++) out[i * D + k] = w * c[k]! + rng.normal();
  }
  return out;
}
