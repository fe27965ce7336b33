/**
 * The weight store (main/weights/store.ts) against TensorFlow.js itself: a store freshly initialised from a
 * seeded topology holds the values tfjs-layers 4.22 gives the model built from that topology (the
 * reference: tfjs's own initializers, run by `buildFromCompiled`), bit for bit where tfjs draws seeded
 * (Conv2D / Dense) or constant; where the custom tfjs layers draw unseeded, the same distribution bound
 * (nn.Conv2d's default, U(±1/√fan_in)). Layouts: the store is PyTorch layout, `tfjsValues()` the tfjs one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, compileToKeras, seedInitializers, weightSpecs, type CompiledModel, type GraphDoc } from '../../core/index.js';
import { buildFromCompiled, disposeModel, getWeightValues, initBackend } from '../../main/tfjs/index.js';
import { exportStateDict, freshWeightStore, WeightStore, WeightStoreError } from '../../main/weights/index.js';
import { customDoc } from '../export/graphs.js';

/** The first index where two arrays differ (bitwise, NaN-safe), -1 when equal; a loop (vitest's toEqual is slow on millions of elements). */
function firstDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

const compiledOf = (doc: GraphDoc, seed?: number): CompiledModel => {
  const c = compileToKeras(analyze(doc.graph));
  return seed === undefined ? c : seedInitializers(c, seed);
};

/** The tfjs model's fresh weights for `compiled` (tfjs layout, `${layer}/${slot}`). */
async function tfjsInit(compiled: CompiledModel): Promise<Map<string, Float32Array>> {
  const reid = await buildFromCompiled(compiled);
  try {
    return await getWeightValues(reid, compiled.layers);
  } finally {
    disposeModel(reid);
  }
}

/** Slot ids whose tfjs initialiser is seeded or constant: Conv2D / Dense slots, seeded custom layers' slots and every non-random init. */
function exactSlots(compiled: CompiledModel): { exact: string[]; unseeded: { id: string; bound: number }[] } {
  const stock = new Set(compiled.modelTopology.config.layers.filter((l) => l.class_name === 'Conv2D' || l.class_name === 'Dense' || typeof l.config.seed === 'number').map((l) => l.name));
  const exact: string[] = [];
  const unseeded: { id: string; bound: number }[] = [];
  for (const l of compiled.layers)
    for (const s of weightSpecs(l)) {
      const id = `${l.name}/${s.slot}`;
      if (stock.has(l.name) || !['torch_default', 'he_normal_fan_out', 'normal_0.001'].includes(s.init)) exact.push(id);
      else {
        // nn.Conv2d's reset_parameters: kaiming_uniform_(a=√5) and the bias, both U(±1/√fan_in); fan_in of the kernel.
        const k = weightSpecs(l).find((x) => x.slot === s.slot.replace(/bias$/, 'kernel'))!;
        unseeded.push({ id, bound: 1 / Math.sqrt(k.shape.slice(0, -1).reduce((a, b) => a * b, 1)) });
      }
    }
  return { exact, unseeded };
}

describe('weight store: fresh initialisation as tfjs initialises the model', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  for (const [name, doc] of [
    ['resnet18 (BNNeck, classifier N(0, 0.001))', buildPreset('resnet18', { input: [64, 32], numClasses: 7 })],
    ['custom graph (IBN-a, conv with bias, GeM p, frozen stage)', customDoc()],
    ['se_resnet50 (SE modules: a custom tfjs layer)', buildPreset('se_resnet50', { input: [64, 32], numClasses: 5 })],
    ['resnest50 (split-attention: grouped convolutions, a custom tfjs layer)', buildPreset('resnest50', { input: [64, 32], numClasses: 5 })],
  ] as const)
    it(`${name}: seeded slots equal tfjs's bit for bit, unseeded ones within tfjs's bound`, async () => {
      const compiled = compiledOf(doc, 1234);
      const want = await tfjsInit(compiled);
      const store = freshWeightStore(compiled);
      const got = store.tfjsValues();
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      const { exact, unseeded } = exactSlots(compiled);
      expect(exact.length).toBeGreaterThan(0);
      for (const id of exact) expect(firstDiff(got.get(id)!, want.get(id)!), id).toBe(-1);
      for (const { id, bound } of unseeded) {
        const [g, w] = [got.get(id)!, want.get(id)!];
        for (const a of [g, w]) {
          expect(maxAbs(a), id).toBeLessThanOrEqual(Math.fround(bound) * (1 + 1e-6));
          expect(maxAbs(a), id).toBeGreaterThan(bound * 0.5);
        }
      }
      // The custom layers' slots are seeded too (the same seed, the same weights on every engine).
      if (name.startsWith('se_')) expect(exact.filter((id) => /fc1_kernel$/.test(id)).length).toBeGreaterThan(0);
      if (name.startsWith('resnest')) expect(exact).toContain('base.layer1.0.conv2.conv/kernel');
      expect(unseeded).toEqual([]);
    }, 120_000);

  it('the seed decides the values: another seed, other values; no seed, other values each time', () => {
    const doc = buildPreset('resnet18', { input: [64, 32], numClasses: 7 });
    const a = freshWeightStore(compiledOf(doc, 1)).get('base.conv1.weight')!.data;
    expect(firstDiff(freshWeightStore(compiledOf(doc, 1)).get('base.conv1.weight')!.data, a)).toBe(-1);
    expect(firstDiff(freshWeightStore(compiledOf(doc, 2)).get('base.conv1.weight')!.data, a)).not.toBe(-1);
    const u = compiledOf(doc);
    expect(firstDiff(freshWeightStore(u).get('base.conv1.weight')!.data, freshWeightStore(u).get('base.conv1.weight')!.data)).not.toBe(-1);
  });
});

describe('weight store: PyTorch layout and keys', () => {
  const doc = buildPreset('resnet18', { input: [64, 32], numClasses: 7 });
  const compiled = compiledOf(doc, 7);

  it('is keyed by the state_dict keys with torch shapes, running statistics included, as exportStateDict writes', () => {
    const store = freshWeightStore(compiled);
    const sd = store.stateDict();
    const ref = exportStateDict(compiled.layers, store.tfjsValues());
    expect([...sd.keys()]).toEqual([...ref.keys()]);
    for (const [k, v] of ref) {
      expect(sd.get(k)!.shape, k).toEqual(v.shape);
      expect(firstDiff(sd.get(k)!.data, v.data), k).toBe(-1);
    }
    expect(sd.get('base.conv1.weight')!.shape).toEqual([64, 3, 7, 7]);
    expect(sd.get('classifier.weight')!.shape).toEqual([7, 512]);
    expect(sd.get('bottleneck.running_var')!.data.every((x) => x === 1)).toBe(true);
    expect(sd.get('base.layer1.0.bn1.running_mean')!.data.every((x) => x === 0)).toBe(true);
  });

  it('takes tfjs-layout values back losslessly and refuses a wrong size by key', () => {
    const a = freshWeightStore(compiled);
    const b = new WeightStore(compiled.layers);
    expect(b.setTfjsValues(a.tfjsValues()).length).toBe(a.size);
    for (const e of a.entries()) expect(firstDiff(b.get(e.key)!.data, e.data), e.key).toBe(-1);
    expect(() => b.setTfjsValues(new Map([['base.conv1/kernel', new Float32Array(3)]]))).toThrow(WeightStoreError);
    expect(() => b.setTfjsValues(new Map([['base.conv1/kernel', new Float32Array(3)]]))).toThrow(/base\.conv1\.weight: expected 9408 values/);
    expect(b.setTfjsValues(new Map([['nowhere/kernel', new Float32Array(3)]]))).toEqual([]);
  });

  it('takes PyTorch-layout values by slot id as they are (a load plan\'s torch map), the same as their tfjs layout', () => {
    const a = freshWeightStore(compiled);
    const torch = new Map(compiled.layers.flatMap((l) => weightSpecs(l).map((sp) => [`${l.name}/${sp.slot}`, a.get(sp.torchKey)!.data] as [string, Float32Array])));
    const b = new WeightStore(compiled.layers);
    expect(b.setTorchValues(torch).length).toBe(a.size);
    expect(b.get('base.conv1.weight')!.data).toBe(a.get('base.conv1.weight')!.data); // kept, not copied
    const c = new WeightStore(compiled.layers);
    c.setTfjsValues(a.tfjsValues());
    for (const e of c.entries()) expect(firstDiff(b.get(e.key)!.data, e.data), e.key).toBe(-1);
    expect(() => b.setTorchValues(new Map([['base.conv1/kernel', new Float32Array(3)]]))).toThrow(/base\.conv1\.weight: expected 9408 values/);
  });
});
