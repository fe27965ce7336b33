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
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, applyCommand, buildPreset, compileToKeras, freezeBackbone, weightSpecs, type GraphDoc } from '../../core/index.js';
import { exportModelFolder } from '../../main/export/cli.js';
import { writeCheckpoint as writeRunCheckpoint } from '../../main/runs/store/checkpoint.js';
import { weightKey } from '../../main/runs/store/checkpoint-keys.js';
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
    // RSB key layout: exactly the reference Baseline's keys, its unused ImageNet head (base.fc) included.
    expect(r.referenceUnexpected).toEqual([]);
    expect(r.referenceMissing).toEqual([]); // RSB's unused base.fc.* is written too: a strict load into RSB's Baseline succeeds
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

const CUSTOM: { id: string; doc: () => GraphDoc; evalDim: number }[] = [
  { id: 'custom', doc: () => customDoc([64, 32], 7), evalDim: 512 },
  // BNNeck in training mode (BatchNorm1d on a batch of 2), eval feature before the neck, frozen backbone.
  { id: 'r18ibn_before_frozen', doc: () => applyCommand(buildPreset('resnet18_ibn_a', { input: [64, 32], numClasses: 7, neckFeat: 'before', lastStride: 2 }), freezeBackbone(true)), evalDim: 512 },
];

describe('pytorch export: custom graphs the YAML formats refuse', () => {
  for (const g of CUSTOM)
    it(`${g.id}: eval features, training-mode outputs and updated BN statistics match the app`, async () => {
      const doc = g.doc();
      const analysis = analyze(doc.graph);
      expect(analysis.ok).toBe(true);
      const layers = compileToKeras(analysis).layers;
      const weights = randomWeights(layers, 5);
      const [n, h, w] = [2, 64, 32];
      const input = randomInput(n, h, w, 3, 9);
      const inputPath = join(work, `${g.id}.input.f32`);
      writeFileSync(inputPath, new Uint8Array(input.buffer));

      const out = join(work, g.id);
      const outDir = join(work, `${g.id}-out`);
      const res = await exportModel(doc, 'pytorch', out, { weights });
      expect(res.weights.set).toBe(res.weights.slots);
      const r = runCheck({ export: out, input: inputPath, shape: [n, h, w, 3], out: outDir, train: true }, work);

      // Keys: exactly the app's torch keys (weight-specs), in layer order.
      const specs = layers.flatMap((l) => weightSpecs(l).map((s) => ({ l, s })));
      expect(r.fileKeys).toEqual(specs.map(({ s }) => s.torchKey));
      if (g.id === 'custom') {
        // Nested modules, IBN-a only in layer2, no neck, learnable GeM p, the extra head.
        for (const k of ['base.layer1.0.bn1.weight', 'base.layer2.1.bn1.IN.bias', 'base.layer2.1.bn1.BN.running_mean', 'base.layer3.0.bn1.weight', 'head.conv.bias', 'head.inorm.weight', 'pool.p', 'classifier.bias'])
          expect(r.fileKeys).toContain(k);
        expect(r.fileKeys.some((k) => k.startsWith('bottleneck.') || k.includes('layer3.0.bn1.IN') || k.includes('layer1.0.bn1.IN'))).toBe(false);
        expect(layers.filter((l) => l.frozen).every((l) => l.name.startsWith('base.layer3.'))).toBe(true);
      }
      // Parameters without gradient: frozen layers and the BNNeck shift, as in the app (weight-specs' trainable).
      const noGrad = specs.filter(({ s }) => !s.buffer && !s.trainable).map(({ s }) => s.torchKey);
      expect(noGrad.length).toBeGreaterThan(0);
      expect(r.noGrad).toEqual(noGrad);
      // Frozen statistics: those BNs (IBN-a: both halves) stay in eval mode in model.train().
      const evalModules = layers.flatMap((l) => (!l.statsFrozen ? [] : l.kind === 'batch_norm' ? [l.name] : l.kind === 'ibn_a' ? [`${l.name}.IN`, `${l.name}.BN`] : []));
      expect(evalModules.length).toBeGreaterThan(0);
      expect(r.evalModeInTraining).toEqual(evalModules.sort());
      expect(r.evalShape).toEqual([2, g.evalDim]);
      expect(r.trainShapes).toEqual([[2, 7], [2, 512]]);

      const { reid } = await buildModel(analysis);
      try {
        setWeightsFromValues(reid, layers, weights);
        const x = tf.tensor4d(input, [n, h, w, 3]);
        const f = forwardEval(reid, x);
        expectClose(`${g.id} eval: model.py vs app`, readF32(join(outDir, 'eval.f32')), (await f.data()) as Float32Array);
        const t = forwardTrain(reid, x);
        expectClose(`${g.id} train logits`, readF32(join(outDir, 'train.logits.f32')), (await t.logits.data()) as Float32Array);
        expectClose(`${g.id} train feature`, readF32(join(outDir, 'train.feature.f32')), (await t.feature.data()) as Float32Array);
        tf.dispose([x, f, t.logits, t.feature]);

        // Running statistics after the training-mode pass: updated (momentum 0.1, unbiased variance) except
        // in the frozen stage, identically in both.
        const after = exportStateDict(layers, await getWeightValues(reid, layers));
        const torchAfter = (await readCheckpoint(join(outDir, 'after.pth'))).tensors;
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
          const frozen = layers.find((l) => l.name === layer)!.statsFrozen;
          const unchanged = maxDiff(t.data, before).diff === 0;
          expect(unchanged, `${key} ${frozen ? 'frozen: must not change' : 'must be updated'}`).toBe(frozen);
        }
        console.log(`export parity ${g.id} running stats: ${stats} tensors, worst max|Δ|/max(|ref|,1) = ${worst.toExponential(2)}`);
      } finally {
        disposeModel(reid);
      }
    });
});

describe('pytorch export from a training run folder', () => {
  it('--weights RUN_DIR: the run checkpoint\'s weights reach model.pth bit for bit', async () => {
    const doc = buildPreset('resnet18', { input: [64, 32], numClasses: 5 });
    const layers = compileToKeras(analyze(doc.graph)).layers;
    const weights = randomWeights(layers, 77);
    const runDir = join(work, 'run');
    mkdirSync(runDir);
    const tensors = new Map([...weights].map(([k, v]) => [weightKey(k), { shape: [v.length], data: v }]));
    await writeRunCheckpoint(runDir, { tensors, meta: { weightKeys: [...weights.keys()], step: 3 } });
    const out = join(work, 'from-run');
    const r = await exportModelFolder('pytorch', doc, { out, weights: runDir });
    expect(r).toEqual({ ok: true, written: true, warnings: [] });
    const back = planLoad(layers, await readCheckpoint(join(out, 'model.pth')), { keepClassifier: true });
    expect(back.report.counts.missing).toBe(0);
    expect(back.values.size).toBe(weights.size);
    for (const [k, v] of weights) expect(Buffer.from(back.values.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
    const empty = join(work, 'empty-run');
    mkdirSync(empty);
    expect(await exportModelFolder('pytorch', doc, { out: join(work, 'never'), weights: empty })).toEqual({
      ok: false,
      reasons: [`${empty} is a folder without a run checkpoint (pass a training run folder or a .pth / .safetensors file)`],
    });
  });
});
