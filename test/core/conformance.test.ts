/**
 * The block registry's conformance suite: every registered kind, automatically (a new kind fails the
 * first test until it has a row in CASES).
 *  - defaults validate; ports are well formed;
 *  - shapes and parameter counts agree with independent PyTorch / torchvision modules (oracle/torch_kinds.py);
 *  - each case compiled ALONE (input → kind [→ pool adapter for vector kinds]) through the registry's
 *    lowering: the tfjs model's output shape is the inferred shape; the model.py the PyTorch exporter
 *    writes from the kinds' PyTorch source, run by /usr/bin/python3 (PyTorch 1.13, one process for all
 *    cases) on the app's exported state_dict, has the same parameter count and the same eval output
 *    (within 1e-4 · max|ref|); PyTorch's own re-saved state_dict imports back bit-identical;
 *  - the ONNX lowering (run by onnxruntime-node, a spatial output pooled) gives the tfjs model's features;
 *  - frozen means zero trainable weights (analysis, tfjs variables and the exported PyTorch module).
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileToKeras,
  defaultParams,
  Evaluator,
  KINDS,
  resolveParams,
  weightSpecs,
  type Analysis,
  type Layer,
  type Params,
  type Shape,
  type Value,
} from '../../core/index.js';
import { generateModelPy } from '../../main/export/pytorch.js';
import { featureEngine } from '../../main/onnx/engine.js';
import { buildFromCompiled, disposeModel, forwardEval, getWeightValues, initBackend, setWeightsFromValues, trainableVariables } from '../../main/tfjs/index.js';
import { exportStateDict, planLoad, readCheckpoint, writeCheckpoint } from '../../main/weights/index.js';
import { maxDiff, readF32 } from '../parity/fixtures.js';
import { rng } from '../export/graphs.js';
import { PYTHON, runPython } from './helpers.js';

/** Cases per kind: parameters and input shapes (channels-last). Every registry kind must appear. */
const CASES: Record<string, { params: Params; inputs: Shape[] }[]> = {
  input: [{ params: {}, inputs: [] }],
  conv2d: [
    { params: { filters: 32, kernel: 3, stride: 2, padding: 1, bias: false }, inputs: [[33, 17, 8]] },
    { params: { filters: 16, kernel: 7, stride: 2, padding: 3, bias: true }, inputs: [[64, 32, 3]] },
    { params: { filters: 8, kernel: 1, stride: 1, padding: 0, bias: false }, inputs: [[5, 4, 6]] },
    { params: { filters: 12, kernel: 3, stride: 2, padding: 1, bias: true, groups: 4 }, inputs: [[9, 7, 8]] },
  ],
  batch_norm: [{ params: {}, inputs: [[8, 4, 12]] }, { params: { freezeShift: true }, inputs: [[24]] }],
  instance_norm: [{ params: {}, inputs: [[8, 4, 12]] }],
  ibn_a: [{ params: {}, inputs: [[8, 4, 64]] }, { params: { ratio: 0.25 }, inputs: [[6, 6, 10]] }],
  relu: [{ params: {}, inputs: [[3, 3, 5]] }],
  max_pool: [
    { params: { kernel: 3, stride: 2, padding: 1 }, inputs: [[64, 32, 4]] },
    { params: { kernel: 3, stride: 2, padding: 0, ceilMode: true }, inputs: [[33, 17, 4]] },
  ],
  add: [{ params: {}, inputs: [[4, 4, 8], [4, 4, 8]] }],
  global_avg_pool: [{ params: {}, inputs: [[16, 8, 32]] }],
  gem_pool: [{ params: {}, inputs: [[4, 4, 16]] }, { params: { learnable: true }, inputs: [[4, 4, 16]] }],
  linear: [{ params: { units: 10, bias: true }, inputs: [[32]] }, { params: { units: 751, bias: false }, inputs: [[64]] }],
  stem: [
    { params: { relu: true }, inputs: [[64, 32, 3]] },
    { params: { relu: false, channels: 32 }, inputs: [[66, 34, 3]] },
    { params: { relu: true, norm: 'in', channels: 16 }, inputs: [[32, 16, 3]] },
  ],
  bottleneck: [
    { params: { planes: 16, stride: 1, norm: 'bn' }, inputs: [[16, 8, 64]] },
    { params: { planes: 16, stride: 2, norm: 'ibn_a' }, inputs: [[16, 8, 32]] },
    { params: { planes: 8, stride: 1, norm: 'in' }, inputs: [[8, 4, 16]] },
    { params: { planes: 8, stride: 2, norm: 'bn', ibn_b: true }, inputs: [[8, 4, 16]] },
  ],
  basic_block: [
    { params: { planes: 16, stride: 1, norm: 'bn' }, inputs: [[16, 8, 16]] },
    { params: { planes: 32, stride: 2, norm: 'ibn_a' }, inputs: [[15, 9, 16]] },
    { params: { planes: 16, stride: 1, norm: 'bn', ibn_b: true }, inputs: [[8, 4, 16]] },
  ],
  stage: [
    { params: { block: 'bottleneck', blocks: 3, planes: 16, stride: 1, norm: 'ibn_a' }, inputs: [[16, 8, 16]] },
    { params: { block: 'basic_block', blocks: 2, planes: 32, stride: 2, norm: 'bn' }, inputs: [[16, 8, 16]] },
    { params: { block: 'bottleneck', blocks: 3, planes: 8, stride: 2, norm: 'bn', non_local: 2, ibn_b: true }, inputs: [[8, 6, 16]] },
  ],
  non_local: [{ params: {}, inputs: [[6, 4, 16]] }, { params: { inter_channels: 4 }, inputs: [[5, 3, 8]] }],
  non_local_attention: [{ params: {}, inputs: [[4, 3, 2], [4, 3, 2], [4, 3, 2]] }],
  neck: [{ params: { type: 'bnneck' }, inputs: [[64]] }, { params: { type: 'no' }, inputs: [[64]] }],
  se_module: [{ params: { reduction: 4 }, inputs: [[6, 4, 32]] }],
  se_bottleneck: [
    { params: { type: 'se_resnet', planes: 8, stride: 2, reduction: 4 }, inputs: [[8, 6, 16]] },
    { params: { type: 'se_resnext', planes: 32, stride: 1, groups: 4, reduction: 16, base_width: 4 }, inputs: [[6, 4, 64]] },
    { params: { type: 'senet154', planes: 8, stride: 2, groups: 4, reduction: 8, downsample_kernel: 3, downsample_padding: 1 }, inputs: [[7, 5, 16]] },
  ],
  se_stage: [{ params: { type: 'se_resnext', blocks: 2, planes: 32, stride: 2, groups: 8, reduction: 16 }, inputs: [[8, 6, 32]] }],
  senet_stem: [{ params: { channels: 16 }, inputs: [[33, 17, 3]] }, { params: { channels: 32, input_3x3: true }, inputs: [[32, 16, 3]] }],
  output: [],
};

const PORTS = (kind: string) => KINDS.find((k) => k.id === kind)!.inputs.map((p) => p.name);

function evaluate(kind: string, params: Params, inputs: Shape[], frozen = false) {
  const ev = new Evaluator('n');
  const values: Record<string, Value> = {};
  PORTS(kind).forEach((p, i) => (values[p] = { layer: `in${i}`, shape: inputs[i]! }));
  const outs = ev.add(kind, 'x', params, values, { frozen, statsFrozen: frozen });
  const main = outs.out ?? outs.eval;
  return {
    shape: main?.shape ?? null,
    params: ev.layers.reduce((s, l) => s + l.paramCount, 0),
    trainable: ev.layers.reduce((s, l) => s + l.trainableCount, 0),
  };
}

describe('block registry conformance', () => {
  it('covers every kind with test cases', () => {
    expect(Object.keys(CASES).sort()).toEqual(KINDS.map((k) => k.id).sort());
  });

  it.each(KINDS.map((k) => [k.id, k] as const))('%s: defaults validate and ports are well formed', (_id, kind) => {
    const { problems } = resolveParams(kind.params, defaultParams(kind.params));
    expect(problems).toEqual([]);
    expect(new Set(kind.inputs.map((p) => p.name)).size).toBe(kind.inputs.length);
    expect(new Set(kind.outputs.map((p) => p.name)).size).toBe(kind.outputs.length);
    expect(kind.label.length).toBeGreaterThan(0);
    kind.describe?.(defaultParams(kind.params));
  });

  const cases = Object.entries(CASES).flatMap(([kind, list]) => list.map((c) => ({ kind, ...c })));
  const measurable = cases.filter((c) => c.kind !== 'input');

  it('shapes and parameter counts agree with PyTorch modules (torchvision blocks)', () => {
    const ref = runPython<{ shape: Shape | null; params: number }[]>('./oracle/torch_kinds.py', measurable.map((c) => ({
      kind: c.kind,
      params: resolveParams(KINDS.find((k) => k.id === c.kind)!.params, c.params).params,
      inputs: c.inputs,
    })));
    measurable.forEach((c, i) => {
      const mine = evaluate(c.kind, c.params, c.inputs);
      expect({ kind: c.kind, shape: mine.shape, params: mine.params }).toEqual({ kind: c.kind, shape: ref[i]!.shape, params: ref[i]!.params });
    });
  });

  it('frozen means zero trainable parameters, for every kind', () => {
    for (const c of measurable) expect(evaluate(c.kind, c.params, c.inputs, true).trainable).toBe(0);
  });

  it('BNNeck shift is a parameter that is never trainable', () => {
    const r = evaluate('neck', { type: 'bnneck' }, [[2048]]);
    expect(r).toMatchObject({ params: 4096, trainable: 2048 });
  });
});

// ------------------------------------------------------------------ lowering conformance (tfjs ↔ PyTorch)

const INPUT = 'input';
const BATCH = 2;

/**
 * Seeded values for every slot, from the slot's declared init only (works for any kind): kernels
 * N(0, 1/fan_in), scales 0.5–1.5, shifts N(0, 0.1²) (0 where never trainable, BNNeck), running means
 * N(0, 0.2²), running variances 0.5–1.5, a learnable constant (GeM p) 2.5.
 */
function seededWeights(layers: Layer[], seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const out = new Map<string, Float32Array>();
  for (const l of layers)
    for (const s of weightSpecs(l)) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const fanIn = s.torchShape.slice(1).reduce((a, b) => a * b, 1);
      const fixedZero = !s.buffer && s.init === 'zeros' && !s.trainable && !l.frozen;
      const draw = (): number => {
        if (s.buffer) return s.init === 'ones' ? 0.5 + r.u() : 0.2 * r.n();
        if (s.init === 'ones') return 0.5 + r.u();
        if (s.init === 'zeros') return fixedZero ? 0 : 0.1 * r.n();
        if (s.init === 'const_3') return 2.5;
        return s.shape.length > 1 ? r.n() / Math.sqrt(fanIn) : 0.1 * r.n();
      };
      out.set(`${l.name}/${s.slot}`, Float32Array.from({ length: size }, draw));
    }
  return out;
}

/**
 * One case as a model of its own: an image input (a vector kind gets `input [2, 2, C] → global average
 * pool` in front), the kind named `x`, its main output (`out`, or a neck's `eval`) as the eval feature.
 */
function caseModel(kind: string, params: Params, inputs: Shape[], frozen: boolean, pooled = false) {
  const ev = new Evaluator('n');
  const first = inputs[0]!;
  const spatial = (first.length === 3 ? first : [2, 2, first[0]!]) as [number, number, number];
  // The image input as a layer (the input node's parameter bounds are for images; kinds are tested on small maps).
  const params0 = { height: spatial[0], width: spatial[1], channels: spatial[2] };
  ev.layers.push({ name: INPUT, kind: 'input', params: params0, inputs: [], inputShapes: [], shape: spatial, nodeId: 'n', frozen: false, statsFrozen: false, paramCount: 0, trainableCount: 0, macs: 0 });
  ev.names.add(INPUT);
  const inputLayer: Value = { layer: INPUT, shape: spatial };
  const src = first.length === 3 ? inputLayer : ev.add('global_avg_pool', 'pre', {}, { in: inputLayer }, { frozen: false, statsFrozen: false }).out!;
  const values: Record<string, Value> = {};
  PORTS(kind).forEach((p) => (values[p] = src));
  const before = ev.layers.length;
  const outs = ev.add(kind, 'x', params, values, { frozen, statsFrozen: frozen });
  let main = (outs.out ?? outs.eval)!;
  // ONNX exports a feature vector: a spatial output gets a global average pool behind it.
  if (pooled && main.shape.length === 3) main = ev.add('global_avg_pool', 'post', {}, { in: main }, { frozen: false, statsFrozen: false }).out!;
  const analysis = { diagnostics: [], outputs: { evalFeature: main.layer }, layers: ev.layers } as unknown as Analysis;
  return { compiled: compileToKeras(analysis), own: ev.layers.slice(before), shape: main.shape, inputShape: spatial };
}

/** max|Δ| between the ONNX lowering run by onnxruntime-node and the tfjs model, same seeded weights. */
async function onnxVsTfjs(compiled: ReturnType<typeof compileToKeras>, seed: number): Promise<{ diff: number; ref: number }> {
  const model = await buildFromCompiled(compiled);
  try {
    setWeightsFromValues(model, compiled.layers, seededWeights(compiled.layers, seed));
    const [h, w, c] = compiled.metadata.inputShape as [number, number, number];
    const x = Float32Array.from({ length: BATCH * h * w * c }, rng(seed + 1000).n);
    const engine = await featureEngine(model, compiled, 'onnxruntime', 'cpu');
    try {
      const got = await engine.extract(x, BATCH, BATCH);
      const want = tf.tidy(() => forwardEval(model, tf.tensor4d(x, [BATCH, h, w, c])));
      const ref = (await want.data()) as Float32Array;
      want.dispose();
      return maxDiff(got.features, ref);
    } finally {
      await engine.dispose();
    }
  } finally {
    disposeModel(model);
  }
}

describe('block registry lowering conformance (tfjs ↔ exported PyTorch)', () => {
  const CHECK = fileURLToPath(new URL('./oracle/kind_modules.py', import.meta.url));
  let dir = '';
  type Run = { label: string; kind: string; frozen: boolean; shape: Shape; tfShape: number[]; trainable: number; analysisTrainable: number; params: number; out: Float32Array; values: Map<string, Float32Array>; layers: Layer[]; dir: string };
  const runs: Run[] = [];
  let torch: { params: number; trainable: number; shape: number[] }[] = [];
  const onnx: { label: string; diff: number; ref: number }[] = [];

  beforeAll(async () => {
    await initBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'reid-kinds-'));
    const all = Object.entries(CASES).flatMap(([kind, list]) => list.map((c, i) => ({ kind, i, ...c })));
    let seed = 1;
    for (const c of all.filter((x) => x.kind !== 'input'))
      for (const frozen of [false, true]) {
        const m = caseModel(c.kind, c.params, c.inputs, frozen);
        if (!m.own.length) continue; // nothing to lower (a neck without BN is the identity)
        const label = `${c.kind}#${c.i}${frozen ? ' frozen' : ''}`;
        const d = join(dir, `${c.kind}-${c.i}${frozen ? '-frozen' : ''}`);
        mkdirSync(d);
        if (!frozen) onnx.push({ label, ...(await onnxVsTfjs(caseModel(c.kind, c.params, c.inputs, false, true).compiled, seed)) });
        const layers = m.compiled.layers;
        const values = seededWeights(layers, seed++);
        const model = await buildFromCompiled(m.compiled);
        try {
          setWeightsFromValues(model, layers, values);
          const [h, w, ch] = m.inputShape;
          const x = Float32Array.from({ length: BATCH * h * w * ch }, rng(seed++).n);
          writeFileSync(join(d, 'input.bin'), x);
          const y = tf.tidy(() => forwardEval(model, tf.tensor4d(x, [BATCH, h, w, ch])));
          const out = (await y.data()) as Float32Array;
          const tfShape = y.shape.slice(1);
          y.dispose();
          const trainable = trainableVariables(model).reduce((s, v) => s + v.size, 0);
          const exported = await getWeightValues(model, layers);
          writeFileSync(join(d, 'model.py'), generateModelPy(m.compiled));
          await writeCheckpoint(join(d, 'model.pth'), exportStateDict(layers, exported));
          const analysisTrainable = layers.reduce((s, l) => s + l.trainableCount, 0);
          const params = layers.reduce((s, l) => s + l.paramCount, 0);
          runs.push({ label, kind: c.kind, frozen, shape: m.shape, tfShape, trainable, analysisTrainable, params, out, values: exported, layers, dir: d });
        } finally {
          disposeModel(model);
        }
      }
    const spec = join(dir, 'cases.json');
    writeFileSync(spec, JSON.stringify(runs.map((r) => ({ dir: r.dir, shape: r.layers[0]!.shape, batch: BATCH }))));
    torch = JSON.parse(execFileSync(PYTHON, [CHECK, spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000, maxBuffer: 16 << 20 })) as typeof torch;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lowers a case of every kind that has layers', () => {
    const lowered = new Set(runs.map((r) => r.kind));
    const expected = KINDS.filter((k) => k.primitive !== 'output').map((k) => k.id).filter((id) => id !== 'input');
    expect([...expected].filter((k) => !lowered.has(k))).toEqual([]);
  });

  it("the tfjs model's output shape is the inferred shape, and PyTorch agrees", () => {
    runs.forEach((r, i) => {
      expect({ case: r.label, shape: r.tfShape }).toEqual({ case: r.label, shape: r.shape });
      expect({ case: r.label, shape: torch[i]!.shape }).toEqual({ case: r.label, shape: r.shape });
    });
  });

  it('parameter counts agree with the exported PyTorch module', () => {
    runs.forEach((r, i) => expect({ case: r.label, params: torch[i]!.params }).toEqual({ case: r.label, params: r.params }));
  });

  it('eval outputs agree with the exported PyTorch module within 1e-4 · max|ref|', () => {
    runs.forEach((r) => {
      const ref = readF32(join(r.dir, 'out.bin'));
      const { diff, ref: scale } = maxDiff(r.out, ref);
      expect({ case: r.label, ok: diff <= 1e-4 * Math.max(scale, 1e-6) }).toEqual({ case: r.label, ok: true });
    });
  });

  it("weights round-trip: PyTorch's re-saved state_dict imports back bit-identical, nothing missing or skipped but BN's num_batches_tracked", async () => {
    for (const r of runs.filter((x) => x.values.size)) {
      const plan = planLoad(r.layers, await readCheckpoint(join(r.dir, 'resaved.pth')), { keepClassifier: true });
      expect({ case: r.label, missing: plan.report.missing.map((m) => m.key), skipped: plan.report.skipped.map((s) => s.key).filter((k) => !k.endsWith('.num_batches_tracked')) }).toEqual({ case: r.label, missing: [], skipped: [] });
      for (const [id, v] of r.values) {
        const got = plan.values.get(id);
        expect({ case: r.label, id, same: !!got && Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(v.buffer, v.byteOffset, v.byteLength)) === 0 }).toEqual({ case: r.label, id, same: true });
      }
    }
  });

  it('the ONNX lowering (onnxruntime-node) gives the tfjs features within 1e-4 · max|ref|', () => {
    expect(onnx.length).toBeGreaterThan(0);
    for (const o of onnx) expect({ case: o.label, ok: o.diff <= 1e-4 * Math.max(o.ref, 1e-6) }).toEqual({ case: o.label, ok: true });
  });

  it('frozen means zero trainable weights (analysis, tfjs, PyTorch); unfrozen, all three agree', () => {
    runs.forEach((r, i) => {
      const counts = { case: r.label, analysis: r.analysisTrainable, tfjs: r.trainable, torch: torch[i]!.trainable };
      if (r.frozen) expect(counts).toEqual({ case: r.label, analysis: 0, tfjs: 0, torch: 0 });
      else expect(counts).toEqual({ case: r.label, analysis: r.analysisTrainable, tfjs: r.analysisTrainable, torch: r.analysisTrainable });
    });
  });
});
