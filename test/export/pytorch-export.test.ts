/**
 * The `pytorch` export, checked in PyTorch (Debian's python3-torch): the exported model.py + model.pth are
 * loaded with plain torch (`load_state_dict(strict=True)`) and must compute the app's features within
 * 1e-4 · max|reference|.
 *  - resnet50_ibn_a with BNNeck: weights from test/parity/reference.py (an independent PyTorch Baseline
 *    written from the spec, seeded random weights and calibrated BN statistics) loaded into the app, then
 *    exported. The export must reproduce the app's features, and the reference Baseline must accept the
 *    exported .pth (RSB key layout) and reproduce them too.
 *  - A custom graph the YAML formats refuse (IBN-a only in layer2, frozen layer3, neck 'no', conv+BN+ReLU+IN
 *    head with a residual add, ceil-mode max pool, learnable GeM): eval features, training-mode outputs
 *    (logits, train feature) and the BN running statistics after one training-mode forward pass.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, weightSpecs } from '../../core/index.js';
import { exportModel } from '../../main/export/index.js';
import { buildModel, disposeModel, forwardEval, forwardTrain, getWeightValues, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { exportStateDict, planLoad, readCheckpoint } from '../../main/weights/index.js';
import { caseDoc, generateFixtures, maxDiff, PYTHON, readF32, type ParityCase } from '../parity/fixtures.js';
import { customDoc, randomInput, randomWeights } from './graphs.js';

const CHECK = fileURLToPath(new URL('./check_pytorch.py', import.meta.url));
const PARITY_DIR = fileURLToPath(new URL('../parity/', import.meta.url));

interface Report {
  torch: string;
  fileKeys: string[];
  modelKeys: string[];
  noGrad: string[];
  params: number;
  dtypes: string[];
  evalShape: number[];
  evalModeInTraining?: string[];
  trainShapes?: number[][];
  referenceMissing?: string[];
  referenceUnexpected?: string[];
}

function runCheck(spec: Record<string, unknown>, dir: string): Report {
  const path = join(dir, 'check.json');
  writeFileSync(path, JSON.stringify(spec));
  const out = execFileSync(PYTHON, [CHECK, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 240_000 });
  return JSON.parse(out) as Report;
}

function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>): number {
  const { diff, ref } = maxDiff(got, want);
  console.log(`export parity ${name}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}, ratio ${(diff / ref).toExponential(2)}`);
  expect(ref).toBeGreaterThan(0.01);
  expect(diff).toBeLessThanOrEqual(1e-4 * ref);
  return diff / ref;
}

let work: string;
beforeAll(async () => {
  expect((await initBackend('wasm')).backend).toBe('wasm');
  work = mkdtempSync(join(tmpdir(), 'reid-export-pt-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('pytorch export: resnet50_ibn_a with BNNeck', () => {
  const c: ParityCase = { id: 'export_r50ibn', preset: 'resnet50_ibn_a', neck: 'bnneck', neckFeat: 'after', lastStride: 1, numClasses: 11, input: [64, 32], batch: 2, seed: 41 };
  let fx: ReturnType<typeof generateFixtures>;
  beforeAll(() => {
    fx = generateFixtures([c]);
  });
  afterAll(() => fx?.cleanup());

  it('model.py + model.pth load strictly in PyTorch and give the app\'s features; the RSB Baseline accepts the .pth', async () => {
    const doc = caseDoc(c);
    const analysis = analyze(doc.graph);
    const plan = planLoad(analysis.layers, await readCheckpoint(join(fx.dir, `${c.id}.pth`)), { keepClassifier: true });
    expect(plan.report.counts.missing).toBe(0);
    expect(plan.report.counts.mismatched).toBe(0);
    const { reid } = await buildModel(analysis);
    const [h, w] = c.input;
    const inputPath = join(fx.dir, `${c.id}.input.f32`);
    let app: Float32Array;
    try {
      setWeightsFromValues(reid, analysis.layers, plan.values);
      const x = tf.tensor4d(readF32(inputPath), [c.batch, h, w, 3]);
      const f = forwardEval(reid, x);
      app = (await f.data()) as Float32Array;
      tf.dispose([x, f]);
    } finally {
      disposeModel(reid);
    }

    const out = join(work, 'r50ibn');
    const res = await exportModel(doc, 'pytorch', out, { weights: plan.values, title: 'resnet50_ibn_a' });
    expect(res.files).toEqual(['model.py', 'model.pth']);
    expect(res.weights.set).toBe(res.weights.slots);
    expect(res.warnings).toEqual([]);

    const reference = { dir: PARITY_DIR, preset: c.preset, numClasses: c.numClasses, lastStride: c.lastStride, neck: c.neck, neckFeat: c.neckFeat };
    const r = runCheck({ export: out, input: inputPath, shape: [c.batch, h, w, 3], out: join(work, 'r50ibn-out'), reference }, work);
    // RSB key layout: exactly the reference Baseline's keys except its unused ImageNet head (base.fc).
    expect(r.referenceUnexpected).toEqual([]);
    expect(r.referenceMissing!.sort()).toEqual(['base.fc.bias', 'base.fc.weight']);
    expect([...r.fileKeys].sort()).toEqual([...r.modelKeys].sort());
    expect(r.fileKeys).toContain('base.layer1.0.bn1.IN.weight');
    expect(r.fileKeys).toContain('base.layer3.5.bn1.BN.running_var');
    expect(r.fileKeys).toContain('base.layer4.0.bn1.running_mean'); // layer4 stays BN
    expect(r.fileKeys).not.toContain('base.layer4.0.bn1.IN.weight');
    expect(r.fileKeys).toContain('bottleneck.weight');
    expect(r.fileKeys).toContain('classifier.weight');
    expect(r.fileKeys).not.toContain('classifier.bias');
    expect(r.dtypes).toEqual(['torch.float32']);
    expect(r.noGrad).toEqual(['bottleneck.bias']); // BNNeck: no shift
    expect(r.evalShape).toEqual([2, 2048]);
    expect(r.params).toBe(analysis.totals.params);

    const exported = readF32(join(work, 'r50ibn-out', 'eval.f32'));
    expectClose('r50ibn model.py vs app', exported, app!);
    expectClose('r50ibn RSB Baseline with exported .pth vs app', readF32(join(work, 'r50ibn-out', 'reference.f32')), app!);
    expectClose('r50ibn model.py vs original PyTorch features', exported, readF32(join(fx.dir, `${c.id}.expected.f32`)));
  });
});

describe('pytorch export: a custom graph the YAML formats refuse', () => {
  it('eval features, training-mode outputs and updated BN statistics match the app', async () => {
    const doc = customDoc([64, 32], 7);
    const analysis = analyze(doc.graph);
    expect(analysis.ok).toBe(true);
    const layers = compileToKeras(analysis).layers;
    const weights = randomWeights(layers, 5);
    const [n, h, w] = [2, 64, 32];
    const input = randomInput(n, h, w, 3, 9);
    const inputPath = join(work, 'custom.input.f32');
    writeFileSync(inputPath, new Uint8Array(input.buffer));

    const out = join(work, 'custom');
    const res = await exportModel(doc, 'pytorch', out, { weights });
    expect(res.weights.set).toBe(res.weights.slots);
    const r = runCheck({ export: out, input: inputPath, shape: [n, h, w, 3], out: join(work, 'custom-out'), train: true }, work);

    // Keys: exactly the app's torch keys (weight-specs), nested modules, no neck, learnable GeM p.
    const specs = layers.flatMap((l) => weightSpecs(l).map((s) => ({ l, s })));
    expect(r.fileKeys).toEqual(specs.map(({ s }) => s.torchKey));
    for (const k of ['base.layer1.0.bn1.weight', 'base.layer2.1.bn1.IN.bias', 'base.layer2.1.bn1.BN.running_mean', 'base.layer3.0.bn1.weight', 'head.conv.bias', 'head.inorm.weight', 'pool.p', 'classifier.bias'])
      expect(r.fileKeys).toContain(k);
    expect(r.fileKeys.some((k) => k.startsWith('bottleneck.') || k.includes('layer3.0.bn1.IN') || k.includes('layer1.0.bn1.IN'))).toBe(false);
    // Frozen stage: its parameters take no gradient and its BNs stay in eval mode in model.train().
    const frozenParams = specs.filter(({ l, s }) => l.frozen && !s.buffer).map(({ s }) => s.torchKey);
    expect(frozenParams.length).toBeGreaterThan(0);
    expect(frozenParams.every((k) => k.startsWith('base.layer3.'))).toBe(true);
    expect(r.noGrad).toEqual(frozenParams);
    expect(r.evalModeInTraining).toEqual(layers.filter((l) => l.statsFrozen && l.kind === 'batch_norm').map((l) => l.name).sort());
    expect(r.evalShape).toEqual([2, 512]);
    expect(r.trainShapes).toEqual([[2, 7], [2, 512]]);

    const { reid } = await buildModel(analysis);
    try {
      setWeightsFromValues(reid, layers, weights);
      const x = tf.tensor4d(input, [n, h, w, 3]);
      const f = forwardEval(reid, x);
      expectClose('custom eval: model.py vs app', readF32(join(work, 'custom-out', 'eval.f32')), (await f.data()) as Float32Array);
      const t = forwardTrain(reid, x);
      expectClose('custom train logits', readF32(join(work, 'custom-out', 'train.logits.f32')), (await t.logits.data()) as Float32Array);
      expectClose('custom train feature', readF32(join(work, 'custom-out', 'train.feature.f32')), (await t.feature.data()) as Float32Array);
      tf.dispose([x, f, t.logits, t.feature]);

      // Running statistics after the training-mode pass: updated (momentum 0.1, unbiased variance) except
      // in the frozen stage, identically in both.
      const after = exportStateDict(layers, await getWeightValues(reid, layers));
      const torchAfter = (await readCheckpoint(join(work, 'custom-out', 'after.pth'))).tensors;
      let worst = 0;
      let stats = 0;
      for (const [key, t] of after) {
        if (!/running_(mean|var)$/.test(key)) continue;
        const pt = torchAfter.get(key);
        expect(pt, key).toBeDefined();
        const { diff, ref } = maxDiff(t.data, pt!.data);
        expect(diff, key).toBeLessThanOrEqual(1e-4 * Math.max(ref, 1));
        worst = Math.max(worst, diff / Math.max(ref, 1));
        stats++;
        const layer = key.replace(/\.(BN\.)?running_(mean|var)$/, '');
        const slot = `${layer}/${key.includes('.BN.') ? 'bn_' : ''}moving_${key.endsWith('mean') ? 'mean' : 'variance'}`;
        const before = weights.get(slot)!;
        const unchanged = maxDiff(t.data, before).diff === 0;
        expect(unchanged, `${key} ${layer.startsWith('base.layer3.') ? 'frozen: must not change' : 'must be updated'}`).toBe(layer.startsWith('base.layer3.'));
      }
      console.log(`export parity custom running stats: ${stats} tensors, worst max|Δ|/max(|ref|,1) = ${worst.toExponential(2)}`);
    } finally {
      disposeModel(reid);
    }
  });
});
