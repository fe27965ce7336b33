/**
 * One-SGD-step parity with PyTorch for fast-reid's MGN (core/presets/mgn.ts) on the one-program training step
 * (core/compile/step-program.ts with the per-head losses of step-loss.ts, main/onnx/step-session.ts) on the
 * CPU engine. The graph is tiny.ts tinyMgn (the preset's structure — trunk, three branches, 2- and 3-stripe
 * chunks, eight EmbeddingHeads — at a fraction of its width, 48×16 input: layer3's map is 3×1), once with the
 * heads' global average pool and once with fast-reid's GeM with a trainable p (the preset's pool). The reference is mgn_step_reference.py: the same MGN written in PyTorch from fast-reid's
 * published definitions (mgn.py, embedding_head.py, resnet.py's IBN bottleneck, the CE and triplet losses)
 * with fast-reid's module names; its seeded initial weights load into our graph through the fast-reid
 * checkpoint layout (nothing missing), and it takes one plain SGD step (lr 0.1, no momentum, no weight decay)
 * in float32 and float64 on the same batch and labels.
 *
 * The loss is fast-reid's MGN losses(): Σ over the eight heads 0.125 · CE (eps 0: plain CE) plus Σ over b1,
 * b2, b3, [b21, b22], [b31, b32, b33] 0.2 · triplet (batch-hard, Euclidean, MARGIN 0 = soft margin, Base-MGN's
 * own setting; features after the BNNeck), CE.SCALE = TRI.SCALE = 1; the classifiers are fast-reid's `Linear`
 * (scale 1). The loss, every updated parameter and every running statistic are held to train-check.ts's
 * bounds (multiples of PyTorch float32's own distance to float64); the BNNeck shifts (bias_freeze) must not
 * move at all. A wrong head factor (b33's CE × 0.25) is outside them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, type GraphDoc } from '../../core/index.js';
import { OnnxStepSession } from '../../main/onnx/step-session.js';
import { torchToTfjsValues, WeightStore } from '../../main/weights/index.js';
import { tinyMgn } from '../training/engine/tiny.js';
import { generateFixtures, readF32, type ParityCase } from './fixtures.js';
import { compareStepWithTies, stepFixture } from './train-check.js';

const SCRIPT = new URL('./mgn_step_reference.py', import.meta.url).pathname;
const CLASSES = 5;
const train = { lr: 0.1, labels: [0, 0, 1, 1], featureWeight: 0 };
const base: Omit<ParityCase, 'id' | 'seed'> = { preset: 'fastreid_mgn_R50-ibn', neck: 'bnneck', neckFeat: 'after', lastStride: 1, numClasses: CLASSES, input: [48, 16], batch: 4, train };
// The heads' pool: global average, and fast-reid's GeM with a trainable p (Base-MGN's POOL_LAYER, the preset's).
const CASES: (ParityCase & { pool: 'avg' | 'gemP' })[] = [
  { id: 't_mgn_avg', pool: 'avg', seed: 31, ...base },
  { id: 't_mgn_gemp', pool: 'gemP', seed: 32, ...base },
];
const CASE = CASES[0]!;
// tinyMgn's widths (stem filters, each stage's planes, EMBEDDING_DIM), for the PyTorch model.
const WIDTHS = { stem: 8, layer1: 4, layer2: 8, layer3: 8, layer4: 16, embedding: 16 };

let fx: ReturnType<typeof generateFixtures>;
beforeAll(() => {
  fx = generateFixtures(CASES.map((c) => ({ id: c.id, seed: c.seed, numClasses: CLASSES, batch: c.batch, input: c.input, labels: train.labels, lr: train.lr, pool: c.pool, widths: WIDTHS })), SCRIPT);
}, 120_000);
afterAll(() => fx?.cleanup());

/** One plain SGD step of the step program on the CPU engine for `doc`'s graph, from the fixture's initial weights. */
async function programStep(c: ParityCase, doc: GraphDoc) {
  const analysis = analyze(doc.graph);
  expect(analysis.diagnostics).toEqual([]);
  const fixture = await stepFixture(fx.dir, c, analysis);
  expect(fixture.before.report.counts).toMatchObject({ missing: 0, mismatched: 0 });
  const compiled = compileToKeras(analysis);
  expect(compiled.metadata.roles.heads?.length).toBe(8);
  // From a weight store holding the file's PyTorch tensors, as the trainer starts the engine.
  const store = new WeightStore(compiled.layers);
  store.setTorchValues(fixture.before.torch);
  const session = await OnnxStepSession.create(compiled, store.tfjsLookup(), {
    batch: c.batch,
    threads: 2,
    ep: 'cpu',
    loss: { numClasses: CLASSES, ceEpsilon: 0, ceWeight: 1, triplet: { margin: 0, soft: true, hardMining: true, normFeat: false, weight: 1 }, centerWeight: null },
    optimizer: { name: 'sgd', weightDecay: 0, momentum: 0 },
  });
  try {
    const r = await session.run(readF32(`${fx.dir}/${c.id}.input.f32`), Int32Array.from(train.labels), train.lr);
    const out = { loss: r.total, weights: new Map([...fixture.before.values, ...torchToTfjsValues(analysis.layers, await session.weightValues())]) };
    return { analysis, fixture, out, r, ...(await compareStepWithTies(fx.dir, c, analysis, fixture, out)) };
  } finally {
    await session.release();
  }
}

describe('one SGD step of fast-reid MGN (eight heads, per-head losses) matches PyTorch (cpu engine)', () => {
  it.each(CASES.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const { fixture, out, r, failures, worstRatio, typical, reference } = await programStep(c, tinyMgn(CLASSES, { pool: c.pool }));
    expect(failures).toEqual([]);
    // Both loss terms are live: every head's CE and the five soft-margin triplets.
    expect(r.ce).toBeGreaterThan(0.1);
    expect(r.triplet).toBeGreaterThan(0.1);
    console.log(
      `train parity MGN program/cpu ${c.id}: loss ${out.loss.toFixed(7)} (CE ${r.ce!.toFixed(5)}, triplet ${r.triplet!.toFixed(5)}), PyTorch float32 ${fixture.ref.loss.toFixed(7)}, float64 ${fixture.ref.loss64.toFixed(7)}; within the bounds of the ${reference}; worst (ours − float64)/(PyTorch float32 − float64) ratio ${worstRatio.toFixed(2)}; PyTorch float32 update distance, upper quartile ${typical.toExponential(2)}`,
    );
  }, 300_000);

  it('a wrong head factor (b33 CE × 0.25 instead of 0.125) is outside the bounds', async () => {
    const doc = tinyMgn(CLASSES, { pool: 'avg' });
    const nodes = doc.graph.nodes.map((n) => (n.id === 'loss_b33' ? { ...n, params: { ...n.params, ce_factor: 0.25 } } : n));
    const { failures, reference } = await programStep(CASE, { ...doc, graph: { ...doc.graph, nodes } });
    expect(reference).toBeNull();
    expect(failures.length).toBeGreaterThan(0);
    console.log(`MGN step with b33's CE factor doubled: ${failures.length} failures, first ${failures[0]}`);
  }, 300_000);
});
