/**
 * Eval-mode parity with PyTorch: reference.py builds the presets from RSB's model definitions in PyTorch with
 * seeded random weights and randomised BN running statistics, saves the state_dict with torch.save (zip
 * format) and the expected features; the app imports the `.pth` (readCheckpoint + planLoad), builds the
 * compiled model and must reproduce the features within 1e-4 · max|reference| — on every engine present
 * (test/backends.ts: wasm, the native TensorFlow backends where installed, onnxruntime running the lowered
 * ONNX graph).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../core/index.js';
import { buildModel, disposeModel, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { planLoad, readCheckpoint } from '../../main/weights/index.js';
import { EVAL_ENGINES, evalFeatures, tfjsBackendOf } from '../backends.js';
import { caseDoc, generateFixtures, maxDiff, readF32, type ParityCase } from './fixtures.js';

const base = { numClasses: 11, batch: 2, input: [64, 32] as [number, number] };
const CASES: ParityCase[] = [
  { id: 'r18_bnneck_after_ls1', preset: 'resnet18', neck: 'bnneck', neckFeat: 'after', lastStride: 1, seed: 1, ...base },
  { id: 'r18_no_ls2', preset: 'resnet18', neck: 'no', neckFeat: 'after', lastStride: 2, seed: 2, ...base },
  { id: 'r18_bnneck_before_ls2_128', preset: 'resnet18', neck: 'bnneck', neckFeat: 'before', lastStride: 2, seed: 3, ...base, input: [128, 64] },
  { id: 'r50_bnneck_after_ls1', preset: 'resnet50', neck: 'bnneck', neckFeat: 'after', lastStride: 1, seed: 4, ...base },
  { id: 'r50_bnneck_before_ls2', preset: 'resnet50', neck: 'bnneck', neckFeat: 'before', lastStride: 2, seed: 5, ...base },
  { id: 'r50_no_ls1', preset: 'resnet50', neck: 'no', neckFeat: 'after', lastStride: 1, seed: 6, ...base },
  { id: 'r50ibn_bnneck_after_ls1', preset: 'resnet50_ibn_a', neck: 'bnneck', neckFeat: 'after', lastStride: 1, seed: 7, ...base },
  { id: 'r50ibn_no_ls2', preset: 'resnet50_ibn_a', neck: 'no', neckFeat: 'after', lastStride: 2, seed: 8, ...base },
  { id: 'r50ibn_bnneck_before_ls2', preset: 'resnet50_ibn_a', neck: 'bnneck', neckFeat: 'before', lastStride: 2, seed: 9, ...base },
  { id: 'r18ibn_bnneck_after_ls1', preset: 'resnet18_ibn_a', neck: 'bnneck', neckFeat: 'after', lastStride: 1, seed: 10, ...base },
  { id: 'r50_frozen_backbone', preset: 'resnet50', neck: 'bnneck', neckFeat: 'after', lastStride: 1, seed: 11, freezeBackbone: true, ...base },
];

/*
 * onnxruntime builds a session per case (lowering + graph optimisation, ~2× a wasm case on the 2-core
 * machine): it runs one case of each preset, each neck-feature tap, no neck and last stride 1 and 2,
 * which together hold every operator the lowering emits (IBN-a's InstanceNorm included).
 */
const ORT_CASES = ['r18_no_ls2', 'r18_bnneck_before_ls2_128', 'r50_bnneck_after_ls1', 'r50ibn_bnneck_before_ls2', 'r18ibn_bnneck_after_ls1'];
/*
 * webgpu on SwiftShader (a software rasteriser compiling every kernel's shader on the CPU: about a minute
 * for a resnet18 under load): one ResNet-18 IBN-a case against PyTorch. Every kind's ONNX lowering runs on
 * webgpu alone in test/onnx/webgpu-placement.test.ts, with its node placement.
 */
const WEBGPU_CASES = ['r18ibn_bnneck_after_ls1'];
const casesFor = (engine: string) => (engine === 'onnxruntime' ? ORT_CASES : engine === 'webgpu' ? WEBGPU_CASES : null);

let fx: ReturnType<typeof generateFixtures>;

beforeAll(async () => {
  fx = generateFixtures(CASES);
});
afterAll(() => fx?.cleanup());

/** Features of the case's input on `engine` (a tfjs backend already initialised, or onnxruntime). */
async function runCase(c: ParityCase, engine: (typeof EVAL_ENGINES)[number] | 'cpu'): Promise<{ diff: number; ref: number }> {
  const analysis = analyze(caseDoc(c).graph);
  const { reid, compiled } = await buildModel(analysis);
  try {
    const ckpt = await readCheckpoint(`${fx.dir}/${c.id}.pth`);
    const plan = planLoad(analysis.layers, ckpt, { keepClassifier: true });
    // Every graph slot comes from the file; the only unused keys are num_batches_tracked and base.fc.*.
    expect(plan.report.counts.missing).toBe(0);
    expect(plan.report.counts.mismatched).toBe(0);
    expect(plan.report.skipped.every((s) => /num_batches_tracked$|^base\.fc\./.test(s.key))).toBe(true);
    setWeightsFromValues(reid, analysis.layers, plan.values);
    const got = await evalFeatures(engine, reid, compiled, readF32(`${fx.dir}/${c.id}.input.f32`), c.batch);
    return maxDiff(got, readF32(`${fx.dir}/${c.id}.expected.f32`));
  } finally {
    disposeModel(reid);
  }
}

describe.each(EVAL_ENGINES)('eval-mode parity with PyTorch (%s)', (engine) => {
  beforeAll(async () => {
    expect((await initBackend(tfjsBackendOf(engine))).backend).toBe(tfjsBackendOf(engine));
  });
  for (const c of CASES.filter((c) => casesFor(engine)?.includes(c.id) ?? true))
    it(`${c.id}: features match within 1e-4 · max|ref|`, async () => {
      const { diff, ref } = await runCase(c, engine);
      console.log(`parity ${c.id} (${engine}): max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}, ratio ${(diff / ref).toExponential(2)}`);
      expect(ref).toBeGreaterThan(0.01); // a meaningful, non-degenerate feature
      expect(diff).toBeLessThanOrEqual(1e-4 * ref);
    }, engine === 'webgpu' ? 600_000 : undefined); // SwiftShader compiles each kernel's shader on the CPU: minutes under load
});

describe('eval-mode parity with PyTorch (cpu backend)', () => {
  beforeAll(async () => {
    expect((await initBackend('cpu')).backend).toBe('cpu');
  });
  afterAll(async () => {
    await initBackend('wasm');
  });
  for (const c of CASES.filter((c) => ['r18_bnneck_after_ls1', 'r50ibn_no_ls2'].includes(c.id)))
    it(`${c.id}: features match within 1e-4 · max|ref|`, async () => {
      const { diff, ref } = await runCase(c, 'cpu');
      expect(diff).toBeLessThanOrEqual(1e-4 * ref);
    });
});
