/**
 * The onnxruntime engines train from the run's weight store (main/weights/store.ts) and never build the tfjs
 * model: observed through TensorFlow.js's own tensor count while the run trains and evaluates. A built tfjs
 * model holds at least one tensor per weight slot; the ONNX run holds only the loss's (the center-loss
 * centers) — and the same observation on a tfjs run sees the model, so the check can fail. Pretrained weights
 * (a `.pth` PyTorch writes) reach every engine through the store: after one Adam step each parameter is within
 * the step's size of the file's value, and the frozen BNNeck bias equals it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, trainingSettingsSchema, weightSpecs } from '../../../core/index.js';
import { loadDataset, type LoadedDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { train, type TrainEvent } from '../../../main/training/engine/trainer.js';
import { readCheckpoint as readRunCheckpoint } from '../../../main/runs/store/checkpoint.js';
import { readCheckpoint as readTorchCheckpoint } from '../../../main/weights/index.js';
import { PYTHON } from '../../parity/fixtures.js';
import { tinyGraph } from './tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'reid-no-tfjs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let ds: LoadedDataset;
beforeAll(async () => {
  await writeDemoDataset(join(tmp, 'demo'), 'tiny', 0);
  ds = await loadDataset('market1501', join(tmp, 'demo'), { k: 4 });
}, 120_000);

const settings = trainingSettingsSchema.parse({ epochs: 1, batch: { p: 4, k: 4 }, evalPeriod: 1, schedule: { warmup: false, steps: [100] }, optimizer: { baseLr: 1e-3 }, seed: 3 });

/** The most tfjs tensors alive at any event of a run on `backend` (a step, the evaluation), and the run's engine. */
async function tensorsDuring(backend: 'onnxruntime' | 'wasm', name: string): Promise<{ most: number; engine: string; events: string[] }> {
  let most = 0;
  let engine = '';
  const events: string[] = [];
  const onEvent = (e: TrainEvent) => {
    if (e.type === 'start') engine = e.backend;
    events.push(e.type);
    most = Math.max(most, tf.memory().numTensors);
  };
  await train({ doc: tinyGraph(ds.numClasses), settings, dataset: ds, runDir: join(tmp, name), backend, onEvent });
  return { most, engine, events };
}

describe('training on onnxruntime builds no tfjs model', () => {
  it('a run on onnxruntime (steps and its evaluation) holds fewer tfjs tensors than the model has weight slots; one on tfjs holds them all', async () => {
    const slots = analyze(tinyGraph(ds.numClasses).graph).layers.reduce((n, l) => n + weightSpecs(l).length, 0);
    expect(slots).toBeGreaterThan(20);
    const before = tf.memory().numTensors;
    const onnx = await tensorsDuring('onnxruntime', 'onnx');
    expect(onnx.engine).toBe('onnxruntime');
    expect(onnx.events).toContain('eval');
    expect(onnx.most - before).toBeLessThan(slots);
    const tfjs = await tensorsDuring('wasm', 'tfjs');
    expect(tfjs.engine).toBe('wasm');
    expect(tfjs.most - before).toBeGreaterThanOrEqual(slots);
  }, 600_000);
});

describe('pretrained weights reach the engines through the store', () => {
  it.each(['onnxruntime', 'wasm'] as const)('%s: one Adam step from a .pth PyTorch wrote moves each parameter by at most the step size; the load report is written', async (backend) => {
    const doc = tinyGraph(ds.numClasses);
    const specs = analyze(doc.graph).layers.flatMap((l) => weightSpecs(l)).filter((w) => !w.torchKey.startsWith('classifier.'));
    const pth = join(tmp, `pretrained-${backend}.pth`);
    writeFileSync(join(tmp, 'shapes.json'), JSON.stringify(Object.fromEntries(specs.map((w) => [w.torchKey, w.torchShape]))));
    // Values far from any initialisation: a ramp over each tensor (running variances kept positive).
    const script = [
      'import json, sys, torch',
      'shapes = json.load(open(sys.argv[1]))',
      "sd = {k: (torch.linspace(0.5, 1.5, int(torch.tensor(s).prod())) if k.endswith('running_var') else torch.linspace(-0.3, 0.3, int(torch.tensor(s).prod()))).reshape(s) for k, s in shapes.items()}",
      'torch.save(sd, sys.argv[2])',
    ].join('\n');
    execFileSync(PYTHON, ['-c', script, join(tmp, 'shapes.json'), pth], { timeout: 120_000 });
    const file = (await readTorchCheckpoint(pth)).tensors;
    const lr = 1e-3;
    const dir = join(tmp, `pretrained-run-${backend}`);
    await train({ doc, settings: trainingSettingsSchema.parse({ ...settings, optimizer: { baseLr: lr } }), dataset: ds, runDir: dir, backend, weights: pth, maxSteps: 1 });
    const saved = (await readRunCheckpoint<{ weightKeys: string[] }>(dir))!;
    const report = JSON.parse(readFileSync(join(dir, 'load-report.json'), 'utf8')) as { loaded: unknown[] };
    expect(report.loaded.length).toBe(specs.length);
    for (const w of specs.filter((x) => x.trainable && !x.buffer)) {
      const got = saved.tensors.get(w.torchKey)!.data;
      const want = file.get(w.torchKey)!.data;
      // Adam's first update is lr · g / (|g| + ε) per element (weight decay folded into g): at most lr.
      let most = 0;
      got.forEach((x, i) => (most = Math.max(most, Math.abs(x - want[i]!))));
      expect(most, w.torchKey).toBeLessThanOrEqual(lr * 1.001);
    }
    expect([...saved.tensors.get('bottleneck.bias')!.data]).toEqual([...file.get('bottleneck.bias')!.data]);
  }, 300_000);
});
