/**
 * A checkpoint written by one training engine resumes on the other (tfjs wasm ↔ onnxruntime): same
 * weight and optimizer keys, same step counts, and the resumed run ends where an uninterrupted
 * onnxruntime run ends (within the engines' float32 rounding differences).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingSettingsSchema } from '../../../core/index.js';
import { loadDataset, type LoadedDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { readCheckpoint } from '../../../main/runs/store/checkpoint.js';
import { RunDir } from '../../../main/runs/store/run-dir.js';
import { train, type TrainEvent } from '../../../main/training/engine/trainer.js';
import { tinyGraph } from './tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'reid-engines-'));
const settings = trainingSettingsSchema.parse({ epochs: 2, batch: { p: 4, k: 4 }, evalPeriod: 2, schedule: { warmup: false, steps: [100] }, optimizer: { name: 'adam', baseLr: 1e-3, weightDecay: 5e-4 }, seed: 5 });
let ds: LoadedDataset;

async function final(runDir: string) {
  const c = await readCheckpoint<{ step: number; optimizer: { step: number } }>(runDir);
  expect(c).not.toBeNull();
  return c!;
}

describe('resume across training engines', () => {
  beforeAll(async () => {
    await writeDemoDataset(join(tmp, 'demo'), 'tiny', 0);
    ds = await loadDataset('market1501', join(tmp, 'demo'), { k: 4 });
  }, 120_000);

  it('wasm → onnxruntime and onnxruntime → wasm resume where an uninterrupted onnxruntime run ends', async () => {
    const doc = tinyGraph(ds.numClasses);
    const starts: string[] = [];
    const onEvent = (e: TrainEvent) => e.type === 'start' && starts.push(e.backend);
    const ref = join(tmp, 'ref');
    await train({ doc, settings, dataset: ds, runDir: ref, backend: 'onnxruntime', onEvent });
    const a = await final(ref);
    for (const [first, second] of [
      ['wasm', 'onnxruntime'],
      ['onnxruntime', 'wasm'],
    ] as const) {
      const dir = join(tmp, `${first}-${second}`);
      await train({ doc, settings, dataset: ds, runDir: dir, backend: first, maxSteps: 3, onEvent });
      expect((await final(dir)).meta.step).toBe(3);
      await train({ doc, settings, dataset: ds, runDir: dir, backend: second, resume: true, onEvent });
      expect((await new RunDir(dir).readJson<{ backend: string }>('run.json'))?.backend).toBe(second);
      const b = await final(dir);
      expect(b.meta.step).toBe(a.meta.step);
      expect(b.meta.optimizer.step).toBe(a.meta.optimizer.step);
      expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
      let worst = 0;
      let worstKey = '';
      for (const [k, t] of a.tensors) {
        const u = b.tensors.get(k)!.data;
        const scale = Math.max(1e-3, ...t.data.map(Math.abs));
        t.data.forEach((x, i) => {
          const d = Math.abs(x - u[i]!) / scale;
          if (d > worst) [worst, worstKey] = [d, k];
        });
      }
      expect(worst, `${first} → ${second}: ${worstKey}`).toBeLessThan(1e-3);
      const evalA = JSON.parse(readFileSync(join(ref, 'eval.json'), 'utf8'));
      const evalB = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'));
      expect(Math.abs(evalB.mAP - evalA.mAP)).toBeLessThan(0.005);
      console.log(`${first} → ${second}: worst relative weight difference to the uninterrupted onnxruntime run ${worst.toExponential(2)} (${worstKey}); mAP ${evalB.mAP.toFixed(4)} vs ${evalA.mAP.toFixed(4)}`);
    }
    expect(starts).toEqual(['onnxruntime', 'wasm', 'onnxruntime', 'onnxruntime', 'wasm']);
  }, 600_000);
});
