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

/** tfjs must be as close to float64 as FACTOR × PyTorch float32's distance, or within the floor. */
export function within(tfjs: ArrayLike<number>, pt32: ArrayLike<number>, pt64: ArrayLike<number>, rel: number, typical = 0): { ok: boolean; ratio: number; text: string } {
  const a = maxDiff(tfjs, pt64);
  const b = maxDiff(pt32, pt64);
  const limit = Math.max(FACTOR * b.diff, rel * a.ref, TYPICAL_FACTOR * typical * a.ref);
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
  const ref = JSON.parse((await import('node:fs')).readFileSync(`${dir}/${c.id}.json`, 'utf8')) as { loss: number; loss64: number; trainable: string[] };
  return { before, after, after64, ref };
}

/**
 * Compares one engine's step with PyTorch's (the bounds above): the failures (empty when within bounds),
 * the worst (ours − float64)/(PyTorch float32 − float64) ratio and PyTorch float32's typical update distance.
 */
export function compareStep(dir: string, c: ParityCase, analysis: Analysis, fixture: Awaited<ReturnType<typeof stepFixture>>, out: StepOutcome): { failures: string[]; worstRatio: number; typical: number } {
  const { before, after, after64, ref } = fixture;
  const failures: string[] = [];
  let worstRatio = 0;
  const check = (what: string, r: { ok: boolean; ratio: number; text: string }) => {
    worstRatio = Math.max(worstRatio, r.ratio);
    if (!r.ok) failures.push(`${what}: ${r.text}`);
  };
  const f = (s: string) => readF32(`${dir}/${c.id}.${s}.f32`);
  if (out.logits) check('logits', within(out.logits, f('train.logits'), f('train.logits64'), REL_FORWARD));
  if (out.feature) check('train feature', within(out.feature, f('train.feature'), f('train.feature64'), REL_FORWARD));
  check('loss', within([out.loss], [ref.loss], [ref.loss64], 1e-5));

  // PyTorch float32's upper-quartile relative distance from float64 over the model's weight updates.
  const rel32: number[] = [];
  for (const l of analysis.layers)
    for (const s of weightSpecs(l)) {
      const key = `${l.name}/${s.slot}`;
      const b0 = before.values.get(key)!;
      const d32 = after.values.get(key)!.map((x, i) => x - b0[i]!);
      const d64 = after64.values.get(key)!.map((x, i) => x - b0[i]!);
      const m = maxDiff(d32, d64);
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
      const got = out.weights.get(key)!;
      const delta = (v: Float32Array) => v.map((x, i) => x - b0[i]!);
      if (!delta(pt).some((d) => d !== 0)) {
        // Frozen weights, frozen statistics and BNNeck's shift: exactly unchanged.
        if (!delta(got).every((d) => d === 0)) failures.push(`${key} must not change`);
        continue;
      }
      if (s.buffer) check(key, within(got, pt, pt64, REL_STATS));
      else check(key, within(delta(got), delta(pt), delta(pt64), REL_UPDATE, typical));
    }
  return { failures, worstRatio, typical };
}
