/**
 * Benchmark (not a test): `npx tsx bench/eval.ts [--skip-numpy] [--pipeline-only] [--json]`.
 *
 * 1. Evaluation on a Market-1501-sized problem (3,368 queries × 15,913 gallery, 2,048-d, Market-like
 *    pid/camid structure with 2,793 distractors), next to a straightforward numpy version of the
 *    reference evaluation (test/training/ref_eval.py: RSB distances + eval_reid.eval_func) on the same
 *    features; both results are compared.
 * 2. Data pipeline throughput: decode + resize + RSB augmentation at 256×128 with the worker pool, on the
 *    demo dataset (small: 128×64 images, enlarged as Market-1501 crops are), in images/s, with PIL's
 *    bilinear (RSB) and bicubic (fast-reid) resize.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RSB_PREPROCESS } from '../core/format/preprocess.js';
import { loadDataset } from '../main/training/data/datasets.js';
import { writeDemoDataset } from '../main/training/data/demo.js';
import { DataLoaderPool } from '../main/training/data/pipeline.js';
import { Rng } from '../main/training/data/rng.js';
import { RandomIdentitySampler } from '../main/training/data/samplers.js';
import { evaluate } from '../main/training/eval/evaluate.js';
import { features, MARKET, marketLikeLabels } from './_market.js';

const args = new Set(process.argv.slice(2));
const { NQ, NG, D } = MARKET;

async function benchEval() {
  const rng = new Rng(2026);
  const { qp, qc, gp, gc } = marketLikeLabels(rng);
  const centres = new Map<number, Float32Array>();
  const qf = features(rng, qp, centres);
  const gf = features(rng, gp, centres);
  const t0 = performance.now();
  const ours = await evaluate({ data: qf, rows: NQ, dim: D }, { data: gf, rows: NG, dim: D }, { pids: qp, camids: qc }, { pids: gp, camids: gc }, { metric: 'euclidean', featNorm: true });
  const oursSec = (performance.now() - t0) / 1000;
  const res: Record<string, unknown> = { problem: `${NQ}×${NG}×${D}`, oursSeconds: oursSec, oursDistSeconds: ours.timings!.distance, oursRankSeconds: ours.timings!.ranking, mAP: ours.mAP, rank1: ours.rank1, validQueries: ours.numValidQuery };
  if (!args.has('--skip-numpy')) {
    const dir = mkdtempSync(join(tmpdir(), 'reid-bench-'));
    try {
      const w = (name: string, a: Float32Array | Int32Array) => {
        writeFileSync(join(dir, name), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
        return join(dir, name);
      };
      const req = { op: 'bench', dim: D, qf: w('qf', qf), gf: w('gf', gf), qp: w('qp', Int32Array.from(qp)), gp: w('gp', Int32Array.from(gp)), qc: w('qc', Int32Array.from(qc)), gc: w('gc', Int32Array.from(gc)), metric: 'euclidean', feat_norm: true };
      const script = fileURLToPath(new URL('../test/training/ref_eval.py', import.meta.url));
      const out = JSON.parse(execFileSync('/usr/bin/python3', [script], { input: JSON.stringify(req), maxBuffer: 64 << 20, encoding: 'utf8' })) as { seconds: number; distSeconds: number; evalSeconds: number; mAP: number; rank1: number };
      Object.assign(res, {
        numpySeconds: out.seconds,
        numpyDistSeconds: out.distSeconds,
        numpyEvalSeconds: out.evalSeconds,
        speedup: out.seconds / oursSec,
        mAPDiff: Math.abs(out.mAP - ours.mAP),
        rank1Diff: Math.abs(out.rank1 - ours.rank1),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return res;
}

async function benchPipeline() {
  const dir = mkdtempSync(join(tmpdir(), 'reid-bench-data-'));
  try {
    await writeDemoDataset(join(dir, 'demo'), 'small', 1);
    const d = await loadDataset('market1501', join(dir, 'demo'), { verify: false });
    const records = d.train.map((r) => ({ path: r.path, label: r.label }));
    const sampler = new RandomIdentitySampler(records.map((r) => r.label), 16, 4, 0);
    const out: Record<string, number> = {};
    const runs = (['bilinear', 'bicubic'] as const).flatMap((interpolation) => [1, 2].map((workers) => ({ interpolation, workers })));
    for (const { interpolation, workers } of runs) {
      const pool = new DataLoaderPool({ height: 256, width: 128, workers, preprocess: { ...RSB_PREPROCESS, interpolation } });
      try {
        let images = 0;
        // Warm-up epoch (worker start, libvips init), then timed epochs.
        for await (const b of pool.trainBatches(records, sampler.nextEpoch(), { flipProb: 0.5, padding: 10, randomErasingProb: 0.5 }, { seed: 0, epoch: 0 })) void b;
        const t0 = performance.now();
        for (let e = 1; e <= 3; e++)
          for await (const b of pool.trainBatches(records, sampler.nextEpoch(), { flipProb: 0.5, padding: 10, randomErasingProb: 0.5 }, { seed: 0, epoch: e })) images += b.size;
        out[`imagesPerSecond_${workers}worker${workers > 1 ? 's' : ''}${interpolation === 'bicubic' ? '_bicubic' : ''}`] = images / ((performance.now() - t0) / 1000);
      } finally {
        await pool.close();
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loadBefore = (await import('node:os')).loadavg()[0]!;
const evalRes: Awaited<ReturnType<typeof benchEval>> = args.has('--pipeline-only') ? {} : await benchEval();
evalRes.loadAverage1mBefore = loadBefore;
const pipeRes = await benchPipeline();
if (args.has('--json')) process.stdout.write(JSON.stringify({ eval: evalRes, pipeline: pipeRes }, null, 2) + '\n');
else {
  const f = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));
  process.stdout.write('evaluation (Market-1501 size)\n');
  for (const [k, v] of Object.entries(evalRes)) process.stdout.write(`  ${k.padEnd(18)} ${f(v)}\n`);
  process.stdout.write('data pipeline, decode + RSB augmentation at 256×128\n');
  for (const [k, v] of Object.entries(pipeRes)) process.stdout.write(`  ${k.padEnd(28)} ${f(v)}\n`);
}
