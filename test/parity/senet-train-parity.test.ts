/**
 * One-SGD-step parity with PyTorch for reid-strong-baseline's SENet presets (core/presets/senet.ts: SE
 * modules, SE-ResNeXt's 32-group 3×3 convolutions) on the one-program training step (core/compile/step-program.ts
 * on main/onnx/step-session.ts, the CPU engine), with the fixtures (reference.py: the same weights, the same
 * fixed batch, one plain SGD step, lr 0.1, float32 and float64) and the bounds (train-check.ts) of the other
 * engines' parity tests. The reference model is RSB's Baseline with senet_reference.py's SENet, written from
 * RSB's modeling/backbones/senet.py (SEModule, SEResNetBottleneck, SEResNeXtBottleneck, layer0 with the
 * ceil-mode MaxPool), LAST_STRIDE 1 as the presets' default, 64×32 input (layer4's map 4×2), BNNeck.
 *
 *  - se_resnext50_32x4d: the whole preset (stages of 3, 4, 6, 3 blocks);
 *  - se_resnet50: a reduced-depth variant built from the same definitions (blocks per stage [2, 1, 1, 1]
 *    in the preset's graph and in the reference), which keeps every block kind — the 7×7 stem and its
 *    ceil-mode max pool, each stage's first block with its 1×1 downsample (stride on conv1, SE-ResNet's
 *    Caffe form), an identity block, the SE module — at half the run time.
 *
 * A wrong gradient in the SE gate (the Sigmoid rule with its y·(1 − y) factor dropped, swapped into the rule
 * table for one step) is outside the bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type GraphDoc } from '../../core/index.js';
import { OP_RULES } from '../../core/compile/grad/index.js';
import { caseDoc, generateFixtures, type ParityCase } from './fixtures.js';
import { programStep } from './program-step.js';
import { compareStepWithTies, stepFixture } from './train-check.js';

/** A case of reference.py; `senetLayers`: blocks per stage of a reduced-depth variant (both sides). */
type SenetCase = ParityCase & { senetLayers?: [number, number, number, number] };
const train = { lr: 0.1, labels: [0, 1, 2, 1], featureWeight: 0.1 };
const base = { numClasses: 5, batch: 4, input: [64, 32] as [number, number], neck: 'bnneck', neckFeat: 'after', lastStride: 1, train } as const;
const CASES: SenetCase[] = [
  { id: 't_se_resnext50', preset: 'se_resnext50_32x4d', seed: 26, ...base },
  { id: 't_se_resnet50_2111', preset: 'se_resnet50', seed: 27, senetLayers: [2, 1, 1, 1], ...base },
];

/** The case's preset graph, with `senetLayers` blocks per se_stage (layer1 … layer4) when given. */
function senetDoc(c: SenetCase): GraphDoc {
  const doc = caseDoc(c);
  const layers = c.senetLayers;
  if (!layers) return doc;
  const nodes = doc.graph.nodes.map((n) => (n.kind === 'se_stage' ? { ...n, params: { ...n.params, blocks: layers[Number(n.id.slice('layer'.length)) - 1]! } } : n));
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
  const out = await programStep(fx.dir, c, analysis, fixture.before.values, 'cpu');
  return { fixture, out, ...(await compareStepWithTies(fx.dir, c, analysis, fixture, out)) };
}

describe('one SGD step of the RSB SENet presets on the training program matches PyTorch (cpu engine)', () => {
  it.each(CASES.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const { fixture, out, failures, worstRatio, typical, reference } = await step(c);
    expect(failures).toEqual([]);
    console.log(
      `train parity SENet program/cpu ${c.id}: loss ${out.loss.toFixed(7)}, PyTorch float32 ${fixture.ref.loss.toFixed(7)}, float64 ${fixture.ref.loss64.toFixed(7)}; within the bounds of the ${reference}; worst (ours − float64)/(PyTorch float32 − float64) ratio ${worstRatio.toFixed(2)}; PyTorch float32 update distance, upper quartile ${typical.toExponential(2)}`,
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
