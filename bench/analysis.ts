/**
 * Benchmark (not a test): `npx tsx bench/analysis.ts [--json]` (or `npm run bench -- analysis`).
 *
 * The analyses of one evaluation (issue #23) on a Market-1501-sized synthetic problem (3,368 queries ×
 * 15,913 gallery, 2,048-d features, Market-like pids / cameras: bench/_market.ts): thresholds (ROC, AUC,
 * TPR@FPR, distance histograms: main/training/eval/roc.ts) and the per-camera-pair grid
 * (main/training/eval/camera-pairs.ts) on the evaluation's cosine distance matrix — target ≤ 5 s together —
 * and the embedding map of all 19,281 query + gallery features (main/training/eval/projection.ts, in its
 * worker thread; the CPU seconds are the worker's wall time here as it is single-threaded) — target ≤ 60 s.
 * `--no-projection` skips the map.
 */
import { loadavg } from 'node:os';
import { Rng } from '../main/training/data/rng.js';
import { cameraPairGrid } from '../main/training/eval/camera-pairs.js';
import { distanceMatrix } from '../main/training/eval/distance.js';
import { projectFeatures } from '../main/training/eval/projection.js';
import { thresholdAnalysis } from '../main/training/eval/roc.js';
import { features, MARKET, marketLikeLabels } from './_market.js';

const { NQ, NG, D } = MARKET;
const json = process.argv.includes('--json');
const res: Record<string, unknown> = { problem: `${NQ}×${NG}×${D}`, loadAverage1mBefore: loadavg()[0] };
const rng = new Rng(2026);
const { qp, qc, gp, gc } = marketLikeLabels(rng);
const centres = new Map<number, Float32Array>();
const qf = features(rng, qp, centres);
const gf = features(rng, gp, centres);
const t = performance.now();
const distmat = await distanceMatrix({ data: qf, rows: NQ, dim: D }, { data: gf, rows: NG, dim: D }, { metric: 'cosine', featNorm: true });
res.distanceSeconds = (performance.now() - t) / 1000;
const q = { pids: qp, camids: qc };
const g = { pids: gp, camids: gc };
// Wall-clock and this process's CPU seconds (the machine is shared: wall time includes waiting for a core).
const timed = <T>(name: string, f: () => T): T => {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = f();
  const c = process.cpuUsage(c0);
  res[`${name}Seconds`] = (performance.now() - t0) / 1000;
  res[`${name}CpuSeconds`] = (c.user + c.system) / 1e6;
  return out;
};
const th = timed('thresholds', () => thresholdAnalysis(distmat, q, g));
const grid = timed('cameraPairs', () => cameraPairGrid(distmat, q, g));
res.analysisSeconds = (res.thresholdsSeconds as number) + (res.cameraPairsSeconds as number);
Object.assign(res, { pairs: th.roc.numPositive + th.roc.numNegative, rocPoints: th.roc.numPoints, auc: th.roc.auc, cells: grid.cells.length });
th.tprAtFpr.forEach((x) => (res[`tpr@fpr=${x.fpr}`] = `${x.tpr.toFixed(4)} (d ≤ ${x.threshold.toFixed(4)})`));
if (!process.argv.includes('--no-projection')) {
  const all = new Float32Array(qf.length + gf.length);
  all.set(qf);
  all.set(gf, qf.length);
  const stages: Record<string, number> = {};
  const t0 = performance.now();
  let last = t0;
  let stage = '';
  const p = await projectFeatures({ data: all, rows: NQ + NG, dim: D }, {
    seed: 0,
    onProgress: (x) => {
      const now = performance.now();
      if (x.stage !== stage) {
        if (stage) stages[stage] = (now - last) / 1000;
        stage = x.stage;
        last = now;
      }
    },
  });
  stages[stage] = (performance.now() - last) / 1000;
  res.projectionSeconds = (performance.now() - t0) / 1000;
  res.projectionPoints = p.xy.length / 2;
  res.projectionEpochs = p.epochs;
  for (const [k, v] of Object.entries(stages)) res[`projection_${k}Seconds`] = v;
  res.loadAverage1mAfter = loadavg()[0];
}
if (json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
else {
  process.stdout.write('evaluation analyses (Market-1501 size; target: thresholds + camera pairs ≤ 5 s)\n');
  for (const [k, v] of Object.entries(res)) process.stdout.write(`  ${k.padEnd(22)} ${typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(4) : String(v)}\n`);
}
