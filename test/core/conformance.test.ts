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
import { BATCH, CASES, caseModel, PORTS, seededWeights } from './kind-cases.js';
import { rng } from '../export/graphs.js';
import { PYTHON, runPython } from './helpers.js';

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
