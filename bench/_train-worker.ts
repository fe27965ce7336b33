/**
 * One measurement in a fresh process (bench/backends.ts spawns it): the app's own training images/s — the
 * trainer's real path (`train()` in main/training/engine/trainer.ts: the demo dataset's JPEGs decoded and
 * augmented by the data-loader pool, the P×K sampler, the engine's step, metrics written to the run folder)
 * — on a preset at 256×128 with P×K batches, SGD (momentum 0.9, weight decay 5e-4), CE with label smoothing +
 * batch-hard triplet (margin 0.3). The engine is `--backend` (`onnxruntime`: the one-program step on the CPU
 * EP with REID_STUDIO_ORT_THREADS threads). Prints one JSON line: median seconds (wall and this process's CPU)
 * between consecutive step events after `--warmup` steps (so the data pipeline's waits count), and the bytes
 * the engine measured crossing per step (as the run log states them).
 *
 *   node --import tsx bench/_train-worker.ts --model resnet50 --steps 6 [--batch 4,4] [--input 256x128] [--backend onnxruntime] [--data DIR]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPreset, trainingSettingsSchema } from '../core/index.js';
import { loadDataset } from '../main/training/data/datasets.js';
import { writeDemoDataset } from '../main/training/data/demo.js';
import { train, type TrainEvent } from '../main/training/engine/trainer.js';

const arg = (k: string, d?: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? process.argv[i + 1]! : d!;
};
const preset = arg('model', 'resnet50');
const steps = Number(arg('steps', '6'));
const warmup = Number(arg('warmup', '2'));
const [p, k] = arg('batch', '4,4').split(',').map(Number) as [number, number];
const [H, W] = arg('input', '256x128').split('x').map(Number) as [number, number];
const backend = arg('backend', 'onnxruntime');

const tmp = mkdtempSync(join(tmpdir(), 'reid-bench-train-'));
try {
  const dataDir = process.argv.includes('--data') ? arg('data') : join(tmp, 'demo');
  if (!process.argv.includes('--data')) await writeDemoDataset(dataDir, 'tiny', 0);
  const dataset = await loadDataset('market1501', dataDir, { k });
  const doc = buildPreset(preset, { input: [H, W], numClasses: dataset.numClasses });
  const settings = trainingSettingsSchema.parse({
    epochs: 1000,
    batch: { p, k },
    evalPeriod: 1000,
    checkpointPeriod: 1000,
    loss: { labelSmooth: true, metric: 'triplet', margin: 0.3 },
    optimizer: { name: 'sgd', baseLr: 0.01, weightDecay: 5e-4, momentum: 0.9 },
    schedule: { warmup: false, steps: [1000] },
    seed: 1,
  });
  const times: number[] = [];
  const cpu: number[] = [];
  let lastCpu = process.cpuUsage();
  let start: Extract<TrainEvent, { type: 'start' }> | undefined;
  let last = 0;
  const runDir = join(tmp, 'run');
  await train({
    doc,
    settings,
    dataset,
    runDir,
    backend: backend as never,
    maxSteps: steps,
    checkpointEverySteps: 1_000_000,
    onEvent: (e) => {
      if (e.type === 'start') start = e;
      if (e.type !== 'step') return;
      const now = performance.now();
      const c = process.cpuUsage(lastCpu);
      if (e.step > warmup) {
        times.push((now - last) / 1000);
        cpu.push((c.user + c.system) / 1e6);
      }
      last = now;
      lastCpu = process.cpuUsage();
    },
  });
  const log = readFileSync(join(runDir, 'train.log'), 'utf8');
  // The engine's own measurement of the bytes that crossed in its second step (steady state), from the run log.
  const m = [...log.matchAll(/bytes per step \(measured, step (\d+)\): (\d+) in, (\d+) out — (.*)/g)].at(-1);
  const bytes = m ? { step: Number(m[1]), in: Number(m[2]), out: Number(m[3]), what: m[4] } : undefined;
  const median = [...times].sort((a, b) => a - b)[times.length >> 1]!;
  // CPU seconds of this process (onnxruntime's threads and the data-loader workers) between step events.
  const cpuMedian = [...cpu].sort((a, b) => a - b)[cpu.length >> 1]!;
  const batch = p * k;
  process.stdout.write(
    JSON.stringify({ ok: true, backend: start?.backend, preset, mode: 'train-run', batch, steps: times.length, secondsPerIter: median, imagesPerSecond: batch / median, cpuSecondsPerIter: cpuMedian, imagesPerCpuSecond: batch / cpuMedian, bytesPerStep: bytes, microBatchReason: start?.microBatchReason, log }) + '\n',
  );
  process.exit(0);
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, preset, error: String((e as Error)?.message ?? e).split('\n')[0] }) + '\n');
  process.exit(1);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
