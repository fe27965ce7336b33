/**
 * Image transforms of RSB data/transforms/build.py (reid-spec §4.7), on an RGB uint8 image already
 * resized to H×W, written as normalised float32 NHWC into a batch buffer.
 *
 * Train: RandomHorizontalFlip(0.5) → Pad(10, fill 0 = black) → RandomCrop(H, W) → ToTensor → Normalize →
 * RandomErasing(0.5, sl 0.02, sh 0.4, r1 0.3, mean = PIXEL_MEAN). RSB's build.py passes
 * mean = cfg.INPUT.PIXEL_MEAN (0.485, 0.456, 0.406) to RandomErasing (its class default 0.4914/0.4822/0.4465
 * is overridden), and erasing runs after Normalize, so those raw numbers land in the normalised tensor.
 * Test: ToTensor → Normalize.
 */
import { Rng } from './rng.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

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
}

/** Evaluation transform: normalise only. */
export function evalTransform(rgb: Uint8Array, H: number, W: number, out: Float32Array, offset: number): void {
  const n = H * W;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[offset + i * 3 + c] = (rgb[i * 3 + c]! / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
  }
}

/** Training transform with RSB's order and parameters; all randomness comes from `rng`. */
export function trainTransform(rgb: Uint8Array, H: number, W: number, rng: Rng, opt: AugmentOptions, out: Float32Array, offset: number): void {
  const flip = rng.float() < opt.flipProb;
  const pad = opt.padding;
  // torchvision RandomCrop on the padded (H+2p)×(W+2p) image: top/left uniform in [0, 2p].
  const top = pad > 0 ? rng.randint(0, 2 * pad) : 0;
  const left = pad > 0 ? rng.randint(0, 2 * pad) : 0;
  const black = [0, 1, 2].map((c) => (0 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!);
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
      out[o] = (rgb[s]! / 255 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
      out[o + 1] = (rgb[s + 1]! / 255 - IMAGENET_MEAN[1]) / IMAGENET_STD[1];
      out[o + 2] = (rgb[s + 2]! / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2];
    }
  }
  randomErasing(out, offset, H, W, rng, opt);
}

/** RSB data/transforms/transforms.py RandomErasing (Zhong et al.), on an HWC float image. */
export function randomErasing(out: Float32Array, offset: number, H: number, W: number, rng: Rng, opt: AugmentOptions): boolean {
  if (rng.uniform(0, 1) >= opt.randomErasingProb) return false;
  const sl = opt.sl ?? 0.02, sh = opt.sh ?? 0.4, r1 = opt.r1 ?? 0.3;
  const v = opt.eraseValue ?? IMAGENET_MEAN;
  const area = H * W;
  for (let attempt = 0; attempt < 100; attempt++) {
    const target = rng.uniform(sl, sh) * area;
    const aspect = rng.uniform(r1, 1 / r1);
    const h = Math.round(Math.sqrt(target * aspect));
    const w = Math.round(Math.sqrt(target / aspect));
    if (w < W && h < H) {
      const x1 = rng.randint(0, H - h); // row offset (img.size()[1] is the height)
      const y1 = rng.randint(0, W - w);
      for (let y = x1; y < x1 + h; y++)
        for (let x = y1; x < y1 + w; x++) {
          const o = offset + (y * W + x) * 3;
          out[o] = v[0];
          out[o + 1] = v[1];
          out[o + 2] = v[2];
        }
      return true;
    }
  }
  return false;
}
