import { describe, expect, it } from 'vitest';
import { affine, autoAugment, autocontrast, color, contrast, equalize, IMAGENET_POLICY, invert, posterize, rotate, sharpness, solarize } from '../../main/training/data/autoaugment.js';
import { trainTransform } from '../../main/training/data/augment.js';
import { Rng } from '../../main/training/data/rng.js';
import { runPython, testRandom } from './python.js';

/**
 * fast-reid's AutoAugment ops (timm's ImageNet policy in fastreid/data/transforms/autoaugment.py) against
 * Pillow 9 on one image (test/training/ref_autoaugment.py): every op, the bilinear geometric ones (Rotate, ShearX
 * at timm's magnitudes) included, equals Pillow's output exactly.
 */
const H = 24, W = 16;
const r = testRandom(11);
// Smooth gradients plus noise: a histogram with gaps and ties (equalize, autocontrast) and edges (sharpness).
const img = Uint8Array.from({ length: H * W * 3 }, (_, i) => {
  const p = Math.floor(i / 3), b = i % 3, y = Math.floor(p / W), x = p % W;
  return Math.max(0, Math.min(255, Math.round(40 + 6 * y + 5 * x * (b + 1) / 2 + (r() - 0.5) * 30)));
});

const CASES: [string, number, (a: Uint8Array) => Uint8Array, number][] = [
  ['posterize', 4, (a) => posterize(a, 4), 0],
  ['posterize', 7, (a) => posterize(a, 7), 0],
  ['solarize', 128, (a) => solarize(a, 128), 0],
  ['solarize', 76, (a) => solarize(a, 76), 0],
  ['autocontrast', 0, autocontrast, 0],
  ['equalize', 0, equalize, 0],
  ['invert', 0, invert, 0],
  ['color', 0.1, (a) => color(a, 0.1), 0],
  ['color', 1.54, (a) => color(a, 1.54), 0],
  ['contrast', 1.54, (a) => contrast(a, 1.54), 0],
  ['contrast', 0.46, (a) => contrast(a, 0.46), 0],
  ['sharpness', 1.36, (a) => sharpness(a, H, W, 1.36), 0],
  ['sharpness', 0.3, (a) => sharpness(a, H, W, 0.3), 0],
  ['rotate', 27, (a) => rotate(a, H, W, 27), 0],
  ['rotate', -24, (a) => rotate(a, H, W, -24), 0],
  ['shearX', 0.15, (a) => affine(a, H, W, [1, 0.15, 0, 0, 1, 0]), 0],
  ['shearX', -0.15, (a) => affine(a, H, W, [1, -0.15, 0, 0, 1, 0]), 0],
];

describe('AutoAugment ops vs Pillow', () => {
  const ref = runPython<number[][]>('ref_autoaugment.py', { img: Array.from(img), H, W, ops: CASES.map(([n, a]) => [n, a]) });
  CASES.forEach(([name, arg, fn, tol], i) => {
    it(`${name}(${arg})`, () => {
      const mine = fn(img);
      const want = ref[i]!;
      expect(mine.length).toBe(want.length);
      let worst = 0;
      let changed = 0;
      for (let j = 0; j < want.length; j++) {
        worst = Math.max(worst, Math.abs(mine[j]! - want[j]!));
        if (want[j] !== img[j]) changed++;
      }
      expect(worst).toBeLessThanOrEqual(tol);
      expect(changed, 'the op changes the image').toBeGreaterThan(0);
    });
  });

  it('the policy is timm auto_augment_policy_original (25 sub-policies of two ops); draws are seeded', () => {
    expect(IMAGENET_POLICY.length).toBe(25);
    const a = autoAugment(img, H, W, new Rng(5));
    const b = autoAugment(img, H, W, new Rng(5));
    expect(Array.from(a)).toEqual(Array.from(b));
    const differs = [1, 2, 3, 4, 6, 7, 8].some((s) => autoAugment(img, H, W, new Rng(s)).some((v, j) => v !== img[j]));
    expect(differs).toBe(true);
  });

  it('the training transform applies it with INPUT.AUTOAUG.PROB, and draws nothing extra when it is off', () => {
    const opt = { flipProb: 0.5, padding: 2, randomErasingProb: 0.5 };
    const run = (o: object, seed: number) => {
      const out = new Float32Array(H * W * 3);
      trainTransform(img, H, W, new Rng(seed), { ...opt, ...o }, out, 0);
      return Array.from(out);
    };
    for (const seed of [1, 2, 3]) expect(run({ autoAugmentProb: 0 }, seed)).toEqual(run({}, seed));
    const changed = [1, 2, 3, 4, 5, 6].filter((seed) => JSON.stringify(run({ autoAugmentProb: 1 }, seed)) !== JSON.stringify(run({}, seed)));
    expect(changed.length).toBeGreaterThan(0);
  });
});
