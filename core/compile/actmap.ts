import type { Layer } from '../graph/evaluate.js';
import { getKind } from '../registry/index.js';
import { CompileError } from '../registry/lowering.js';

/**
 * Activation maps as torchreid's `tools/visualize_actmap.py` (`visactmap`) draws them (Zagoruyko & Komodakis,
 * "Paying more attention to attention", ICLR 2017; Zhou et al., OSNet, ICCV 2019):
 *   am = (featuremaps ** 2).sum(1)                  # [B, h, w], the last conv feature map (return_featuremaps=True)
 *   am = F.normalize(am.view(B, h*w), p=2, dim=1)   # L2 over the spatial positions, eps 1e-12
 *   am = cv2.resize(am, (W, H))                     # bilinear (INTER_LINEAR) to the input image
 *   am = uint8(floor(255 · (am − min) / (max − min + 1e-12)))
 *   am = cv2.applyColorMap(am, COLORMAP_JET); overlapped = img·0.3 + am·0.7 (clipped to 255)
 * The engines compute the first line as an extra output of the lowered graph (ONNX: `ReduceSumSquare` on the
 * feature map, output ACTMAP_OUTPUT_NAME; tfjs: the feature-map layer's output); the rest is below, pure.
 * "The last feature map" is the input of the first global pooling layer met walking back from the eval
 * feature: what torchreid's models return with `return_featuremaps=True` (the backbone's output before
 * global pooling). Inputs are walked first to last, so a multi-branch feature (fast-reid MGN's concat of
 * b1, b2, b3, b21, …) draws its first, global branch's whole map, not the last head's stripe (a torch.chunk
 * part, which stretched over the image would be a wrong map). Pure: no I/O.
 */

/** torchreid visactmap's weight of the coloured map in the overlay (`img * 0.3 + am * 0.7`). */
export const ACTMAP_OPACITY = 0.7;

/** The ONNX graph's optional output of per-position squared activations summed over channels, [batch, h, w]. */
export const ACTMAP_OUTPUT_NAME = 'actmap';

/**
 * The layer whose output is the last feature map ([h, w, C] in the app's NHWC shapes): the input of the
 * first global pooling layer on the eval feature's path. Throws CompileError when the eval feature is
 * not global-pooled from a spatial map (nothing to draw).
 */
export function featureMapLayer(layers: Layer[], evalFeature: string): Layer {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const stack = [evalFeature];
  const seen = new Set<string>();
  while (stack.length) {
    const l = byName.get(stack.pop()!);
    if (!l || seen.has(l.name)) continue;
    seen.add(l.name);
    if (getKind(l.kind)?.globalPool) {
      const src = byName.get(l.inputs[0]!);
      if (src && src.shape.length === 3) return src;
    } else stack.push(...[...l.inputs].reverse());
  }
  throw new CompileError(`the eval feature ${evalFeature} is not global-pooled from a spatial feature map: no activation map to draw`);
}

/**
 * torchreid's normalisation in place: each of the `count` maps of `h·w` values divided by its L2 norm
 * (F.normalize: max(‖x‖₂, 1e-12)). `maps`: [count, h, w] sums of squares. Returns `maps`.
 */
export function normalizeActmaps(maps: Float32Array, count: number, h: number, w: number): Float32Array {
  const hw = h * w;
  for (let b = 0; b < count; b++) {
    const m = maps.subarray(b * hw, (b + 1) * hw);
    let ss = 0;
    for (let i = 0; i < hw; i++) ss += m[i]! * m[i]!;
    const n = Math.max(Math.sqrt(ss), 1e-12);
    for (let i = 0; i < hw; i++) m[i] = m[i]! / n;
  }
  return maps;
}

/**
 * Bilinear resize of one [h, w] map to [H, W] as OpenCV's `cv2.resize(…, INTER_LINEAR)` (and PyTorch's
 * `F.interpolate(mode='bilinear', align_corners=False)`, equal for upscaling): source coordinate
 * (i + 0.5)·h/H − 0.5, clamped to the border. Porting note: OpenCV computes in fixed point for 8-bit images
 * only; float maps, as here, are interpolated in floating point.
 */
export function resizeBilinear(map: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const axis = (n: number, N: number) =>
    Array.from({ length: N }, (_, i) => {
      const s = Math.min(Math.max((i + 0.5) * (n / N) - 0.5, 0), n - 1);
      const i0 = Math.floor(s);
      return { i0, i1: Math.min(i0 + 1, n - 1), f: s - i0 };
    });
  const ys = axis(h, H);
  const xs = axis(w, W);
  for (let y = 0; y < H; y++) {
    const { i0: y0, i1: y1, f: fy } = ys[y]!;
    for (let x = 0; x < W; x++) {
      const { i0: x0, i1: x1, f: fx } = xs[x]!;
      const top = map[y0 * w + x0]! * (1 - fx) + map[y0 * w + x1]! * fx;
      const bottom = map[y1 * w + x0]! * (1 - fx) + map[y1 * w + x1]! * fx;
      out[y * W + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/**
 * GNU Octave's / MATLAB's `jet` at t ∈ [0, 1] as RGB in [0, 1]: r = clamp(1.5 − |4t − 3|), g = clamp(1.5 −
 * |4t − 2|), b = clamp(1.5 − |4t − 1|). OpenCV's COLORMAP_JET is documented to equal Octave's jet; porting
 * note: OpenCV samples it into a 256-entry table, so a channel may differ from this formula by one level.
 */
export function jet(t: number): [number, number, number] {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

/**
 * The overlaid picture torchreid writes (its third panel): `image` RGB uint8 [H, W, 3] (the network's input
 * image: the resized picture), `map` one normalised activation map [h, w]. The map is resized to H×W,
 * min-max scaled to 0…255 and floored, coloured with jet, and blended as image·(1 − opacity) + colour·opacity,
 * truncated to uint8 (Pillow's `Image.blend(image, colour, opacity)`, up to its float32 rounding). `opacity` in
 * [0, 1], default torchreid's 0.7 (image·0.3 + colour·0.7); a lower one keeps the person visible under the map.
 * Returns RGB uint8 [H, W, 3]. Errors: RangeError for sizes that disagree or an opacity outside [0, 1].
 * Porting note: torchreid blends OpenCV's BGR colour map with the RGB image and writes the result with
 * cv2.imwrite (which takes BGR), so its overlap shows the photo with red and blue swapped; here both are RGB.
 */
export function overlayActmap(image: Uint8Array, H: number, W: number, map: Float32Array, h: number, w: number, opacity = ACTMAP_OPACITY): Uint8Array {
  if (image.length !== H * W * 3) throw new RangeError(`image has ${image.length} values, expected ${H}×${W}×3`);
  if (!(opacity >= 0 && opacity <= 1)) throw new RangeError(`opacity ${opacity} is outside [0, 1]`);
  // 1 − opacity to 9 decimals: 0.7 blends with torchreid's exact 0.3 (1 − 0.7 is 0.30000000000000004 in float64).
  const imageWeight = Math.round((1 - opacity) * 1e9) / 1e9;
  if (map.length !== h * w) throw new RangeError(`map has ${map.length} values, expected ${h}×${w}`);
  const big = resizeBilinear(map, h, w, H, W);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of big) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  // Levels to 0…255 rounding half to even (OpenCV's cvRound / saturate_cast, numpy's round): jet's ramps
  // land on exact halves.
  const roundEven = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
  const lut = Array.from({ length: 256 }, (_, i) => jet(i / 255).map((v) => roundEven(v * 255)));
  const out = new Uint8Array(H * W * 3);
  for (let p = 0; p < H * W; p++) {
    const level = Math.floor((255 * (big[p]! - lo)) / (hi - lo + 1e-12));
    const rgb = lut[Math.min(255, Math.max(0, level))]!;
    for (let ch = 0; ch < 3; ch++) out[p * 3 + ch] = Math.min(255, Math.floor(image[p * 3 + ch]! * imageWeight + rgb[ch]! * opacity));
  }
  return out;
}
