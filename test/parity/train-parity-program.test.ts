/**
 * One-SGD-step parity with PyTorch for the one-program training step (core/compile/step-program.ts on
 * main/onnx/step-session.ts) on the CPU engine and on the webgpu engine (SwiftShader here: tiny shapes), with
 * the same fixtures (reference.py: the same weights, the same fixed batch, one plain SGD step, lr 0.1) and
 * the same bounds (train-check.ts) as the other engines' parity test (train-parity.test.ts).
 *
 * The fixtures' loss is CE(logits) + w·mean(global_feat²). The program writes it with the terms the trainer
 * offers: plain CE (ε = 0) plus the center loss with every center at 0 and weight β = w / D, since
 * RSB's center loss Σᵢ ‖fᵢ − c_yᵢ‖² / N with c = 0 is D·mean(f²) for a D-dimensional feature. The program
 * returns the loss terms, not the logits: the loss, every updated parameter and the running statistics
 * are compared (frozen ones must not move at all).
 */
import '../webgpu-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, type Analysis } from '../../core/index.js';
import { OnnxStepSession } from '../../main/onnx/step-session.js';
import type { OrtExecutionProvider } from '../../main/onnx/runtime.js';
import { caseDoc, generateFixtures, readF32, type ParityCase } from './fixtures.js';
import { compareStep, stepFixture, type StepOutcome } from './train-check.js';

const train = { lr: 0.1, labels: [0, 1, 2, 1], featureWeight: 0.1 };
const base = { numClasses: 5, batch: 4, input: [64, 32] as [number, number], train };
const CASES: ParityCase[] = [
  { id: 't_r18_bnneck', preset: 'resnet18', neck: 'bnneck', neckFeat: 'after', lastStride: 2, seed: 21, ...base },
  { id: 't_r18_no', preset: 'resnet18', neck: 'no', neckFeat: 'after', lastStride: 1, seed: 22, ...base },
  { id: 't_r50_frozen', preset: 'resnet50', neck: 'bnneck', neckFeat: 'after', lastStride: 2, seed: 24, freezeBackbone: true, ...base },
  // fast-reid's ResNeSt-50 (split attention: grouped convs, rSoftMax; avd / average-down AvgPool2d; LAST_STRIDE 1:
  // dilated layer4); its reference is test/core/oracle/resnest_modules.py's ResNeSt (reference.py), as on tfjs.
  { id: 't_resnest50', preset: 'resnest50', neck: 'bnneck', neckFeat: 'after', lastStride: 1, seed: 25, ...base },
];

/**
 * The cases each engine is held to. On webgpu (SwiftShader) t_r18_bnneck (last stride 2: layer4 on 2×1 maps,
 * its BatchNorms over 8 values) is outside the bound: measured, its loss is 1.5e-5 from float64 (limit 1.4e-5)
 * and the updates from layer4.1 down are 10–185× PyTorch float32's distance (limit 10×), where the CPU
 * program is within 6.2×; t_r18_no (last stride 1) and t_r50_frozen are within the bound on webgpu too.
 * t_resnest50 runs on the CPU engine only: ResNeSt-50's step on SwiftShader is not measured.
 * Whether that is SwiftShader's float32 arithmetic (WGSL's exp / division / inverseSqrt are not correctly
 * rounded) on an ill-conditioned step or a fault in a WebGPU kernel is open (issue #20).
 */
const CASES_ON: Record<OrtExecutionProvider, string[]> = { cpu: CASES.map((c) => c.id), webgpu: ['t_r18_no', 't_r50_frozen'] };

let fx: ReturnType<typeof generateFixtures>;
beforeAll(() => {
  fx = generateFixtures(CASES);
}, 300_000);
afterAll(() => fx?.cleanup());

/** One plain SGD step of the step program on `ep`. */
async function programStep(c: ParityCase, analysis: Analysis, before: Map<string, Float32Array>, ep: OrtExecutionProvider): Promise<StepOutcome> {
  const compiled = compileToKeras(analysis);
  const dim = analysis.layers.find((l) => l.name === compiled.metadata.roles.trainFeature)!.shape.at(-1)!;
  const session = await OnnxStepSession.create(compiled, before, {
    batch: c.batch,
    threads: 2,
    ep,
    loss: { numClasses: c.numClasses, ceEpsilon: 0, ceWeight: 1, triplet: null, centerWeight: c.train!.featureWeight / dim },
    optimizer: { name: 'sgd', weightDecay: 0, momentum: 0 },
    centerLr: 0,
    centers: new Float32Array(c.numClasses * dim),
  });
  try {
    const r = await session.run(readF32(`${fx.dir}/${c.id}.input.f32`), Int32Array.from(c.train!.labels), c.train!.lr);
    return { loss: r.total, weights: new Map([...before, ...(await session.weightValues())]) };
  } finally {
    await session.release();
  }
}

for (const ep of ['cpu', 'webgpu'] as const)
  describe(`one SGD step of the training program matches PyTorch (${ep} engine)`, () => {
    it.each(CASES.filter((c) => CASES_ON[ep].includes(c.id)).map((c) => [c.id, c] as const))('%s', async (_id, c) => {
      const analysis = analyze(caseDoc(c).graph);
      const fixture = await stepFixture(fx.dir, c, analysis);
      expect(fixture.before.report.counts.missing).toBe(0);
      const out = await programStep(c, analysis, fixture.before.values, ep);
      const { failures, worstRatio, typical } = compareStep(fx.dir, c, analysis, fixture, out);
      expect(failures).toEqual([]);
      console.log(
        `train parity program/${ep} ${c.id}: loss ${out.loss.toFixed(7)}, PyTorch float32 ${fixture.ref.loss.toFixed(7)}, float64 ${fixture.ref.loss64.toFixed(7)}; worst (ours − float64)/(PyTorch float32 − float64) ratio ${worstRatio.toFixed(2)}; PyTorch float32 update distance, upper quartile ${typical.toExponential(2)}`,
      );
    }, 600_000);
  });
