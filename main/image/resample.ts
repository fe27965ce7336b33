/**
 * Pillow's `Image.resize` (src/libImaging/Resample.c, ImagingResample) for 8-bit images, ported so that
 * the result is bit-identical to PIL's: torchvision `T.Resize` on PIL images calls it, with BILINEAR in
 * reid-strong-baseline (data/transforms/build.py) and BICUBIC in fast-reid (`interpolation=3`,
 * fastreid/data/transforms/build.py).
 *
 * What makes it PIL's and not another bilinear resize:
 * - separable: a horizontal pass over the source rows the vertical pass needs, rounded and clipped to
 *   uint8, then a vertical pass over that intermediate image (horizontal first, always);
 * - sample centres at (i + 0.5)·scale (pixel-centre alignment, the "half pixel" libvips' upscaler does
 *   not use), and the filter support widened by the scale when shrinking (antialias);
 * - taps [round(centre − support), round(centre + support)) clipped to the image, weights normalised to
 *   sum 1 per output pixel, then turned into fixed point with PRECISION_BITS = 22 (rounded away from 0),
 *   accumulated from 1 << 21 and shifted back: the same integers as Pillow's C code.
 * Porting note: Pillow's `box` argument is fixed to the whole image (what T.Resize passes), and only the
 * bilinear and bicubic (a = −0.5) filters are ported.
 */

export type Interpolation = 'bilinear' | 'bicubic';

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

/** Resample.c bilinear_filter (support 1). */
function bilinear(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** Resample.c bicubic_filter, Keys' cubic convolution with a = −0.5 (support 2). */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

const FILTERS: Record<Interpolation, { fn: (x: number) => number; support: number }> = {
  bilinear: { fn: bilinear, support: 1 },
  bicubic: { fn: bicubic, support: 2 },
};

/** Fixed-point taps of one axis: output i reads `count[i]` inputs from `first[i]` with weights kk[i·ksize …]. */
interface Coeffs {
  ksize: number;
  first: Int32Array;
  count: Int32Array;
  kk: Int32Array;
}

/** Resample.c precompute_coeffs + normalize_coeffs_8bpc, for the box [0, inSize). */
function computeCoeffs(inSize: number, outSize: number, interpolation: Interpolation): Coeffs {
  const filter = FILTERS[interpolation];
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const v = filter.fn((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? w[x]! / ww : w[x]!;
      kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, first, count, kk };
}

// Coefficients depend only on (filter, in size, out size): a dataset has few distinct pairs.
const CACHE_LIMIT = 256;
const cache = new Map<string, Coeffs>();

function coeffs(inSize: number, outSize: number, interpolation: Interpolation): Coeffs {
  const key = `${interpolation}:${inSize}:${outSize}`;
  let c = cache.get(key);
  if (!c) {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    c = computeCoeffs(inSize, outSize, interpolation);
    cache.set(key, c);
  }
  return c;
}

/** Resample.c clip8: the accumulator shifted back to 8 bits, clipped to [0, 255]. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes an interleaved uint8 image (`channels` per pixel, row-major, inW×inH) to outW×outH exactly as
 * Pillow's `Image.resize((outW, outH), BILINEAR | BICUBIC)` does. Returns a new buffer (or a copy when the
 * size does not change, as Pillow does). Sides must be ≥ 1. Errors: a RangeError for a bad size or a
 * buffer shorter than inW·inH·channels.
 */
export function resizeUint8(src: Uint8Array, inW: number, inH: number, outW: number, outH: number, interpolation: Interpolation, channels = 3): Uint8Array {
  for (const [name, v] of [['inW', inW], ['inH', inH], ['outW', outW], ['outH', outH], ['channels', channels]] as const)
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`resize: ${name} must be a whole number ≥ 1 (got ${v})`);
  if (src.length < inW * inH * channels) throw new RangeError(`resize: the buffer holds ${src.length} bytes, ${inW}×${inH}×${channels} needs ${inW * inH * channels}`);
  const C = channels;
  const needH = outW !== inW;
  const needV = outH !== inH;
  if (!needH && !needV) return src.slice(0, inW * inH * C);

  const vert = coeffs(inH, outH, interpolation);
  // Only the source rows the vertical pass reads go through the horizontal pass (ybox_first … ybox_last).
  const yFirst = needV ? vert.first[0]! : 0;
  const yLast = needV ? vert.first[outH - 1]! + vert.count[outH - 1]! : inH;

  let img = src;
  let rowOffset = 0;
  let w = inW;
  if (needH) {
    const hc = coeffs(inW, outW, interpolation);
    const rows = yLast - yFirst;
    const tmp = new Uint8Array(outW * rows * C);
    const { ksize, first, count, kk } = hc;
    const acc = new Float64Array(C);
    for (let y = 0; y < rows; y++) {
      const srcRow = (y + yFirst) * inW * C;
      const dstRow = y * outW * C;
      for (let xx = 0; xx < outW; xx++) {
        const k0 = xx * ksize;
        const n = count[xx]!;
        let s = srcRow + first[xx]! * C;
        if (C === 3) {
          let s0 = HALF, s1 = HALF, s2 = HALF;
          for (let x = 0; x < n; x++, s += 3) {
            const k = kk[k0 + x]!;
            s0 += img[s]! * k;
            s1 += img[s + 1]! * k;
            s2 += img[s + 2]! * k;
          }
          const d = dstRow + xx * 3;
          tmp[d] = clip8(s0);
          tmp[d + 1] = clip8(s1);
          tmp[d + 2] = clip8(s2);
        } else {
          acc.fill(HALF);
          for (let x = 0; x < n; x++, s += C) for (let c = 0; c < C; c++) acc[c]! += img[s + c]! * kk[k0 + x]!;
          for (let c = 0; c < C; c++) tmp[dstRow + xx * C + c] = clip8(acc[c]!);
        }
      }
    }
    img = tmp;
    rowOffset = yFirst;
    w = outW;
  }
  if (!needV) return img === src ? src.slice(0, inW * inH * C) : img;

  const out = new Uint8Array(w * outH * C);
  const { ksize, first, count, kk } = vert;
  const stride = w * C;
  // Row by row, tap by tap: sequential reads of whole rows (the sums are Pillow's int32 accumulators).
  const acc = new Int32Array(stride);
  for (let yy = 0; yy < outH; yy++) {
    const k0 = yy * ksize;
    const n = count[yy]!;
    const base = (first[yy]! - rowOffset) * stride;
    acc.fill(HALF);
    for (let y = 0; y < n; y++) {
      const k = kk[k0 + y]!;
      const row = base + y * stride;
      for (let i = 0; i < stride; i++) acc[i] = acc[i]! + img[row + i]! * k;
    }
    const dstRow = yy * stride;
    for (let i = 0; i < stride; i++) out[dstRow + i] = clip8(acc[i]!);
  }
  return out;
}
