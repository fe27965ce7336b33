/**
 * Run checkpoints in PyTorch layout (main/runs/store/checkpoint-keys.ts, checkpoint version 2):
 *  - a real training run's checkpoint holds the model under the state_dict keys and shapes of the framework's
 *    own model (reid-strong-baseline's Baseline for resnet18: test/fixtures/frameworks/rsb-state-dicts.json,
 *    written by make_rsb_state_dicts.py from RSB's code), and each trained parameter's optimizer moments under
 *    the same key with the same shape;
 *  - a run checkpointed by the code before the change (test/fixtures/checkpoint-v1: tfjs slot layout, written
 *    by its make.ts) is read by the codec as the transposes the layouts define (conv HWIO → OIHW, dense
 *    [in, out] → Linear [out, in], index by index here), resumes to the same final state as an uninterrupted
 *    run of today's code, and evaluates as it is.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, trainingSettingsSchema, type GraphDoc } from '../../../core/index.js';
import { loadDataset, type LoadedDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { CHECKPOINT_VERSION, readCheckpoint } from '../../../main/runs/store/checkpoint.js';
import { decodeRunWeights, decodeTrainingState, encodeTrainingState, PYTORCH_LAYOUT, type CheckpointMeta } from '../../../main/runs/store/checkpoint-keys.js';
import { train } from '../../../main/training/engine/trainer.js';
import { evaluateRun } from '../../../main/training/engine/evaluate-run.js';
import { sizeClassifier } from '../../../main/training/engine/prepare.js';
import { V1_SETTINGS, V1_STEPS } from '../../fixtures/checkpoint-v1/make.js';

const tmp = mkdtempSync(join(tmpdir(), 'reid-ckpt-layout-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FIXTURE = new URL('../../fixtures/checkpoint-v1/run', import.meta.url).pathname;
const RSB = JSON.parse(readFileSync(new URL('../../fixtures/frameworks/rsb-state-dicts.json', import.meta.url), 'utf8')).models as Record<string, Record<string, number[]>>;

let ds: LoadedDataset;
beforeAll(async () => {
  await writeDemoDataset(join(tmp, 'demo'), 'tiny', 0);
  ds = await loadDataset('market1501', join(tmp, 'demo'), { k: 4 });
}, 120_000);

type Saved = NonNullable<Awaited<ReturnType<typeof readCheckpoint<CheckpointMeta>>>>;
const read = async (dir: string): Promise<Saved> => (await readCheckpoint<CheckpointMeta>(dir))!;
const manifestVersion = (dir: string) => JSON.parse(readFileSync(join(dir, 'checkpoint', 'manifest.json'), 'utf8')).version as number;
const copyFixture = (name: string) => {
  const dir = join(tmp, name);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
};

describe('run checkpoints in PyTorch layout', () => {
  it("a resnet18 run's checkpoint: the model under RSB Baseline's state_dict keys and shapes, moments keyed and shaped alike", async () => {
    const doc = buildPreset('resnet18', { input: [64, 32], numClasses: ds.numClasses });
    const settings = trainingSettingsSchema.parse({ ...V1_SETTINGS, epochs: 1 });
    const dir = join(tmp, 'r18');
    await train({ doc, settings, dataset: ds, runDir: dir, backend: 'onnxruntime', maxSteps: 1 });
    expect(manifestVersion(dir)).toBe(CHECKPOINT_VERSION);
    const saved = await read(dir);
    expect(saved.meta.layout).toBe(PYTORCH_LAYOUT);
    const shapes = Object.fromEntries(saved.meta.weightKeys.map((k) => [k, saved.tensors.get(k)!.shape]));
    // RSB's Baseline was built for Market-1501's 751 identities; the run sizes its classifier from the dataset.
    const want: Record<string, number[]> = { ...RSB.resnet18!, 'classifier.weight': [ds.numClasses, 512] };
    expect(Object.keys(shapes).sort()).toEqual(Object.keys(want).sort());
    for (const [k, s] of Object.entries(want)) expect(shapes[k], k).toEqual(s);
    // torch.optim keeps state per parameter: every trained parameter has its Adam moments — not the running
    // statistics, nor the BNNeck's bias, which RSB freezes (modeling/baseline.py `bottleneck.bias.requires_grad_(False)`,
    // and solver/build.py make_optimizer skips parameters without requires_grad).
    const params = Object.keys(want).filter((k) => !/running_(mean|var)$/.test(k) && k !== 'bottleneck.bias');
    expect([...saved.meta.optimizer.slotNames].sort()).toEqual(params.sort());
    for (const k of params) for (const i of [0, 1]) expect(saved.tensors.get(`o:${k}:${i}`)?.shape, `${k} moment ${i}`).toEqual(want[k]);
    expect(saved.tensors.get('center')!.shape).toEqual([ds.numClasses, 512]);
  }, 300_000);

  it('a version-1 checkpoint (tfjs slot layout) reads as the transposes the layouts define', async () => {
    const saved = await read(FIXTURE);
    expect(manifestVersion(FIXTURE)).toBe(1);
    expect(saved.meta.layout).toBeUndefined();
    const doc = JSON.parse(readFileSync(join(FIXTURE, 'graph.json'), 'utf8')) as GraphDoc;
    const layers = analyze(doc.graph).layers;
    const v2 = encodeTrainingState(layers, decodeTrainingState(layers, saved));
    // conv: PyTorch OIHW [o][i][h][w] = tfjs HWIO [h][w][i][o].
    const hwio = saved.tensors.get('w:base.layer1.0.conv2/kernel')!.data;
    const oihw = v2.tensors.get('base.layer1.0.conv2.weight')!;
    expect(oihw.shape).toEqual([16, 16, 3, 3]);
    const [O, I, H, W] = oihw.shape as [number, number, number, number];
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) expect(oihw.data[((o * I + i) * H + h) * W + w]).toBe(hwio[((h * W + w) * I + i) * O + o]);
    // Adam's second moment of the classifier: Linear [out, in] = dense [in, out] transposed.
    const dense = saved.tensors.get('o:classifier/kernel:1')!.data;
    const linear = v2.tensors.get('o:classifier.weight:1')!;
    expect(linear.shape).toEqual([ds.numClasses, 16]);
    for (let r = 0; r < ds.numClasses; r++) for (let c = 0; c < 16; c++) expect(linear.data[r * 16 + c]).toBe(dense[c * ds.numClasses + r]);
    // Vectors (BN weights, running statistics) and the centers are the same values under the state_dict key.
    expect([...v2.tensors.get('bottleneck.running_var')!.data]).toEqual([...saved.tensors.get('w:bottleneck/moving_variance')!.data]);
    expect([...v2.tensors.get('base.layer1.0.bn1.IN.weight')!.data]).toEqual([...saved.tensors.get('w:base.layer1.0.bn1/in_gamma')!.data]);
    expect(v2.tensors.get('center')).toEqual(saved.tensors.get('center'));
    expect(Object.keys(v2.meta.optimizer.steps!).sort()).toEqual([...v2.meta.optimizer.slotNames].sort());
    expect(new Set(Object.values(v2.meta.optimizer.steps!))).toEqual(new Set([V1_STEPS]));
    // The run-folder reader gives the same weights from both layouts.
    const fromV1 = decodeRunWeights(layers, saved);
    const fromV2 = decodeRunWeights(layers, v2);
    expect([...fromV2.values.keys()].sort()).toEqual([...fromV1.values.keys()].sort());
    for (const [k, v] of fromV1.values) expect(fromV2.values.get(k), k).toEqual(v);
  });

  it("a run checkpointed in the old layout resumes to an uninterrupted run's final state (now written in PyTorch layout) and evaluates", async () => {
    const doc = JSON.parse(readFileSync(join(FIXTURE, 'graph.json'), 'utf8')) as GraphDoc;
    const settings = trainingSettingsSchema.parse(V1_SETTINGS);
    // Evaluating the old run folder as it is (no resume).
    const old = copyFixture('v1-eval');
    const ev = await evaluateRun({ doc, settings, dataset: ds, runDir: old, backend: 'onnxruntime' });
    expect(ev.weights).toMatchObject({ source: 'checkpoint', step: V1_STEPS });
    expect(ev.mAP).toBeGreaterThan(0);
    // Resuming it to the end, against the same run uninterrupted.
    const resumed = copyFixture('v1-resume');
    await train({ doc, settings, dataset: ds, runDir: resumed, backend: 'onnxruntime', resume: true });
    const whole = join(tmp, 'uninterrupted');
    await train({ doc: sizeClassifier(doc, ds.numClasses), settings, dataset: ds, runDir: whole, backend: 'onnxruntime' });
    const [a, b] = [await read(whole), await read(resumed)];
    expect(b.meta.layout).toBe(PYTORCH_LAYOUT);
    expect(b.meta.step).toBe(a.meta.step);
    expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    let maxDiff = 0;
    for (const [k, t] of a.tensors) t.data.forEach((x, i) => (maxDiff = Math.max(maxDiff, Math.abs(x - b.tensors.get(k)!.data[i]!))));
    expect(maxDiff).toBeLessThan(1e-5);
    const evalOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')).mAP as number;
    expect(evalOf(resumed)).toBeCloseTo(evalOf(whole), 6);
  }, 600_000);
});
