/**
 * One-SGD-step parity with PyTorch for reid-strong-baseline's SENet presets (core/presets/senet.ts: SE
 * modules, SE-ResNeXt's 32-group 3×3 convolutions) on the one-program training step (core/compile/step-program.ts
 * on main/onnx/step-session.ts), with the fixtures (reference.py: the same weights, the same fixed batch, one
 * plain SGD step, lr 0.1, float32 and float64) and the bounds (train-check.ts, ReLU ties included) of the
 * other engines' parity tests. The reference model is RSB's Baseline with senet_reference.py's SENet, written
 * from RSB's modeling/backbones/senet.py (SEModule, SEResNetBottleneck, SEResNeXtBottleneck, layer0 with the
 * ceil-mode MaxPool; check_senet_reference.py shows it equal to RSB's own code), LAST_STRIDE 1 as the
 * presets' default, BNNeck.
 *
 *  - CPU engine, se_resnext50_32x4d: the whole preset (stages of 3, 4, 6, 3 blocks), 64×32 (layer4's map 4×2);
 *  - CPU engine, se_resnet50 and webgpu engine (SwiftShader: tiny shapes), se_resnext50_32x4d: variants
 *    built from the same definitions on both sides, blocks per stage [2, 1, 1, 1] and planes [16, 32, 32, 64]
 *    (RSB: 64, 128, 256, 512; SE-ResNeXt keeps its 32 groups, 1–2 channels each), which keep every block
 *    kind — the 7×7 stem and its ceil-mode max pool, each stage's first block with its 1×1 downsample
 *    (SE-ResNet: stride on conv1, SE-ResNeXt: on the grouped conv2), an identity block, the SE module — at a
 *    fraction of the run time; the webgpu one at 32×16 (layer4's map 2×1).
 *
 * A wrong gradient in the SE gate (the Sigmoid rule with its y·(1 − y) factor dropped, swapped into the rule
 * table for one step) is outside the bounds.
 */
import '../webgpu-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type GraphDoc } from '../../core/index.js';
import { OP_RULES } from '../../core/compile/grad/index.js';
import type { OrtExecutionProvider } from '../../main/onnx/runtime.js';
import { caseDoc, generateFixtures, type ParityCase } from './fixtures.js';
import { programStep } from './program-step.js';
import { compareStepWithTies, stepFixture } from './train-check.js';

type Stages = [number, number, number, number];
/** A case of reference.py; `senet`: blocks per stage (`layers`) and planes per stage (`planes`) of a reduced variant (both sides). */
type SenetCase = ParityCase & { senet?: { layers?: Stages; planes?: Stages }; ep: OrtExecutionProvider };
const train = { lr: 0.1, labels: [0, 1, 2, 1], featureWeight: 0.1 };
const base = { numClasses: 5, batch: 4, input: [64, 32] as [number, number], neck: 'bnneck', neckFeat: 'after', lastStride: 1, train } as const;
const SMALL = { layers: [2, 1, 1, 1], planes: [16, 32, 32, 64] } as { layers: Stages; planes: Stages };
const CASES: SenetCase[] = [
  { id: 't_se_resnext50', preset: 'se_resnext50_32x4d', seed: 26, ep: 'cpu', ...base },
  { id: 't_se_resnet50_small', preset: 'se_resnet50', seed: 27, senet: SMALL, ep: 'cpu', ...base },
  { id: 'w_se_resnext50_small', preset: 'se_resnext50_32x4d', seed: 28, senet: SMALL, ep: 'webgpu', ...base, input: [32, 16], train: { ...train, reluTies: true } },
];

/** The case's preset graph, with `senet`'s blocks and planes per se_stage (layer1 … layer4) where given. */
function senetDoc(c: SenetCase): GraphDoc {
  const doc = caseDoc(c);
  const { layers, planes } = c.senet ?? {};
  const stage = (id: string) => Number(id.slice('layer'.length)) - 1;
  const nodes = doc.graph.nodes.map((n) =>
    n.kind === 'se_stage' ? { ...n, params: { ...n.params, ...(layers ? { blocks: layers[stage(n.id)]! } : {}), ...(planes ? { planes: planes[stage(n.id)]! } : {}) } } : n,
  );
  return { ...doc, graph: { ...doc.graph, nodes } };
}

let fx: ReturnType<typeof generateFixtures>;
beforeAll(() => {
  fx = generateFixtures(CASES);
}, 300_000);
afterAll(() => fx?.cleanup());

/** The case's fixture and our program's step from its initial weights, compared with train-check.ts's bounds. */
async function step(c: SenetCase) {
  const analysis = analyze(senetDoc(c).graph);
  expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const fixture = await stepFixture(fx.dir, c, analysis);
  expect(fixture.before.report.counts).toMatchObject({ missing: 0, mismatched: 0 });
  const out = await programStep(fx.dir, c, analysis, fixture.before, c.ep);
  return { fixture, out, ...(await compareStepWithTies(fx.dir, c, analysis, fixture, out)) };
}

describe('one SGD step of the RSB SENet presets on the training program matches PyTorch', () => {
  it.each(CASES.map((c) => [`${c.id} (${c.ep} engine)`, c] as const))('%s', async (_id, c) => {
    const { fixture, out, failures, worstRatio, typical, reference } = await step(c);
    expect(failures).toEqual([]);
    console.log(
      `train parity SENet program/${c.ep} ${c.id}: loss ${out.loss.toFixed(7)}, PyTorch float32 ${fixture.ref.loss.toFixed(7)}, float64 ${fixture.ref.loss64.toFixed(7)}; within the bounds of the ${reference}; worst (ours − float64)/(PyTorch float32 − float64) ratio ${worstRatio.toFixed(2)}; PyTorch float32 update distance, upper quartile ${typical.toExponential(2)}`,
    );
  }, 300_000);

  it("a Sigmoid gradient without its y·(1 − y) factor (the SE gate's) is outside the bounds", async () => {
    const right = OP_RULES.Sigmoid!;
    OP_RULES.Sigmoid = { ...right, grad: (_n, dy) => [dy(0)] };
    try {
      const { failures, reference } = await step(CASES[1]!);
      expect(reference).toBeNull();
      expect(failures.some((f) => /se_module/.test(f))).toBe(true);
      console.log(`SE gate with the Sigmoid's y·(1 − y) dropped: ${failures.length} failures, first ${failures[0]}`);
    } finally {
      OP_RULES.Sigmoid = right;
    }
  }, 300_000);
});
