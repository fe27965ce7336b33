/**
 * RSB's SENet family against its published definition: senet_reference.py builds reid-strong-baseline's
 * Baseline with an SE-ResNet-50 / SE-ResNeXt-50 (32×4d) base (modeling/backbones/senet.py, written out in
 * plain PyTorch), seeded random weights and calibrated BN statistics, and saves its state_dict (RSB key
 * names: base.layer0.conv1, base.layer1.0.se_module.fc1, …) and eval features. The app's preset must load
 * that state_dict with nothing missing or unexpected (num_batches_tracked aside) and reproduce the
 * features within 1e-4 · max|reference| (tfjs, grouped convolutions and SE modules included); the backbone
 * in the ImageNet layout RSB's SENet.load_param reads (layer0.conv1.weight …, last_linear.*) fills `base.*`.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, SENET_PRESET_NAMES } from '../../core/index.js';
import { buildModel, disposeModel, forwardEval, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { planLoad, readCheckpoint } from '../../main/weights/index.js';
import { maxDiff, PYTHON, readF32 } from './fixtures.js';

const REF = fileURLToPath(new URL('./senet_reference.py', import.meta.url));
const INPUT: [number, number] = [64, 32];
const CASES = [
  { id: 'se_resnet50', preset: 'se_resnet50', arch: 'se_resnet50', seed: 21 },
  { id: 'se_resnext50', preset: 'se_resnext50_32x4d', arch: 'se_resnext50', seed: 22 },
];
const NUM_CLASSES = 9;

let dir = '';
beforeAll(async () => {
  await initBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'reid-senet-'));
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify(CASES.map((c) => ({ id: c.id, arch: c.arch, seed: c.seed, input: INPUT, last_stride: 1, num_classes: NUM_CLASSES }))));
  execFileSync(PYTHON, [REF, spec, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("RSB SENet presets against reid-strong-baseline's senet.py", () => {
  it('lists the six RSB SENet presets', () => {
    expect([...SENET_PRESET_NAMES].sort()).toEqual(['se_resnet101', 'se_resnet152', 'se_resnet50', 'se_resnext101_32x4d', 'se_resnext50_32x4d', 'senet154']);
    for (const name of SENET_PRESET_NAMES) expect(analyze(buildPreset(name, { input: INPUT }).graph).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it.each(CASES)('$preset: RSB state_dict loads with nothing missing or unexpected, features within 1e-4 · max|ref|', async (c) => {
    const analysis = analyze(buildPreset(c.preset, { input: INPUT, numClasses: NUM_CLASSES, lastStride: 1 }).graph);
    const { reid } = await buildModel(analysis);
    try {
      const plan = planLoad(analysis.layers, await readCheckpoint(join(dir, `${c.id}.pth`)), { keepClassifier: true });
      expect(plan.report.missing.map((m) => m.key)).toEqual([]);
      expect(plan.report.mismatched.map((m) => m.key)).toEqual([]);
      expect(plan.report.skipped.map((s) => s.key).filter((k) => !k.endsWith('.num_batches_tracked'))).toEqual([]);
      expect(plan.report.loaded.some((e) => /^base\.layer1\.0\.se_module\.fc1\.weight$/.test(e.key))).toBe(true);
      // The ImageNet layout (RSB SENet.load_param's pretrained file): the whole backbone, last_linear unused.
      const imagenet = planLoad(analysis.layers, await readCheckpoint(join(dir, `${c.id}.imagenet.pth`)));
      expect(imagenet.report.loaded.filter((e) => !e.key.startsWith('base.')).map((e) => e.key)).toEqual([]);
      expect(imagenet.report.missing.filter((m) => m.key.startsWith('base.')).map((m) => m.key)).toEqual([]);
      expect(imagenet.report.skipped.map((s) => s.key).filter((k) => !k.endsWith('.num_batches_tracked')).sort()).toEqual(['last_linear.bias', 'last_linear.weight']);
      expect(imagenet.values.get('base.layer0.conv1/kernel')).toEqual(plan.values.get('base.layer0.conv1/kernel'));
      setWeightsFromValues(reid, analysis.layers, plan.values);
      const x = readF32(join(dir, `${c.id}.input.f32`));
      const want = readF32(join(dir, `${c.id}.expected.f32`));
      const y = tf.tidy(() => forwardEval(reid, tf.tensor4d(x, [2, INPUT[0], INPUT[1], 3])));
      const got = (await y.data()) as Float32Array;
      y.dispose();
      const { diff, ref } = maxDiff(got, want);
      console.log(`${c.preset}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
      expect(ref).toBeGreaterThan(0.01);
      expect(diff).toBeLessThanOrEqual(1e-4 * ref);
    } finally {
      disposeModel(reid);
    }
  });
});
