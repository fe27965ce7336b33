/**
 * The onnxruntime engines train from the run's weight store (main/weights/store.ts) and never build the tfjs
 * model: observed through TensorFlow.js's own tensor count while the run trains and evaluates. A built tfjs
 * model holds at least one tensor per weight slot; the ONNX run holds only the loss's (the center-loss
 * centers) — and the same observation on a tfjs run sees the model, so the check can fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, trainingSettingsSchema, weightSpecs } from '../../../core/index.js';
import { loadDataset, type LoadedDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { train, type TrainEvent } from '../../../main/training/engine/trainer.js';
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
