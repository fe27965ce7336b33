import { describe, expect, it } from 'vitest';
import { defaultParams, Evaluator, KINDS, resolveParams, type Params, type Shape, type Value } from '../../core/index.js';
import { runPython } from './helpers.js';

/** Cases per kind: parameters and input shapes (channels-last). Every registry kind must appear. */
const CASES: Record<string, { params: Params; inputs: Shape[] }[]> = {
  input: [{ params: {}, inputs: [] }],
  conv2d: [
    { params: { filters: 32, kernel: 3, stride: 2, padding: 1, bias: false }, inputs: [[33, 17, 8]] },
    { params: { filters: 16, kernel: 7, stride: 2, padding: 3, bias: true }, inputs: [[64, 32, 3]] },
    { params: { filters: 8, kernel: 1, stride: 1, padding: 0, bias: false }, inputs: [[5, 4, 6]] },
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
  stem: [{ params: { relu: true }, inputs: [[64, 32, 3]] }, { params: { relu: false, channels: 32 }, inputs: [[66, 34, 3]] }],
  bottleneck: [
    { params: { planes: 16, stride: 1, norm: 'bn' }, inputs: [[16, 8, 64]] },
    { params: { planes: 16, stride: 2, norm: 'ibn_a' }, inputs: [[16, 8, 32]] },
    { params: { planes: 8, stride: 1, norm: 'in' }, inputs: [[8, 4, 16]] },
  ],
  basic_block: [
    { params: { planes: 16, stride: 1, norm: 'bn' }, inputs: [[16, 8, 16]] },
    { params: { planes: 32, stride: 2, norm: 'ibn_a' }, inputs: [[15, 9, 16]] },
  ],
  stage: [
    { params: { block: 'bottleneck', blocks: 3, planes: 16, stride: 1, norm: 'ibn_a' }, inputs: [[16, 8, 16]] },
    { params: { block: 'basic_block', blocks: 2, planes: 32, stride: 2, norm: 'bn' }, inputs: [[16, 8, 16]] },
  ],
  neck: [{ params: { type: 'bnneck' }, inputs: [[64]] }, { params: { type: 'no' }, inputs: [[64]] }],
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
