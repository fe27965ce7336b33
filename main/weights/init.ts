/**
 * The fresh initialisation of a weight slot, computed without TensorFlow.js but value for value as the
 * tfjs model built from the same compiled topology initialises it (main/tfjs/model.ts): the Keras
 * initializer a Conv2D / Dense layer carries in the topology (core/registry/lowering.ts `kerasInitializer`,
 * with the per-layer seed core/compile/seed.ts gives a run), else the one the slot's spec names
 * (WeightSpec.init; the custom tfjs layers draw those unseeded). The random draws port tfjs-core 4.22's
 * `ops/rand_util.ts` (MPRandGauss: Marsaglia's polar method; UniformRandom) over the same generator,
 * seedrandom's `alea` seeded with the seed's string, and tfjs-layers' `initializers.ts` (VarianceScaling,
 * `computeFans` channels-last), so a seeded run starts from the same weights on every engine.
 */
import seedrandom from 'seedrandom';
import { kerasInitializer, type WeightSpec } from '../../core/index.js';

/** A Keras initializer as the topology stores it (`{class_name, config}`). */
export interface InitializerJson {
  class_name: string;
  config?: Record<string, unknown>;
}

/** tfjs-layers `computeFans` (channels-last): [fanIn, fanOut] of a tfjs-layout shape. */
export function computeFans(shape: readonly number[]): [number, number] {
  const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  if (shape.length === 2) return [shape[0]!, shape[1]!];
  if (shape.length >= 3 && shape.length <= 5) {
    const field = prod(shape.slice(0, shape.length - 2));
    return [shape[shape.length - 2]! * field, shape[shape.length - 1]! * field];
  }
  const r = Math.sqrt(prod(shape));
  return [r, r];
}

/** tfjs-core MPRandGauss: a seed of 0 / null draws from Math.random, as tfjs does. */
function gaussian(mean: number, std: number, truncated: boolean, seed: unknown): () => number {
  const random = seedrandom.alea(String(seed ? seed : Math.random()));
  const [lo, hi] = [mean - std * 2, mean + std * 2];
  const ok = (v: number) => !truncated || (v <= hi && v >= lo);
  let next = NaN;
  return () => {
    if (!Number.isNaN(next)) {
      const v = next;
      next = NaN;
      return v;
    }
    let x = 0;
    let y = 0;
    for (let valid = false; !valid; ) {
      let v1: number, v2: number, s: number;
      do {
        v1 = 2 * random() - 1;
        v2 = 2 * random() - 1;
        s = v1 * v1 + v2 * v2;
      } while (s >= 1 || s === 0);
      const mul = Math.sqrt((-2.0 * Math.log(s)) / s);
      x = mean + std * v1 * mul;
      y = mean + std * v2 * mul;
      valid = ok(x);
    }
    if (ok(y)) next = y;
    return x;
  };
}

/** tfjs-core UniformRandom: a null seed draws from Math.random (0 is a seed here, unlike MPRandGauss). */
function uniform(min: number, max: number, seed: unknown): () => number {
  const random = seedrandom.alea(String(seed == null ? Math.random() : seed));
  const range = max - min;
  return () => min + range * random();
}

function fill(size: number, draw: () => number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = draw();
  return out;
}

/**
 * The values a tfjs initializer gives a tensor of `shape` (tfjs layout), float32 as tfjs stores them.
 * Throws for an initializer class the compiler never emits.
 */
export function initializerValues(init: InitializerJson, shape: readonly number[]): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const c = init.config ?? {};
  const seed = c.seed;
  switch (init.class_name) {
    case 'Zeros':
      return new Float32Array(size);
    case 'Ones':
      return new Float32Array(size).fill(1);
    case 'Constant':
      return new Float32Array(size).fill(Number(c.value ?? 0));
    case 'RandomUniform':
      return fill(size, uniform(Number(c.minval ?? -0.05), Number(c.maxval ?? 0.05), seed));
    case 'RandomNormal':
      return fill(size, gaussian(Number(c.mean ?? 0), Number(c.stddev ?? 0.05), false, seed));
    case 'TruncatedNormal':
      return fill(size, gaussian(Number(c.mean ?? 0), Number(c.stddev ?? 0.05), true, seed));
    case 'VarianceScaling': {
      // tfjs-layers VarianceScaling.apply, operation for operation (the same float64 rounding).
      const [fanIn, fanOut] = computeFans(shape);
      const mode = String(c.mode ?? 'fan_in').replace('_', '').toLowerCase();
      let scale = c.scale == null ? 1.0 : Number(c.scale);
      if (mode === 'fanin') scale /= Math.max(1, fanIn);
      else if (mode === 'fanout') scale /= Math.max(1, fanOut);
      else scale /= Math.max(1, (fanIn + fanOut) / 2);
      if ((c.distribution ?? 'normal') === 'normal') return fill(size, gaussian(0, Math.sqrt(scale), true, seed));
      const limit = Math.sqrt(3 * scale);
      return fill(size, uniform(-limit, limit, seed));
    }
    default:
      throw new Error(`no initialisation for the Keras initializer ${init.class_name}`);
  }
}

/**
 * The initializer a slot gets when the topology names none for it (the custom tfjs layers of
 * main/tfjs/layers: nn.Conv2d's default, U(±1/√fan_in) for kernel and bias, BatchNorm ones / zeros, GeM's p).
 * `specs`: the layer's specs, for a bias's fan-in (its kernel's).
 */
export function specInitializer(spec: WeightSpec, specs: readonly WeightSpec[]): InitializerJson {
  const kernelSlot = spec.slot === 'bias' ? 'kernel' : spec.slot.replace(/bias$/, 'kernel');
  const kernel = specs.find((s) => s.slot === kernelSlot) ?? spec;
  return kerasInitializer(spec, computeFans(kernel.shape)[0]) as unknown as InitializerJson;
}
