/**
 * The bounds of the one-SGD-step parity tests with PyTorch (train-parity.test.ts: the tfjs backends and
 * onnxruntime's two-session step; train-parity-program.test.ts: the one-program step on the CPU and WebGPU
 * engines), in one place so that every engine is held to the same bound: the fixtures' before / after
 * (float32) / after64 (float64) weights of one plain SGD step (reference.py), and `compareStep` checks an
 * engine's loss, training outputs, updated parameters and running statistics against them.
 */
import { weightSpecs, type Analysis } from '../../core/index.js';
import { planLoad, readCheckpoint } from '../../main/weights/index.js';
import { maxDiff, readF32, type ParityCase } from './fixtures.js';

/*
 * Tolerances. Both frameworks compute in float32 with different summation orders (XNNPACK vs oneDNN
 * GEMM blocking, reductions over N·H·W). Training-mode normalisation divides by standard deviations of
 * few values (IN over 4×2 maps in layer3 at 64×32; BNNeck over a batch of 4), which amplifies rounding:
 * on these random networks PyTorch's own float32 result is up to ~1e-4 (forward) and ~1e-2 (updates of
 * the first layers) away from its float64 result. So the yardstick is float64 PyTorch: every quantity
 * must be within FACTOR × (PyTorch float32's own distance to float64), or within the absolute floor
 * REL × max|value| when PyTorch float32 happens to be closer than that. A wrong formula (a missing
 * term, a wrong sign, biased vs unbiased running variance, a mis-routed pooling gradient) gives errors
 * of order 1 relative, far above either bound; the measured ratios are printed. Measured worst
 * ratios (tfjs − f64)/(PyTorch f32 − f64): 6.2 (resnet18), 7.7 (resnet50_ibn_a), 2.6 (frozen resnet50);
 * tfjs is a few times less accurate than oneDNN on these ill-conditioned random nets, not different.
 * PyTorch float32 can be luckily close to float64 on one tensor (its distance depends on the CPU's
 * kernels: on an AVX-512 EPYC one layer3 update of resnet50_ibn_a was 13× closer than the net's typical
 * one), so a weight update's bound also admits FACTOR × PyTorch float32's upper-quartile relative distance
 * over all of the model's updates × the tensor's magnitude: its typical precision on this net, not its luck
 * on one tensor. That typical-precision bound is TYPICAL_FACTOR × the quartile: on a second AMD EPYC the
 * resnet50_ibn_a case had one layer3 update (wasm) 14× and one layer4 update (onnxruntime) 11× PyTorch
 * float32's typical distance — the same two tensors before and after unrelated changes, so the CPU's kernels,
 * not our code. A wrong formula is still order 1 relative, far above TYPICAL_FACTOR × that quartile (≈ 2e-2
 * on resnet50_ibn_a, ≈ 2e-4 on resnet18).
 */
export const FACTOR = 10;
export const TYPICAL_FACTOR = 20;
export const REL_FORWARD = 1e-4;
export const REL_UPDATE = 1e-3;
export const REL_STATS = 1e-4;

/*
 * The loss is one scalar: PyTorch float32's own distance on it can be luckily small through cancellation
 * over the N·K logits (t_r18_bnneck: 1.2e-6 on the loss while its logits are 1.4e-5 off), so the loss's bound
 * also admits FACTOR × the loss error PyTorch float32's logits and features would give without cancellation,
 * to first order Σ|∂L/∂z|·|z₃₂ − z₆₄| over z = logits, global feature (∂L/∂z of the fixtures' loss at
 * float64). A wrong loss term is order 1e-2 and more on these nets, far above that (≈ 7e-5 on t_r18_bnneck).
 */

/*
 * ReLU ties. The ReLU's gradient is a step at 0: where a ReLU input is within float32 rounding of 0, a
 * float32 engine within the forward bound may put it on either side, and its step is then the float64 step
 * that takes the other branch there — an order-1 difference on the gradients below that the bounds above,
 * made for continuous rounding, do not admit. reference.py (train.reluTies) lists the ReLU inputs whose
 * float64 value is within RELU_TIE × PyTorch float32's largest error on that ReLU's input, and writes for
 * each the float64 step with that element's mask flipped. An engine outside the bounds of the float64 step
 * is held to the same bounds (FACTOR × PyTorch float32's distance to float64, the same floors) against each
 * of those steps in turn; it passes when it is within them for one. A wrong gradient is outside them for all
 * (the fixture's deliberately wrong step, `wrong`, shows it). Measured on t_r18_bnneck: the webgpu engine
 * (SwiftShader) puts base.layer4.1.relu2[0, 180, 1, 0] (float64 2.8e-5, PyTorch float32 8.9e-6) at −1.4e-5.
 */

/**
 * tfjs must be as close to float64 (`ref64`: the float64 result it is compared with, default `pt64`) as FACTOR ×
 * PyTorch float32's distance to `pt64`, or within the floors (`rel` × max|ref64|, the typical precision,
 * FACTOR × `floor`).
 */
export function within(tfjs: ArrayLike<number>, pt32: ArrayLike<number>, pt64: ArrayLike<number>, rel: number, typical = 0, ref64: ArrayLike<number> = pt64, floor = 0): { ok: boolean; ratio: number; text: string } {
  return bound(maxDiff(tfjs, ref64), maxDiff(pt32, pt64), rel, typical, floor);
}

/** `within`'s verdict from the two distances: `a` ours to float64, `b` PyTorch float32's to float64 (maxDiff's). */
function bound(a: { diff: number; ref: number }, b: { diff: number; ref: number }, rel: number, typical: number, floor: number): { ok: boolean; ratio: number; text: string } {
  const limit = Math.max(FACTOR * b.diff, rel * a.ref, TYPICAL_FACTOR * typical * a.ref, FACTOR * floor);
  return { ok: a.diff <= limit, ratio: a.diff / Math.max(b.diff, 1e-30), text: `${a.diff.toExponential(2)} vs float64 (PyTorch float32: ${b.diff.toExponential(2)}, limit ${limit.toExponential(2)})` };
}


/** What one engine's step gave: the loss, the training outputs where the engine returns them, every weight slot after the step. */
export interface StepOutcome {
  loss: number;
  logits?: Float32Array;
  feature?: Float32Array;
  weights: Map<string, Float32Array>;
}

/** The fixture of a training case: the weights before, after the float32 and the float64 PyTorch step, and the losses. */
export async function stepFixture(dir: string, c: ParityCase, analysis: Analysis) {
  const load = async (file: string) => planLoad(analysis.layers, await readCheckpoint(`${dir}/${c.id}.${file}`), { keepClassifier: true });
  const [before, after, after64] = [await load('pth'), await load('after.pth'), await load('after64.pth')];
  const ref = JSON.parse((await import('node:fs')).readFileSync(`${dir}/${c.id}.json`, 'utf8')) as { loss: number; loss64: number; trainable: string[]; lossFloor?: number; ties?: ReluTie[]; wrong?: { relu: string; index: number[]; pre64: number; file: string } };
  return { before, after, after64, ref, load };
}

/** A ReLU tie of a training fixture (reference.py relu_ties): the float64 step that takes the other branch at `relu[index]` is in `file`. */
export interface ReluTie {
  relu: string;
  index: number[];
  pre64: number;
  pre32: number;
  float32Error: number;
  loss64: number;
  file: string;
}

type Fixture = Awaited<ReturnType<typeof stepFixture>>;

/** The fixtures' loss CE(logits) + w·mean(f²): Σ|∂L/∂z|·|z₃₂ − z₆₄| over the logits and the global feature, ∂L/∂z at float64. */
function lossFirstOrder(dir: string, c: ParityCase): number {
  const f = (s: string) => readF32(`${dir}/${c.id}.${s}.f32`);
  const [l32, l64, f32, f64] = [f('train.logits'), f('train.logits64'), f('train.feature'), f('train.feature64')];
  const labels = c.train!.labels;
  const n = labels.length;
  const k = l64.length / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(l64.subarray(i * k, (i + 1) * k));
    const m = Math.max(...row);
    const z = row.reduce((a, x) => a + Math.exp(x - m), 0);
    row.forEach((x, j) => (sum += (Math.abs(Math.exp(x - m) / z - (j === labels[i] ? 1 : 0)) / n) * Math.abs(l32[i * k + j]! - x)));
  }
  for (let i = 0; i < f64.length; i++) sum += ((2 * c.train!.featureWeight * Math.abs(f64[i]!)) / f64.length) * Math.abs(f32[i]! - f64[i]!);
  return sum;
}

/**
 * maxDiff(a − base, b − base), each difference rounded to float32 as a Float32Array holds it, in one pass and
 * without the two arrays: the step comparisons take these over every weight of the model (tens of millions of
 * values) several times, where TypedArray.map's per-element callback and the arrays it allocates cost seconds.
 * The same result as maxDiff on the arrays, NaN handling included (maxDiff's update rule, element by element).
 */
function maxDiffOfDeltas(a: Float32Array, b: Float32Array, base: Float32Array): { diff: number; ref: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    const db = Math.fround(b[i]! - base[i]!);
    const d = Math.abs(Math.fround(a[i]! - base[i]!) - db);
    if (!(d <= diff)) diff = d; // as maxDiff
    ref = Math.max(ref, Math.abs(db));
  }
  return { diff, ref };
}

/** Whether every a[i] − base[i], rounded to float32, is 0 (`a` did not move from `base`). */
function unmoved(a: Float32Array, base: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (Math.fround(a[i]! - base[i]!) !== 0) return false;
  return true;
}

/**
 * Compares one engine's step with PyTorch's (the bounds above): the failures (empty when within bounds),
 * the worst (ours − float64)/(PyTorch float32 − float64) ratio and PyTorch float32's typical update distance.
 */
export function compareStep(
  dir: string,
  c: ParityCase,
  analysis: Analysis,
  fixture: Fixture,
  out: StepOutcome,
  other?: { after64: Map<string, Float32Array>; loss64: number },
): { failures: string[]; worstRatio: number; typical: number } {
  const { before, after, ref } = fixture;
  const after64 = fixture.after64;
  const failures: string[] = [];
  let worstRatio = 0;
  const check = (what: string, r: { ok: boolean; ratio: number; text: string }) => {
    worstRatio = Math.max(worstRatio, r.ratio);
    if (!r.ok) failures.push(`${what}: ${r.text}`);
  };
  const f = (s: string) => readF32(`${dir}/${c.id}.${s}.f32`);
  if (out.logits) check('logits', within(out.logits, f('train.logits'), f('train.logits64'), REL_FORWARD));
  if (out.feature) check('train feature', within(out.feature, f('train.feature'), f('train.feature64'), REL_FORWARD));
  // A fixture with another loss (mgn_step_reference.py) gives its own first-order bound, `lossFloor`.
  check('loss', within([out.loss], [ref.loss], [ref.loss64], 1e-5, 0, [other?.loss64 ?? ref.loss64], ref.lossFloor ?? lossFirstOrder(dir, c)));

  // PyTorch float32's upper-quartile relative distance from float64 over the model's weight updates.
  const rel32: number[] = [];
  for (const l of analysis.layers)
    for (const s of weightSpecs(l)) {
      const key = `${l.name}/${s.slot}`;
      const b0 = before.values.get(key)!;
      const m = maxDiffOfDeltas(after.values.get(key)!, after64.values.get(key)!, b0);
      if (!s.buffer && m.ref > 0) rel32.push(m.diff / m.ref);
    }
  rel32.sort((a, b) => a - b);
  const typical = rel32.length ? rel32[Math.floor(rel32.length * 0.75)]! : 0;
  for (const l of analysis.layers)
    for (const s of weightSpecs(l)) {
      const key = `${l.name}/${s.slot}`;
      const b0 = before.values.get(key)!;
      const pt = after.values.get(key)!;
      const pt64 = after64.values.get(key)!;
      const ref64 = other?.after64.get(key) ?? pt64;
      const got = out.weights.get(key)!;
      if (unmoved(pt, b0)) {
        // Frozen weights, frozen statistics and BNNeck's shift: exactly unchanged.
        if (!unmoved(got, b0)) failures.push(`${key} must not change`);
        continue;
      }
      if (s.buffer) check(key, within(got, pt, pt64, REL_STATS, 0, ref64));
      // The update (the step's change of the weight) against float64's: `within` on the deltas.
      else check(key, bound(maxDiffOfDeltas(got, ref64, b0), maxDiffOfDeltas(pt, pt64, b0), REL_UPDATE, typical, 0));
    }
  return { failures, worstRatio, typical };
}

/**
 * `compareStep` against the float64 step, then, when the engine is outside the bounds and the fixture lists
 * ReLU ties (see above), against each tie's float64 step in turn. `reference` names the float64 step the
 * outcome is within the bounds of ('float64 step', or the tie's step), or is null when none: then the
 * failures are the float64 step's.
 */
export async function compareStepWithTies(dir: string, c: ParityCase, analysis: Analysis, fixture: Fixture, out: StepOutcome): Promise<{ failures: string[]; worstRatio: number; typical: number; reference: string | null }> {
  const first = compareStep(dir, c, analysis, fixture, out);
  if (!first.failures.length) return { ...first, reference: 'float64 step' };
  for (const tie of fixture.ref.ties ?? []) {
    const alt = await fixture.load(tie.file.slice(c.id.length + 1));
    const r = compareStep(dir, c, analysis, fixture, out, { after64: alt.values, loss64: tie.loss64 });
    if (!r.failures.length) return { ...r, reference: `float64 step with the other branch of the ReLU tie ${tie.relu}[${tie.index.join(', ')}] (float64 ${tie.pre64.toExponential(2)}, PyTorch float32 ${tie.pre32.toExponential(2)})` };
  }
  return { ...first, reference: null };
}
