/**
 * Image transforms of RSB data/transforms/build.py, on an RGB uint8 image already resized to H×W (PIL's
 * resize, main/image/resample.ts), written as float32 NHWC normalised with the document's PIXEL_MEAN /
 * PIXEL_STD (ImageNet by default) into a batch buffer.
 *
 * Train: RandomHorizontalFlip(0.5) → Pad(10, fill 0 = black) → RandomCrop(H, W) → ToTensor → Normalize →
 * RandomErasing(0.5, sl 0.02, sh 0.4, r1 0.3, mean = PIXEL_MEAN). RSB's build.py passes
 * mean = cfg.INPUT.PIXEL_MEAN (0.485, 0.456, 0.406) to RandomErasing (its class default 0.4914/0.4822/0.4465
 * is overridden), and erasing runs after Normalize, so those raw numbers land in the normalised tensor.
 * Test: ToTensor → Normalize.
 */
import { RSB_PREPROCESS, type PreprocessSettings } from '../../../core/format/preprocess.js';
import { normalizeInto } from '../../image/decode.js';
import { autoAugment } from './autoaugment.js';
import { Rng } from './rng.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** ToTensor + Normalize constants (0–1 scale): the document's PIXEL_MEAN / PIXEL_STD. */
export type Normalization = Pick<PreprocessSettings, 'pixelMean' | 'pixelStd'>;

export interface AugmentOptions {
  flipProb: number;
  padding: number;
  randomErasingProb: number;
  /** Random-erasing area range and aspect lower bound (RSB transforms.py RandomErasing defaults). */
  sl?: number;
  sh?: number;
  r1?: number;
  /** Value written into erased pixels (normalised space): RSB passes PIXEL_MEAN. */
  eraseValue?: readonly [number, number, number];
  /** fast-reid INPUT.AUTOAUG.PROB: T.RandomApply([AutoAugment()], p) before the other transforms; 0/absent = off. */
  autoAugmentProb?: number;
}

/** Evaluation transform: normalise only. */
export function evalTransform(rgb: Uint8Array, H: number, W: number, out: Float32Array, offset: number, norm: Normalization = RSB_PREPROCESS): void {
  normalizeInto(rgb, H * W, norm, out, offset);
}

/** The random choices of one training transform (drawn in RSB's order: flip, crop, erasing). */
export interface TrainParams {
  flip: boolean;
  /** Crop offset in the padded image: top/left uniform in [0, 2·padding] (torchvision RandomCrop). */
  top: number;
  left: number;
  padding: number;
  /** Erased rectangle (rows y..y+h, columns x..x+w), or null. */
  erase: { y: number; x: number; h: number; w: number } | null;
  eraseValue: readonly [number, number, number];
}

export function drawTrainParams(rng: Rng, H: number, W: number, opt: AugmentOptions): TrainParams {
  const flip = rng.float() < opt.flipProb;
  const pad = opt.padding;
  const top = pad > 0 ? rng.randint(0, 2 * pad) : 0;
  const left = pad > 0 ? rng.randint(0, 2 * pad) : 0;
  return { flip, top, left, padding: pad, erase: drawErasing(rng, H, W, opt), eraseValue: opt.eraseValue ?? IMAGENET_MEAN };
}

/**
 * Training transform with RSB's order and parameters; all randomness comes from `rng`. With `autoAugmentProb`
 * fast-reid's AutoAugment runs first (fastreid/data/transforms/build.py; main/training/data/autoaugment.ts),
 * drawing from the same `rng` only when it is on, so runs without it draw exactly as before.
 */
export function trainTransform(rgb: Uint8Array, H: number, W: number, rng: Rng, opt: AugmentOptions, out: Float32Array, offset: number, norm: Normalization = RSB_PREPROCESS): void {
  const p = opt.autoAugmentProb ?? 0;
  const src = p > 0 && rng.float() < p ? autoAugment(rgb, H, W, rng) : rgb;
  applyTrainTransform(src, H, W, drawTrainParams(rng, H, W, opt), out, offset, norm);
}

/** Flip → pad (black) → crop → ToTensor → Normalize → erase, for given random choices. */
export function applyTrainTransform(rgb: Uint8Array, H: number, W: number, p: TrainParams, out: Float32Array, offset: number, norm: Normalization = RSB_PREPROCESS): void {
  const { flip, top, left, padding: pad } = p;
  const [m0, m1, m2] = norm.pixelMean;
  const [s0, s1, s2] = norm.pixelStd;
  const black = [-m0 / s0, -m1 / s1, -m2 / s2];
  for (let y = 0; y < H; y++) {
    const sy = y + top - pad;
    for (let x = 0; x < W; x++) {
      const o = offset + (y * W + x) * 3;
      const sxPadded = x + left - pad;
      if (sy < 0 || sy >= H || sxPadded < 0 || sxPadded >= W) {
        out[o] = black[0]!;
        out[o + 1] = black[1]!;
        out[o + 2] = black[2]!;
        continue;
      }
      // The flip happens before padding, so it mirrors the source column.
      const sx = flip ? W - 1 - sxPadded : sxPadded;
      const s = (sy * W + sx) * 3;
      out[o] = (rgb[s]! / 255 - m0) / s0;
      out[o + 1] = (rgb[s + 1]! / 255 - m1) / s1;
      out[o + 2] = (rgb[s + 2]! / 255 - m2) / s2;
    }
  }
  const e = p.erase;
  if (e) {
    const v = p.eraseValue;
    for (let y = e.y; y < e.y + e.h; y++)
      for (let x = e.x; x < e.x + e.w; x++) {
        const o = offset + (y * W + x) * 3;
        out[o] = v[0];
        out[o + 1] = v[1];
        out[o + 2] = v[2];
      }
  }
}

/**
 * RSB data/transforms/transforms.py RandomErasing (Zhong et al.): with probability p, up to 100 attempts
 * of area ∈ U[sl, sh]·H·W and aspect ∈ U[r1, 1/r1]; h = round(√(area·aspect)), w = round(√(area/aspect)),
 * accepted if h < H and w < W; corner uniform.
 */
export function drawErasing(rng: Rng, H: number, W: number, opt: AugmentOptions): TrainParams['erase'] {
  if (rng.uniform(0, 1) >= opt.randomErasingProb) return null;
  const sl = opt.sl ?? 0.02, sh = opt.sh ?? 0.4, r1 = opt.r1 ?? 0.3;
  const area = H * W;
  for (let attempt = 0; attempt < 100; attempt++) {
    const target = rng.uniform(sl, sh) * area;
    const aspect = rng.uniform(r1, 1 / r1);
    const h = Math.round(Math.sqrt(target * aspect));
    const w = Math.round(Math.sqrt(target / aspect));
    if (w < W && h < H) {
      const y = rng.randint(0, H - h); // RSB's x1 indexes img.size()[1], the height
      const x = rng.randint(0, W - w);
      return { y, x, h, w };
    }
  }
  return null;
}
