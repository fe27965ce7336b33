/**
 * Every training engine hands over and takes its state in PyTorch layout keyed by state_dict key (the weight
 * store's and the run checkpoint's layout, main/training/engine/engines.ts TrainingEngine):
 *  - a run checkpoint written by the one-program onnxruntime engine, restored into each engine (the
 *    one-program step, the two-session step, tfjs wasm), comes back out of it bit for bit — every weight,
 *    BatchNorm statistic, Adam moment and step count equal to the tensors read from the checkpoint file, and
 *    reading them back leaves the restored center-loss centers in place;
 *  - from that restored state the engines continue alike: two further Adam steps on one batch give the same
 *    losses on every engine (a weight or a moment put in the wrong layout by one engine's edge would change
 *    the second step's loss far beyond float32 rounding);
 *  - a version-1 checkpoint (tfjs slot layout, test/fixtures/checkpoint-v1) restores into the ONNX engines as
 *    the transposes the layouts define (conv HWIO → OIHW, dense [in, out] → Linear [out, in], index by index here);
 *  - exporting a run to ONNX or `.pth` (its checkpoint's PyTorch tensors through the weight store) creates no
 *    TensorFlow.js tensor — counted on tfjs's global tensor ids; the tfjs export, which builds the model, is the
 *    control — and the `.pth` holds the checkpoint's tensors bit for bit.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, seedInitializers, trainingSettingsSchema, type GraphDoc, type TrainingSettings } from '../../../core/index.js';
import { loadDataset, type LoadedDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { readCheckpoint } from '../../../main/runs/store/checkpoint.js';
import { decodeTrainingState, type CheckpointMeta } from '../../../main/runs/store/checkpoint-keys.js';
import { train } from '../../../main/training/engine/trainer.js';
import { trainingEngine, type TrainingEngine } from '../../../main/training/engine/engines.js';
import { deviceMemory } from '../../../main/training/engine/memory.js';
import { sizeClassifier } from '../../../main/training/engine/prepare.js';
import { ReidLoss } from '../../../main/training/losses/index.js';
import { buildFromCompiled, disposeModel, initBackend, setWeightsFromValues, type ReidModel } from '../../../main/tfjs/index.js';
import { freshWeightStore, readCheckpoint as readTorchCheckpoint } from '../../../main/weights/index.js';
import { exportModel } from '../../../main/export/index.js';
import { readExportWeights } from '../../../main/export/weights-source.js';
import { V1_SETTINGS } from '../../fixtures/checkpoint-v1/make.js';
import { tinyGraph } from './tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'reid-engine-state-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const V1 = new URL('../../fixtures/checkpoint-v1/run', import.meta.url).pathname;
const settings = trainingSettingsSchema.parse({ epochs: 1, batch: { p: 4, k: 4 }, evalPeriod: 1, schedule: { warmup: false, steps: [100] }, optimizer: { name: 'adam', baseLr: 1e-3, weightDecay: 5e-4 }, seed: 7 });
let ds: LoadedDataset;
beforeAll(async () => {
  await writeDemoDataset(join(tmp, 'demo'), 'tiny', 0);
  ds = await loadDataset('market1501', join(tmp, 'demo'), { k: 4 });
  await initBackend('wasm');
}, 120_000);

type Kind = 'program' | 'two-session' | 'wasm';
type Saved = NonNullable<Awaited<ReturnType<typeof readCheckpoint<CheckpointMeta>>>>;

/** An engine as the trainer makes it (fresh seeded store, the run's loss), `two-session` by a user micro-batch the one-program step refuses. */
async function engineFor(kind: Kind, doc: GraphDoc, s: TrainingSettings): Promise<{ engine: TrainingEngine; loss: ReidLoss; dispose(): Promise<void> }> {
  const analysis = analyze(doc.graph);
  const compiled = seedInitializers(compileToKeras(analysis), s.seed);
  const store = freshWeightStore(compiled);
  const featDim = analysis.layers.find((l) => l.name === analysis.outputs.trainFeature)!.shape[0]!;
  const loss = new ReidLoss(s, ds.numClasses, featDim);
  let reid: ReidModel | undefined;
  const batch = s.batch.p * s.batch.k;
  const engine = await trainingEngine(
    {
      store,
      model: async () => {
        reid = await buildFromCompiled(compiled);
        setWeightsFromValues(reid, analysis.layers, store.tfjsValues());
        return reid;
      },
      compiled,
      analysis,
      loss,
      optimizer: { name: s.optimizer.name, weightDecay: s.optimizer.weightDecay },
      batch,
      tfjsBackend: 'wasm',
      memory: deviceMemory('wasm'),
      pk: s.batch,
      ...(kind === 'two-session' ? { microBatchOverride: batch } : {}),
    },
    kind === 'wasm' ? 'wasm' : 'onnxruntime',
  );
  expect(engine.name).toBe(kind === 'wasm' ? 'wasm' : 'onnxruntime');
  expect(engine.microBatch).toBe(batch);
  if (kind !== 'wasm') expect(engine.reason).toMatch(kind === 'program' ? /one ONNX program/ : /forward and backward sessions/);
  return {
    engine,
    loss,
    dispose: async () => {
      await engine.dispose();
      loss.dispose();
      if (reid) disposeModel(reid);
    },
  };
}

/** Restores a decoded checkpoint into the engine as the trainer's resume does. */
async function restore(e: { engine: TrainingEngine; loss: ReidLoss }, layers: Parameters<typeof decodeTrainingState>[0], saved: Saved): Promise<void> {
  const state = decodeTrainingState(layers, saved);
  await e.engine.setWeightValues(state.weights);
  e.engine.setOptimizerState(state.optimizer);
  if (state.centers && e.loss.center) e.loss.center.centers.assign(tf.tensor(state.centers.data, state.centers.shape));
}

const same = (a: Float32Array | undefined, b: Float32Array) => !!a && a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

describe('engine state in PyTorch layout', () => {
  let doc: GraphDoc;
  let saved: Saved;
  beforeAll(async () => {
    doc = sizeClassifier(tinyGraph(ds.numClasses), ds.numClasses);
    const dir = join(tmp, 'run');
    await train({ doc, settings, dataset: ds, runDir: dir, backend: 'onnxruntime', maxSteps: 3 });
    saved = (await readCheckpoint<CheckpointMeta>(dir))!;
    expect(saved.meta.step).toBe(3);
  }, 300_000);

  it('a checkpoint restored into each engine comes back out bit for bit, and the engines continue with the same losses', async () => {
    const layers = analyze(doc.graph).layers;
    const [h, w] = [32, 16];
    const images = Float32Array.from({ length: 16 * h * w * 3 }, (_, i) => Math.sin(i * 0.37) * 1.5);
    const labels = Int32Array.from({ length: 16 }, (_, i) => Math.floor(i / 4));
    const losses: Record<string, number[]> = {};
    for (const kind of ['program', 'two-session', 'wasm'] as const) {
      const e = await engineFor(kind, doc, settings);
      try {
        await restore(e, layers, saved);
        const weights = await e.engine.weightValues();
        expect([...weights.keys()].sort()).toEqual([...saved.meta.weightKeys].sort());
        // Reading the state back leaves the restored center-loss centers in place (the loss holds them).
        expect(e.loss.center, 'the run trains a center loss').toBeTruthy();
        expect(same((await e.loss.center!.centers.data()) as Float32Array, saved.tensors.get('center')!.data), `${kind}: centers`).toBe(true);
        for (const k of saved.meta.weightKeys) expect(same(weights.get(k), saved.tensors.get(k)!.data), `${kind}: ${k}`).toBe(true);
        const opt = await e.engine.optimizerState();
        expect(opt.step).toBe(saved.meta.optimizer.step);
        expect(Object.keys(opt.slots).sort()).toEqual([...saved.meta.optimizer.slotNames].sort());
        for (const k of saved.meta.optimizer.slotNames)
          for (const i of [0, 1]) expect(same(opt.slots[k]![i], saved.tensors.get(`o:${k}:${i}`)!.data), `${kind}: moment ${i} of ${k}`).toBe(true);
        for (const [k, n] of Object.entries(opt.steps ?? {})) expect(n, `${kind}: steps of ${k}`).toBe(saved.meta.optimizer.steps![k]);
        losses[kind] = [];
        for (let i = 0; i < 2; i++) {
          const r = await e.engine.step(images, labels, 0.05);
          losses[kind]!.push(r.loss);
        }
      } finally {
        await e.dispose();
      }
    }
    const ref = losses.program!;
    console.log(`losses of two steps after the restore: ${JSON.stringify(losses)}`);
    // A large step (lr 0.05): the second loss depends on the restored moments through the first update.
    expect(Math.abs(ref[1]! - ref[0]!)).toBeGreaterThan(1e-3 * ref[0]!);
    for (const kind of ['two-session', 'wasm'])
      losses[kind]!.forEach((l, i) => expect(Math.abs(l - ref[i]!), `${kind} step ${i + 1}`).toBeLessThan(1e-4 * ref[i]!));
  }, 300_000);

  it('exporting the run to ONNX or .pth creates no TensorFlow.js tensor; the tfjs export does', async () => {
    // As the CLI and the service export a run: its checkpoint's PyTorch tensors into the store.
    const { torch } = await readExportWeights(join(tmp, 'run'), analyze(doc.graph).layers);
    expect(torch).toBeDefined();
    const out = (format: string) => join(tmp, `export-${format}${format === 'onnx' ? '.onnx' : ''}`);
    // Tensor ids are one global counter: the tensors tfjs created during a call are the ids it used.
    const nextId = () => {
      const t = tf.scalar(0);
      t.dispose();
      return t.id;
    };
    const tensorsMade = async (format: string) => {
      const start = nextId();
      await exportModel(doc, format, out(format), { torchWeights: torch! });
      return nextId() - start - 1;
    };
    expect(await tensorsMade('onnx')).toBe(0);
    expect(await tensorsMade('pytorch')).toBe(0);
    // The control: the tfjs export builds the model, a tensor per weight slot at least.
    expect(await tensorsMade('tfjs')).toBeGreaterThanOrEqual(saved.meta.weightKeys.length);
    // The .pth holds the checkpoint's tensors, bit for bit (RSB's off-path modules aside).
    const pth = (await readTorchCheckpoint(join(out('pytorch'), 'model.pth'))).tensors;
    for (const k of saved.meta.weightKeys) expect(same(pth.get(k)?.data, saved.tensors.get(k)!.data), k).toBe(true);
  }, 300_000);
});

describe('a version-1 checkpoint (tfjs slot layout)', () => {
  it.each(['program', 'two-session'] as const)('restores into the %s engine as the transposes of its tensors', async (kind) => {
    const v1doc = JSON.parse(readFileSync(join(V1, 'graph.json'), 'utf8')) as GraphDoc;
    const saved = (await readCheckpoint<CheckpointMeta>(V1))!;
    expect(saved.meta.layout).toBeUndefined();
    const s = trainingSettingsSchema.parse(V1_SETTINGS);
    const doc = sizeClassifier(v1doc, ds.numClasses);
    const e = await engineFor(kind, doc, s);
    try {
      await restore(e, analyze(doc.graph).layers, saved);
      const weights = await e.engine.weightValues();
      // conv: PyTorch OIHW [o][i][h][w] = tfjs HWIO [h][w][i][o].
      const hwio = saved.tensors.get('w:base.layer1.0.conv2/kernel')!.data;
      const oihw = weights.get('base.layer1.0.conv2.weight')!;
      const [O, I, H, W] = [16, 16, 3, 3];
      expect(oihw.length).toBe(O * I * H * W);
      let bad = 0;
      for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (oihw[((o * I + i) * H + y) * W + x] !== hwio[((y * W + x) * I + i) * O + o]) bad++;
      expect(bad).toBe(0);
      // Adam's first moment of the classifier: Linear [out, in] = dense [in, out] transposed.
      const dense = saved.tensors.get('o:classifier/kernel:0')!.data;
      const linear = (await e.engine.optimizerState()).slots['classifier.weight']![0]!;
      const K = ds.numClasses;
      for (let r = 0; r < K; r++) for (let c = 0; c < 16; c++) if (linear[r * 16 + c] !== dense[c * K + r]) bad++;
      expect(bad).toBe(0);
      expect(same(weights.get('bottleneck.running_var'), saved.tensors.get('w:bottleneck/moving_variance')!.data)).toBe(true);
    } finally {
      await e.dispose();
    }
  }, 300_000);
});
