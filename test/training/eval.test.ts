import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatEvalResult, writeEvalJson } from '../../main/cli/eval-metrics.js';
import { distanceMatrix, evaluate, evaluateDistmat } from '../../main/training/eval/evaluate.js';
import { runPython, testRandom } from './python.js';

interface RefResult {
  mAP: number;
  rank1: number;
  rank5: number;
  rank10: number;
  mINP: number;
  cmc: number[];
  numValidQuery: number;
  distmat: number[][];
}

/** Market-like labels: pids with several cameras each, some queries without a cross-camera match. */
function randomProblem(seed: number, Q: number, G: number, numPids: number, numCams: number) {
  const r = testRandom(seed);
  const int = (n: number) => Math.floor(r() * n);
  const qp = Array.from({ length: Q }, () => 1 + int(numPids));
  const qc = Array.from({ length: Q }, () => int(numCams));
  // Gallery pids include distractors (0) that never match.
  const gp = Array.from({ length: G }, () => int(numPids + 1));
  const gc = Array.from({ length: G }, () => int(numCams));
  return { qp, qc, gp, gc, r };
}

function expectMatches(ours: { mAP: number; rank1: number; rank5: number; rank10: number; mINP: number; cmc: number[]; numValidQuery: number }, ref: RefResult, tol = 1e-6) {
  expect(ours.numValidQuery).toBe(ref.numValidQuery);
  expect(Math.abs(ours.mAP - ref.mAP)).toBeLessThan(tol);
  expect(Math.abs(ours.rank1 - ref.rank1)).toBeLessThan(tol);
  expect(Math.abs(ours.rank5 - ref.rank5)).toBeLessThan(tol);
  expect(Math.abs(ours.rank10 - ref.rank10)).toBeLessThan(tol);
  expect(Math.abs(ours.mINP - ref.mINP)).toBeLessThan(tol);
  expect(ours.cmc.length).toBe(ref.cmc.length);
  ours.cmc.forEach((v, k) => expect(Math.abs(v - ref.cmc[k]!)).toBeLessThan(tol));
}

describe('evaluation vs numpy port of RSB eval_reid.py', () => {
  it('hand-computed case: same-pid-same-camera removal, skipped query, AP and CMC', () => {
    // Query 0: pid 1 cam 0. Gallery order by distance: g0 (pid 1, cam 0: removed), g1 (pid 2), g2 (pid 1,
    // cam 1: match at kept rank 2), g3 (pid 0 distractor), g4 (pid 1, cam 2: match at kept rank 4).
    // AP = (1/2)(1/2 + 2/4) = 0.5; CMC = [0, 1, 1, 1].  Query 1: pid 3 cam 0, only a same-camera entry:
    // skipped. Query 2: pid 2 cam 1, g1 (cam 0) is first: AP 1, CMC all 1.
    const dist = [
      [0.1, 0.2, 0.3, 0.4, 0.5],
      [0.5, 0.4, 0.3, 0.2, 0.1],
      [0.9, 0.05, 0.3, 0.4, 0.6],
    ];
    const q = { pids: [1, 3, 2], camids: [0, 0, 1] };
    const g = { pids: [1, 2, 1, 0, 1], camids: [0, 0, 1, 1, 2] };
    // Query 1's pid 3 appears only at... nowhere: add it to the gallery in the same camera.
    const g2 = { pids: [...g.pids, 3], camids: [...g.camids, 0] };
    const d2 = dist.map((row, i) => [...row, i === 1 ? 0.01 : 0.95]);
    const ours = evaluateDistmat(Float32Array.from(d2.flat()), q, g2, 4);
    expect(ours.numValidQuery).toBe(2);
    expect(ours.numSkippedQuery).toBe(1);
    expect(ours.mAP).toBeCloseTo((0.5 + 1) / 2, 12);
    expect(ours.cmc).toEqual([0.5, 1, 1, 1]);
    const ref = runPython<RefResult>('ref_eval.py', { op: 'eval', distmat: d2, q_pids: q.pids, q_camids: q.camids, g_pids: g2.pids, g_camids: g2.camids, max_rank: 4 });
    expectMatches(ours, ref, 1e-12);
  });

  it('random distance matrices with random pids/camids: mAP, CMC, mINP to 1e-6', () => {
    for (const [seed, Q, G, P, C] of [
      [1, 60, 400, 30, 6],
      [2, 100, 300, 80, 2],
      [3, 25, 500, 8, 8],
    ] as const) {
      const { qp, qc, gp, gc, r } = randomProblem(seed, Q, G, P, C);
      const dist = Array.from({ length: Q }, () => Array.from({ length: G }, () => Math.fround(r() * 4)));
      const ours = evaluateDistmat(Float32Array.from(dist.flat()), { pids: qp, camids: qc }, { pids: gp, camids: gc });
      const ref = runPython<RefResult>('ref_eval.py', { op: 'eval', distmat: dist, q_pids: qp, q_camids: qc, g_pids: gp, g_camids: gc });
      expectMatches(ours, ref);
      expect(ours.numValidQuery).toBeLessThanOrEqual(Q);
    }
  });

  it('features → distance (squared Euclidean with feature norm, cosine, raw Euclidean) → metrics', async () => {
    const Q = 40, G = 220, D = 24;
    const { qp, qc, gp, gc, r } = randomProblem(7, Q, G, 20, 4);
    // Features clustered by pid so that the metrics are far from trivial.
    const centre = Array.from({ length: 21 }, () => Array.from({ length: D }, () => r() * 2 - 1));
    const feat = (p: number) => centre[p]!.map((c) => c + (r() - 0.5) * 1.6);
    const qf = qp.map(feat), gf = gp.map(feat);
    const qm = { data: Float32Array.from(qf.flat()), rows: Q, dim: D };
    const gm = { data: Float32Array.from(gf.flat()), rows: G, dim: D };
    for (const [metric, featNorm] of [['euclidean', true], ['cosine', true], ['euclidean', false]] as const) {
      const ref = runPython<RefResult>('ref_eval.py', { op: 'features', qf, gf, metric, feat_norm: featNorm, q_pids: qp, q_camids: qc, g_pids: gp, g_camids: gc });
      const dm = await distanceMatrix(qm, gm, { metric, featNorm, threads: 0 });
      let maxErr = 0;
      for (let i = 0; i < Q; i++) for (let j = 0; j < G; j++) maxErr = Math.max(maxErr, Math.abs(dm[i * G + j]! - ref.distmat[i]![j]!));
      expect(maxErr).toBeLessThan(2e-5);
      const ours = await evaluate(qm, gm, { pids: qp, camids: qc }, { pids: gp, camids: gc }, { metric, featNorm, threads: 0 });
      expectMatches(ours, ref);
      expect(ours.rank1).toBeGreaterThan(0.3);
    }
  });

  it('the wasm worker product gives the same distances as the in-thread one', async () => {
    const Q = 300, G = 500, D = 64;
    const r = testRandom(11);
    const q = { data: Float32Array.from({ length: Q * D }, () => r() - 0.5), rows: Q, dim: D };
    const g = { data: Float32Array.from({ length: G * D }, () => r() - 0.5), rows: G, dim: D };
    const a = await distanceMatrix(q, g, { metric: 'euclidean', featNorm: true, threads: 0 });
    const b = await distanceMatrix(q, g, { metric: 'euclidean', featNorm: true, threads: 2 });
    let maxErr = 0;
    for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i]! - b[i]!));
    expect(maxErr).toBeLessThan(1e-5);
  });

  it('k-reciprocal re-ranking matches a numpy port of RSB re_ranking.py', async () => {
    const Q = 30, G = 120, D = 16;
    const { qp, qc, gp, gc, r } = randomProblem(5, Q, G, 15, 4);
    const centre = Array.from({ length: 16 }, () => Array.from({ length: D }, () => r() * 2 - 1));
    const feat = (p: number) => centre[p]!.map((c) => c + (r() - 0.5) * 2);
    const qf = qp.map(feat), gf = gp.map(feat);
    const qm = { data: Float32Array.from(qf.flat()), rows: Q, dim: D };
    const gm = { data: Float32Array.from(gf.flat()), rows: G, dim: D };
    const ours = await evaluate(qm, gm, { pids: qp, camids: qc }, { pids: gp, camids: gc }, { metric: 'euclidean', featNorm: true, reRanking: true, threads: 0 });
    const req = { op: 'rerank', qf, gf, k1: 20, k2: 6, lambda: 0.3, feat_norm: true, q_pids: qp, q_camids: qc, g_pids: gp, g_camids: gc };
    const ref64 = runPython<RefResult>('ref_eval.py', { ...req, dtype: 'float64' });
    expectMatches(ours, ref64, 1e-6);
    // The distances themselves, against float64 V/Jaccard (tight) and the reference's float16 (rounding only).
    const ref16 = runPython<RefResult>('ref_eval.py', { ...req, dtype: 'float16' });
    const { distanceMatrix: _d, reRank } = await import('../../main/training/eval/evaluate.js');
    const all = { data: Float32Array.from([...qf.flat(), ...gf.flat()]), rows: Q + G, dim: D };
    const full = await _d(all, all, { metric: 'euclidean', featNorm: true, threads: 0 });
    const rr = reRank(full, Q, Q + G);
    let e64 = 0, e16 = 0;
    for (let i = 0; i < Q; i++)
      for (let j = 0; j < G; j++) {
        e64 = Math.max(e64, Math.abs(rr[i * G + j]! - ref64.distmat[i]![j]!));
        e16 = Math.max(e16, Math.abs(rr[i * G + j]! - ref16.distmat[i]![j]!));
      }
    expect(e64).toBeLessThan(1e-5);
    expect(e16).toBeLessThan(5e-3);
    expect(Math.abs(ours.mAP - ref16.mAP)).toBeLessThan(0.02);
  });

  it('rejects malformed input with a clear message', async () => {
    const f = { data: new Float32Array(6), rows: 2, dim: 3 };
    await expect(evaluate(f, { data: new Float32Array(8), rows: 2, dim: 4 }, { pids: [1, 2], camids: [0, 0] }, { pids: [1, 2], camids: [1, 1] })).rejects.toThrow(/3-d but gallery features are 4-d/);
    await expect(evaluate(f, f, { pids: [1], camids: [0, 0] }, { pids: [1, 2], camids: [1, 1] })).rejects.toThrow(/1 pids for 2 samples/);
    expect(() => evaluateDistmat(new Float32Array([1, 2]), { pids: [1], camids: [0] }, { pids: [1, 2], camids: [0, 0] })).toThrow(/no query has a true match/);
  });

  it('eval.json is written atomically with the contract fields', async () => {
    const r = evaluateDistmat(Float32Array.from([0.1, 0.9, 0.8, 0.2]), { pids: [1, 2], camids: [0, 0] }, { pids: [1, 2], camids: [1, 1] });
    const dir = mkdtempSync(join(tmpdir(), 'reid-evaljson-'));
    try {
      await writeEvalJson(join(dir, 'eval.json'), r, { checkpoint: 'epoch-1' });
      const j = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'));
      expect(j).toMatchObject({ mAP: 1, rank1: 1, rank5: 1, rank10: 1, cmc: [1, 1], numValidQuery: 2, checkpoint: 'epoch-1' });
      expect(readdirSync(dir)).toEqual(['eval.json']);
      expect(formatEvalResult(r)).toMatch(/rank-1\s+100\.0%/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
