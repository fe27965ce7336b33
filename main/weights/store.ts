/**
 * The weight store: a model's weights in ONE place, in PyTorch layout, keyed by the graph's state_dict keys
 * (reid-strong-baseline's Baseline names as the kinds declare them, core/compile/weight-specs.ts:
 * `base.layer1.0.conv1.weight` [out, in, kh, kw], `bottleneck.running_mean` …), float32 with their torch
 * shapes, parameters and BatchNorm running statistics alike. Its consumers read it: the ONNX programs (the
 * feature session, the ONNX export and the training engines' sessions through `tfjsLookup()`, which hands
 * over the PyTorch tensors themselves wherever the ONNX initializer is the PyTorch tensor — conv OIHW, vectors
 * — and a tfjs-layout copy only for the Linear kernels the lowering takes as [in, out]), the training engines'
 * weights and the run checkpoint codec (`torchValues()` / `setTorch`, PyTorch layout by state_dict key), the
 * `.pth` export (`stateDict()`), and the tfjs model, which is filled from it (`tfjsValues()`, main/tfjs/model.ts
 * `setWeightsFromValues`) only where tfjs runs — no consumer needs the tfjs model to get the weights.
 *
 * Filled by `freshWeightStore` (the seeded initialisation, value for value as the tfjs model's: init.ts,
 * drawn only for the slots nothing else sets), `setTorchValues` (a load plan's or a run checkpoint's
 * PyTorch tensors, main/runs/store/run-weights.ts), `setTorch` (an engine's weights) and `setTfjsValues`
 * (tfjs-layout values: the tfjs model's, a version-1 run checkpoint's).
 */
import { weightSpecs, type CompiledModel, type KerasLayerJson, type Layer, type WeightSpec } from '../../core/index.js';
import { computeFans, initializerValues, specInitializer, type InitializerJson } from './init.js';
import { toTfjs, toTorch } from './mapping.js';

/** Values that do not fit the store (a wrong size): a user message naming the PyTorch key. */
export class WeightStoreError extends Error {}

export interface StoreEntry {
  /** PyTorch state_dict key (graph layout), e.g. `base.conv1.weight`. */
  key: string;
  /** PyTorch shape. */
  shape: number[];
  /** Values in PyTorch layout (row-major over `shape`). */
  data: Float32Array;
  /** The graph layer and its weight spec (tfjs slot, layout transform, trainable, buffer). */
  layer: string;
  spec: WeightSpec;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const EMPTY = new Float32Array(0);

export class WeightStore {
  private readonly byKey = new Map<string, StoreEntry>();
  private readonly bySlot = new Map<string, StoreEntry>();
  /** Slots still at their initial value, drawn when first read (a loaded checkpoint usually replaces them all). */
  private readonly pending = new Map<StoreEntry, () => Float32Array>();

  /**
   * A store over the weight slots of `layers`. `init` gives a slot's initial value in tfjs layout (default:
   * zeros); it runs when the slot is first read, never for a slot set before. Throws when two slots share a key.
   */
  constructor(
    readonly layers: Layer[],
    init?: (layer: Layer, spec: WeightSpec, specs: WeightSpec[]) => Float32Array,
  ) {
    for (const l of layers) {
      const specs = weightSpecs(l);
      for (const spec of specs) {
        if (this.byKey.has(spec.torchKey)) throw new Error(`weight store: two slots map to ${spec.torchKey}`);
        const e: StoreEntry = { key: spec.torchKey, shape: [...spec.torchShape], data: EMPTY, layer: l.name, spec };
        this.byKey.set(e.key, e);
        this.bySlot.set(`${l.name}/${spec.slot}`, e);
        this.pending.set(e, () => (init ? toTorch(init(l, spec, specs), e.shape, spec.transform) : new Float32Array(numel(e.shape))));
      }
    }
  }

  /** The entry with its values (drawn now if still pending). */
  private ready(e: StoreEntry): StoreEntry {
    const init = this.pending.get(e);
    if (init) {
      e.data = init();
      this.pending.delete(e);
    }
    return e;
  }

  /** The entries in layer order (the graph's state_dict order). */
  entries(): StoreEntry[] {
    return [...this.byKey.values()].map((e) => this.ready(e));
  }

  get(key: string): StoreEntry | undefined {
    const e = this.byKey.get(key);
    return e && this.ready(e);
  }

  /** Whether `key` is a weight of this graph (draws nothing). */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The parameter and buffer count (float32 values). */
  get numel(): number {
    let n = 0;
    for (const e of this.byKey.values()) n += numel(e.shape);
    return n;
  }

  /**
   * Sets slots from tfjs-layout values keyed `${layer}/${slot}` (what the load plan and a run checkpoint
   * give). Ids of no slot are ignored; returns the ids set. Throws WeightStoreError for a wrong size.
   */
  setTfjsValues(values: Map<string, Float32Array>): string[] {
    const set: string[] = [];
    for (const [id, v] of values) {
      const e = this.bySlot.get(id);
      if (!e) continue;
      if (v.length !== numel(e.shape)) throw new WeightStoreError(`${e.key}: expected ${numel(e.shape)} values for shape [${e.shape.join(', ')}], got ${v.length}`);
      e.data = toTorch(v, e.shape, e.spec.transform);
      this.pending.delete(e);
      set.push(id);
    }
    return set;
  }

  /**
   * Sets slots from PyTorch-layout values keyed `${layer}/${slot}` (a load plan's `torch`), keeping the arrays
   * (no copy). Ids of no slot are ignored; returns the ids set. Throws WeightStoreError for a wrong size.
   */
  setTorchValues(values: Map<string, Float32Array>): string[] {
    const set: string[] = [];
    for (const [id, v] of values) {
      const e = this.bySlot.get(id);
      if (!e) continue;
      this.setTorch(e.key, v);
      set.push(id);
    }
    return set;
  }

  /** Sets one tensor by its state_dict key, PyTorch layout. Throws WeightStoreError for an unknown key or a wrong size. */
  setTorch(key: string, data: Float32Array): void {
    const e = this.byKey.get(key);
    if (!e) throw new WeightStoreError(`${key}: not a weight of this graph`);
    if (data.length !== numel(e.shape)) throw new WeightStoreError(`${key}: expected ${numel(e.shape)} values for shape [${e.shape.join(', ')}], got ${data.length}`);
    e.data = data;
    this.pending.delete(e);
  }

  /**
   * Every tensor in PyTorch layout keyed by state_dict key (layer order), sharing the store's arrays: what
   * the training engines hand over and the run checkpoint codec writes (main/runs/store/checkpoint-keys.ts).
   */
  torchValues(): Map<string, Float32Array> {
    return new Map(this.entries().map((e) => [e.key, e.data]));
  }

  /** Every slot in tfjs layout keyed `${layer}/${slot}` (a relayout per tensor): what the tfjs model takes. */
  tfjsValues(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [id, e] of this.bySlot) out.set(id, toTfjs(this.ready(e).data, e.shape, e.spec.transform));
    return out;
  }

  /**
   * The slots by `${layer}/${slot}` for core's ONNX lowering (OnnxWeightSource): `torch` gives the store's own
   * PyTorch-layout array, `get` a tfjs-layout copy made when asked for (nothing kept), so lowering a model
   * does not hold its weights twice more.
   */
  tfjsLookup(): { get(id: string): Float32Array | undefined; torch(id: string): Float32Array | undefined } {
    const entry = (id: string) => {
      const e = this.bySlot.get(id);
      return e && this.ready(e);
    };
    return {
      get: (id) => {
        const e = entry(id);
        return e && toTfjs(e.data, e.shape, e.spec.transform);
      },
      torch: (id) => entry(id)?.data,
    };
  }

  /** The PyTorch state dict (graph keys, layer order), sharing the store's arrays. */
  stateDict(): Map<string, { shape: number[]; data: Float32Array }> {
    return new Map(this.entries().map((e) => [e.key, { shape: [...e.shape], data: e.data }]));
  }
}

/** The topology's Keras layer JSONs by name. */
function kerasLayers(compiled: CompiledModel): Map<string, KerasLayerJson> {
  return new Map(compiled.modelTopology.config.layers.map((l) => [l.name, l]));
}

/**
 * A store holding the fresh initialisation of `compiled`: the values the tfjs model built from the same
 * topology gets (main/tfjs/model.ts `buildFromCompiled`), drawn as tfjs draws them (init.ts). With a
 * topology seeded by core's `seedInitializers(compiled, seed)` the Conv2D / Dense slots and those of the seeded
 * custom tfjs layers (grouped / dilated conv, SE module) are the seeded values, bit for bit; unseeded, they
 * are drawn unseeded, as there.
 */
export function freshWeightStore(compiled: CompiledModel): WeightStore {
  const keras = kerasLayers(compiled);
  return new WeightStore(compiled.layers, (l, spec, specs) => {
    const k = keras.get(l.name);
    const stock = k?.class_name === 'Conv2D' || k?.class_name === 'Dense';
    const named = stock ? (k.config[`${spec.slot}_initializer`] as InitializerJson | undefined) : undefined;
    if (!stock && typeof k?.config.seed === 'number') {
      // The custom tfjs layers (main/tfjs/layers/conv-layers.ts) draw every slot U(±1/√fan_in of its kernel)
      // seeded with the layer's seed + the slot's index.
      const kernel = specs.find((s) => s.slot === spec.slot.replace(/bias$/, 'kernel')) ?? spec;
      const b = 1 / Math.sqrt(Math.max(computeFans(kernel.shape)[0], 1));
      const seed = k.config.seed + specs.findIndex((s) => s.slot === spec.slot);
      return initializerValues({ class_name: 'RandomUniform', config: { minval: -b, maxval: b, seed } }, spec.shape);
    }
    return initializerValues(named ?? specInitializer(spec, specs), spec.shape);
  });
}
