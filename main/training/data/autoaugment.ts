/**
 * fast-reid's AutoAugment (fastreid/data/transforms/autoaugment.py, timm's port of the ImageNet policy of
 * Cubuk et al., "AutoAugment", arXiv:1805.09501: `auto_augment_policy_original`), on an RGB uint8 H×W image.
 * A sub-policy is chosen uniformly; each of its two ops runs with its probability at its magnitude (0–10),
 * with timm's level → argument maps. Pixel ops follow Pillow 9 (ImageOps, ImageEnhance, Image.blend,
 * ImageFilter.SMOOTH, Image.transform): test/training/autoaugment.test.ts compares them with Pillow.
 *
 * Porting notes: fast-reid applies AutoAugment to the image before its Resize; the app's pipeline resizes
 * first. timm picks bilinear or bicubic at random for Rotate / ShearX; the app draws the choice but always
 * resamples bilinearly. The stored fast-reid version also fades the policy out over `total_iter`
 * applications (gamma); the app applies it with the configured probability throughout.
 */
import type { Rng } from './rng.js';

type Op = 'PosterizeOriginal' | 'Rotate' | 'Solarize' | 'AutoContrast' | 'Equalize' | 'Color' | 'Contrast' | 'Invert' | 'Sharpness' | 'ShearX';

/** timm auto_augment_policy_original: [op, probability, magnitude] pairs. */
export const IMAGENET_POLICY: readonly (readonly [readonly [Op, number, number], readonly [Op, number, number]])[] = [
  [['PosterizeOriginal', 0.4, 8], ['Rotate', 0.6, 9]],
  [['Solarize', 0.6, 5], ['AutoContrast', 0.6, 5]],
  [['Equalize', 0.8, 8], ['Equalize', 0.6, 3]],
  [['PosterizeOriginal', 0.6, 7], ['PosterizeOriginal', 0.6, 6]],
  [['Equalize', 0.4, 7], ['Solarize', 0.2, 4]],
  [['Equalize', 0.4, 4], ['Rotate', 0.8, 8]],
  [['Solarize', 0.6, 3], ['Equalize', 0.6, 7]],
  [['PosterizeOriginal', 0.8, 5], ['Equalize', 1.0, 2]],
  [['Rotate', 0.2, 3], ['Solarize', 0.6, 8]],
  [['Equalize', 0.6, 8], ['PosterizeOriginal', 0.4, 6]],
  [['Rotate', 0.8, 8], ['Color', 0.4, 0]],
  [['Rotate', 0.4, 9], ['Equalize', 0.6, 2]],
  [['Equalize', 0.0, 7], ['Equalize', 0.8, 8]],
  [['Invert', 0.6, 4], ['Equalize', 1.0, 8]],
  [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
  [['Rotate', 0.8, 8], ['Color', 1.0, 2]],
  [['Color', 0.8, 8], ['Solarize', 0.8, 7]],
  [['Sharpness', 0.4, 7], ['Invert', 0.6, 8]],
  [['ShearX', 0.6, 5], ['Equalize', 1.0, 9]],
  [['Color', 0.4, 0], ['Equalize', 0.6, 3]],
  [['Equalize', 0.4, 7], ['Solarize', 0.2, 4]],
  [['Solarize', 0.6, 5], ['AutoContrast', 0.6, 5]],
  [['Invert', 0.6, 4], ['Equalize', 1.0, 8]],
  [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
  [['Equalize', 0.8, 8], ['Equalize', 0.6, 3]],
];

/** timm _FILL: the colour geometric ops pull in from outside the image. */
const FILL = 128;

const lut = (img: Uint8Array, table: (v: number, band: number) => number): Uint8Array => img.map((v, i) => table(v, i % 3));

/** ImageOps.posterize: keep the `bits` most significant bits (8 = unchanged, as timm's posterize). */
export function posterize(img: Uint8Array, bits: number): Uint8Array {
  if (bits >= 8) return img.slice();
  const mask = ~((1 << (8 - bits)) - 1) & 0xff;
  return lut(img, (v) => v & mask);
}

/** ImageOps.solarize: values ≥ threshold are inverted. */
export function solarize(img: Uint8Array, threshold: number): Uint8Array {
  return lut(img, (v) => (v < threshold ? v : 255 - v));
}

/** ImageOps.invert. */
export function invert(img: Uint8Array): Uint8Array {
  return lut(img, (v) => 255 - v);
}

function histograms(img: Uint8Array): number[][] {
  const h = [0, 1, 2].map(() => new Array<number>(256).fill(0));
  for (let i = 0; i < img.length; i++) h[i % 3]![img[i]!]!++;
  return h;
}

/** ImageOps.autocontrast (cutoff 0): each band stretched from its [lo, hi] to [0, 255], int() truncation. */
export function autocontrast(img: Uint8Array): Uint8Array {
  const tables = histograms(img).map((h) => {
    const lo = h.findIndex((c) => c > 0);
    let hi = 255;
    while (hi >= 0 && !h[hi]) hi--;
    if (hi <= lo) return Array.from({ length: 256 }, (_, i) => i);
    const scale = 255 / (hi - lo);
    const offset = -lo * scale;
    return Array.from({ length: 256 }, (_, i) => Math.min(255, Math.max(0, Math.trunc(i * scale + offset))));
  });
  return lut(img, (v, b) => tables[b]![v]!);
}

/** ImageOps.equalize: per band, the cumulative histogram in steps of (total − count of the top value) // 255. */
export function equalize(img: Uint8Array): Uint8Array {
  const tables = histograms(img).map((h) => {
    const used = h.filter((c) => c > 0);
    const identity = Array.from({ length: 256 }, (_, i) => i);
    if (used.length <= 1) return identity;
    const step = Math.floor((used.reduce((a, b) => a + b, 0) - used[used.length - 1]!) / 255);
    if (!step) return identity;
    let n = Math.floor(step / 2);
    return h.map((c) => {
      const v = Math.floor(n / step);
      n += c;
      return v;
    });
  });
  return lut(img, (v, b) => Math.min(255, tables[b]![v]!));
}

/** Image.blend(degenerate, img, factor): float32 d + f·(x − d), clipped, truncated (Pillow ImagingBlend). */
function blend(degenerate: Uint8Array | number, img: Uint8Array, factor: number): Uint8Array {
  const f = Math.fround(factor);
  return img.map((x, i) => {
    const d = typeof degenerate === 'number' ? degenerate : degenerate[i]!;
    const t = Math.fround(d + Math.fround(f * (x - d)));
    return t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
  });
}

/** Pillow's RGB → L: (R·19595 + G·38470 + B·7471 + 2¹⁵) >> 16. */
function luma(img: Uint8Array): Uint8Array {
  const out = new Uint8Array(img.length / 3);
  for (let p = 0; p < out.length; p++) out[p] = (img[3 * p]! * 19595 + img[3 * p + 1]! * 38470 + img[3 * p + 2]! * 7471 + 0x8000) >> 16;
  return out;
}

/** ImageEnhance.Color: blend with the grey (L → RGB) image. */
export function color(img: Uint8Array, factor: number): Uint8Array {
  const l = luma(img);
  const grey = img.map((_, i) => l[Math.floor(i / 3)]!);
  return blend(grey, img, factor);
}

/** ImageEnhance.Contrast: blend with the mean grey level, int(mean(L) + 0.5). */
export function contrast(img: Uint8Array, factor: number): Uint8Array {
  const l = luma(img);
  let sum = 0;
  for (const v of l) sum += v;
  return blend(Math.trunc(sum / l.length + 0.5), img, factor);
}

/** ImageEnhance.Sharpness: blend with ImageFilter.SMOOTH (3×3 kernel 1 1 1 / 1 5 1 / 1 1 1, ÷13; border pixels copied). */
export function sharpness(img: Uint8Array, H: number, W: number, factor: number): Uint8Array {
  const smooth = img.slice();
  const k = [1, 1, 1, 1, 5, 1, 1, 1, 1].map((v) => Math.fround(v / 13));
  for (let y = 1; y < H - 1; y++)
    for (let x = 1; x < W - 1; x++)
      for (let b = 0; b < 3; b++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s = Math.fround(s + Math.fround(img[((y + dy) * W + x + dx) * 3 + b]! * k[(dy + 1) * 3 + dx + 1]!));
        smooth[(y * W + x) * 3 + b] = s <= 0 ? 0 : s >= 255 ? 255 : Math.trunc(s + 0.5);
      }
  return blend(smooth, img, factor);
}

/**
 * Image.transform(size, AFFINE, (a, b, c, d, e, f), BILINEAR, fillcolor): output pixel centre (x + ½, y + ½)
 * samples the input at (a·x' + b·y' + c, d·x' + e·y' + f), bilinearly between pixel centres with edge
 * clamping, truncated to uint8 (Pillow's bilinear_filter); a sample outside [0, W) × [0, H) takes the fill colour.
 */
export function affine(img: Uint8Array, H: number, W: number, m: readonly number[]): Uint8Array {
  const out = new Uint8Array(img.length);
  const clampX = (x: number) => Math.min(W - 1, Math.max(0, x));
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      let xin = m[0]! * (x + 0.5) + m[1]! * (y + 0.5) + m[2]!;
      let yin = m[3]! * (x + 0.5) + m[4]! * (y + 0.5) + m[5]!;
      if (xin < 0 || xin >= W || yin < 0 || yin >= H) {
        out[o] = out[o + 1] = out[o + 2] = FILL;
        continue;
      }
      xin -= 0.5;
      yin -= 0.5;
      const x0 = Math.floor(xin);
      const y0 = Math.floor(yin);
      const dx = xin - x0;
      const dy = yin - y0;
      const r0 = Math.min(H - 1, Math.max(0, y0));
      const hasR1 = y0 + 1 >= 0 && y0 + 1 < H;
      const xa = clampX(x0);
      const xb = clampX(x0 + 1);
      for (let b = 0; b < 3; b++) {
        const at = (r: number, c: number) => img[(r * W + c) * 3 + b]!;
        const v1 = at(r0, xa) + (at(r0, xb) - at(r0, xa)) * dx;
        const v2 = hasR1 ? at(y0 + 1, xa) + (at(y0 + 1, xb) - at(y0 + 1, xa)) * dx : v1;
        const v = v1 + (v2 - v1) * dy;
        out[o + b] = Math.trunc(v);
      }
    }
  return out;
}

/** Image.rotate(degrees) about the centre (counter-clockwise), same size, fill colour outside. */
export function rotate(img: Uint8Array, H: number, W: number, degrees: number): Uint8Array {
  const a = (-degrees * Math.PI) / 180;
  const r = (v: number) => Math.round(v * 1e15) / 1e15;
  const m = [r(Math.cos(a)), r(Math.sin(a)), 0, r(-Math.sin(a)), r(Math.cos(a)), 0];
  const cx = W / 2, cy = H / 2;
  m[2] = m[0]! * -cx + m[1]! * -cy + cx;
  m[5] = m[3]! * -cx + m[4]! * -cy + cy;
  return affine(img, H, W, m);
}

/** timm _randomly_negate: −v when random() > 0.5. */
const negate = (v: number, rng: Rng) => (rng.float() > 0.5 ? -v : v);

function applyOp(img: Uint8Array, H: number, W: number, op: Op, magnitude: number, rng: Rng): Uint8Array {
  const level = magnitude / 10;
  const enhance = level * 1.8 + 0.1; // timm _enhance_level_to_arg: [0.1, 1.9]
  switch (op) {
    case 'PosterizeOriginal':
      return posterize(img, Math.trunc(level * 4) + 4);
    case 'Solarize':
      return solarize(img, Math.trunc(level * 256));
    case 'AutoContrast':
      return autocontrast(img);
    case 'Equalize':
      return equalize(img);
    case 'Invert':
      return invert(img);
    case 'Color':
      return color(img, enhance);
    case 'Contrast':
      return contrast(img, enhance);
    case 'Sharpness':
      return sharpness(img, H, W, enhance);
    case 'Rotate': {
      const deg = negate(level * 30, rng);
      rng.float(); // timm's random choice of bilinear / bicubic (porting note above)
      return rotate(img, H, W, deg);
    }
    case 'ShearX': {
      const f = negate(level * 0.3, rng);
      rng.float();
      return affine(img, H, W, [1, f, 0, 0, 1, 0]);
    }
  }
}

/** One AutoAugment application (a uniformly chosen ImageNet sub-policy) to an RGB uint8 H×W image; returns a new image. */
export function autoAugment(img: Uint8Array, H: number, W: number, rng: Rng): Uint8Array {
  const sub = IMAGENET_POLICY[rng.randint(0, IMAGENET_POLICY.length - 1)]!;
  let out = img;
  for (const [op, prob, magnitude] of sub) {
    // timm AugmentOp: skipped when prob < 1 and random() > prob.
    if (prob < 1 && rng.float() > prob) continue;
    out = applyOp(out, H, W, op, magnitude, rng);
  }
  return out;
}
