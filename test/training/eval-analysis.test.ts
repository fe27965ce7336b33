import { describe, expect, it } from 'vitest';
import { cameraPairGrid } from '../../main/training/eval/camera-pairs.js';
import { thresholdAnalysis } from '../../main/training/eval/roc.js';
import { runPython, testRandom } from './python.js';

interface Ref {
  fpr: number[];
  tpr: number[];
  threshold: number[];
  auc: number;
  tprAtFpr: { fpr: number; index: number; actualFpr: number; tpr: number; threshold: number; acceptsNone: boolean }[];
  histogram: { edges: number[]; positive: number[]; negative: number[]; positiveMean: number; negativeMean: number; positiveDensity: number[] };
  cells: { queryCamera: number; galleryCamera: number; mAP: number | null; rank1: number | null; numValidQuery: number }[];
}

/**
 * Market-like problem: pids seen by several cameras, distractors (pid 0) in the gallery, true pairs closer
 * on average. `quantum` > 0 rounds distances to multiples of it (ties between and among true / false pairs).
 */
function problem(seed: number, Q: number, G: number, pids: number, cams: number, quantum = 0) {
  const r = testRandom(seed);
  const int = (n: number) => Math.floor(r() * n);
  const qp = Array.from({ length: Q }, () => 1 + int(pids));
  const qc = Array.from({ length: Q }, () => int(cams));
  const gp = Array.from({ length: G }, () => int(pids + 1));
  const gc = Array.from({ length: G }, () => 1 + int(cams));
  const d = new Float32Array(Q * G);
  for (let i = 0; i < Q; i++)
    for (let j = 0; j < G; j++) {
      let v = (qp[i] === gp[j] ? 0.3 : 0.8) + 0.5 * (r() + r() + r() - 1.5) + (gc[j] === 2 ? 0.1 : 0);
      if (quantum) v = Math.round(v / quantum) * quantum;
      d[i * G + j] = v;
    }
  // Camera ids: queries 0..cams-1, gallery 1..cams, so one query camera has no same-camera gallery.
  return { d, q: { pids: qp, camids: qc }, g: { pids: gp, camids: gc }, req: { Q, G, distmat: Array.from(d), qp, gp, qc, gc, bins: 80 } };
}

function expectClose(a: number, b: number, tol: number) {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(tol);
}

describe('thresholds vs scikit-learn roc_curve / roc_auc_score and numpy histogram', () => {
  for (const [name, seed, Q, G, quantum] of [
    ['continuous distances', 1, 40, 300, 0],
    ['tied distances (both kinds of pair at one value; buckets above the counting-sort cut)', 2, 200, 2000, 1 / 64],
  ] as const) {
    it(name, () => {
      const p = problem(seed, Q, G, 25, 4, quantum);
      const ours = thresholdAnalysis(p.d, p.q, p.g, { keepCurve: true });
      const ref = runPython<Ref>('ref_analysis.py', p.req);
      const c = ours.curve!;
      // The whole curve, point for point (counts are exact integers; fpr / tpr the same float64 divisions).
      expect(c.fps.length).toBe(ref.fpr.length);
      expect(ours.roc.numPoints).toBe(ref.fpr.length);
      const F = ours.roc.numNegative;
      const T = ours.roc.numPositive;
      for (let k = 0; k < ref.fpr.length; k++) {
        expect(c.fps[k]! / F).toBe(ref.fpr[k]);
        expect(c.tps[k]! / T).toBe(ref.tpr[k]);
        expect(c.threshold[k]).toBe(ref.threshold[k]);
      }
      // The plotted subset is made of the curve's own points.
      ours.roc.points.index.forEach((idx, k) => {
        expect(ours.roc.points.fpr[k]).toBe(ref.fpr[idx]);
        expect(ours.roc.points.tpr[k]).toBe(ref.tpr[idx]);
        expect(ours.roc.points.threshold[k]).toBe(ref.threshold[idx]);
      });
      expect(ours.roc.points.index[0]).toBe(0);
      expect(ours.roc.points.index.at(-1)).toBe(ref.fpr.length - 1);
      expectClose(ours.roc.auc, ref.auc, 1e-12);
      expect(ours.tprAtFpr.map((t) => [t.fpr, t.actualFpr, t.tpr, t.threshold, t.acceptsNone])).toEqual(ref.tprAtFpr.map((t) => [t.fpr, t.actualFpr, t.tpr, t.threshold, t.acceptsNone]));
      const h = ours.distanceHistogram;
      expect(h.edges).toEqual(ref.histogram.edges);
      expect(h.positive).toEqual(ref.histogram.positive);
      expect(h.negative).toEqual(ref.histogram.negative);
      expectClose(h.positiveMean, ref.histogram.positiveMean, 1e-9);
      expectClose(h.negativeMean, ref.histogram.negativeMean, 1e-9);
    });
  }

  // 2 queries × 6 gallery images (3 identities on 2 cameras): 4 true and 8 false pairs, so an FPR step is 1/8 and
  // every target (1e-4 … 1e-2) is nearest FPR 0. sklearn's curve then starts at its "accept nothing" threshold,
  // min distance − 1 = −0.9 as a distance (the negative threshold a new user saw in the Thresholds tab).
  const tiny = (first: number) => {
    const d = new Float32Array([first, 0.1, 0.5, 0.4, 0.6, 0.7, 0.2, 0.35, 0.8, 0.9, 0.45, 0.55]);
    const q = { pids: [1, 2], camids: [0, 0] };
    const g = { pids: [1, 2, 3, 1, 2, 3], camids: [1, 1, 1, 2, 2, 2] };
    return { d, q, g, req: { Q: 2, G: 6, distmat: Array.from(d), qp: q.pids, gp: g.pids, qc: q.camids, gc: g.camids, bins: 80 } };
  };
  for (const [name, first, acceptsNone] of [
    ['smallest distance a false pair: no distance threshold reaches the FPR, "accept nothing" said as such', 0.3, true],
    ['smallest distance a true pair: the real threshold of FPR 0 beats sklearn\'s prepended point', 0.05, false],
  ] as const) {
    it(name, () => {
      const p = tiny(first);
      const ours = thresholdAnalysis(p.d, p.q, p.g);
      const ref = runPython<Ref>('ref_analysis.py', p.req);
      expect(ref.threshold[0]).toBeLessThan(0);
      expect(ours.tprAtFpr.map((t) => [t.fpr, t.actualFpr, t.tpr, t.threshold, t.acceptsNone])).toEqual(ref.tprAtFpr.map((t) => [t.fpr, t.actualFpr, t.tpr, t.threshold, t.acceptsNone]));
      for (const t of ours.tprAtFpr) {
        expect(t.acceptsNone).toBe(acceptsNone);
        if (acceptsNone) expect([t.actualFpr, t.tpr]).toEqual([0, 0]);
        // A real threshold is a distance of the evaluation: FPR 0, the true pairs at or below it accepted.
        else expect([t.actualFpr, t.tpr, t.threshold]).toEqual([0, 1 / 4, Math.fround(0.05)]);
      }
    });
  }

  it('refuses a non-finite distance and an evaluation without false pairs, in one line', () => {
    const p = problem(3, 4, 20, 3, 2);
    p.d[5] = NaN;
    expect(() => thresholdAnalysis(p.d, p.q, p.g)).toThrow(/non-finite distance at query 0, gallery 5/);
    const same = { pids: [1, 1], camids: [0, 1] };
    expect(() => thresholdAnalysis(new Float32Array([0.1, 0.2, 0.3, 0.4]), { pids: [1, 1], camids: [2, 3] }, same)).toThrow(/no false pair/);
  });
});

describe('per camera pair vs a numpy port of fast-reid eval_market1501 on each pair', () => {
  it('mAP / rank-1 / valid queries of every (query camera, gallery camera) cell; same-camera cells empty', () => {
    const p = problem(4, 80, 400, 20, 4);
    const ours = cameraPairGrid(p.d, p.q, p.g);
    const ref = runPython<Ref>('ref_analysis.py', p.req);
    expect(ours.cells.length).toBe(ref.cells.length);
    expect(ours.queryCameras).toEqual([0, 1, 2, 3]);
    expect(ours.galleryCameras).toEqual([1, 2, 3, 4]);
    ours.cells.forEach((cell, k) => {
      const r = ref.cells[k]!;
      expect([cell.queryCamera, cell.galleryCamera, cell.numValidQuery]).toEqual([r.queryCamera, r.galleryCamera, r.numValidQuery]);
      if (r.mAP === null) expect(cell.mAP).toBeNull();
      else {
        expectClose(cell.mAP!, r.mAP, 1e-9);
        // eval_market1501 averages the CMC in float32 (all_cmc.astype(np.float32)).
        expectClose(cell.rank1!, r.rank1!, 1e-7);
      }
    });
    expect(ours.cells.filter((c) => c.mAP === null).map((c) => [c.queryCamera, c.galleryCamera])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });
});
