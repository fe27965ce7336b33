import sharp from 'sharp';
import { documentFramework } from '../../core/config/index.js';
import { preprocessOf, type Interpolation, type PreprocessSettings } from '../../core/format/preprocess.js';
import type { GraphDoc } from '../../core/index.js';
import { readRegularFile } from '../io/files.js';
import { resizeUint8 } from './resample.js';

/**
 * Decodes an image file to interleaved RGB uint8 with sharp (libvips) — decoding only — and, when it is
 * another size, resizes it to W×H with the PIL resize port (resample.ts), as torchvision `T.Resize` does
 * on the PIL image the frameworks' `read_image` returns (`Image.open(path).convert('RGB')`). Grey images
 * are replicated to three channels, alpha is dropped (PIL's convert('RGB') does the same); CMYK is converted
 * by PIL's own formula (cmykToRgb), not libvips' ICC conversion (≥ 6 % apart). `exifTranspose` applies the EXIF
 * orientation first, as fast-reid's read_image does (`ImageOps.exif_transpose`, fastreid/data/data_utils.py);
 * reid-strong-baseline's read_image does not (data/datasets/dataset_loader.py).
 * `failOn` is sharp's: 'warning' also refuses truncated JPEGs (libvips would pad them with grey).
 * Only regular files are read, size-capped (main/io/files.ts). Errors: a FileError (missing, not a regular
 * file, too large), sharp's decode error (unreadable / unsupported image).
 */
export async function decodeImage(path: string, H: number, W: number, interpolation: Interpolation, failOn: 'warning' | 'error' = 'warning', exifTranspose = false): Promise<{ rgb: Uint8Array; resized: boolean }> {
  const bytes = await readRegularFile(path, 'image');
  const cmyk = (await sharp(bytes, { failOn }).metadata()).space === 'cmyk';
  // EXIF orientation: sharp's rotate() without an angle orients by it, as PIL's ImageOps.exif_transpose.
  const open = () => (exifTranspose ? sharp(bytes, { failOn }).rotate() : sharp(bytes, { failOn }));
  // CMYK (JPEG, TIFF): libvips would convert through an ICC profile; PIL's convert('RGB') does not (below).
  const pipeline = cmyk ? open().pipelineColourspace('cmyk').toColourspace('cmyk') : open().removeAlpha().toColourspace('srgb');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = info;
  let C: number = info.channels;
  let rgb: Uint8Array = new Uint8Array(data.buffer, data.byteOffset, w * h * C);
  if (cmyk) [rgb, C] = [cmykToRgb(rgb, w * h), 3];
  if (C !== 3) {
    const out = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = rgb[i * C + Math.min(c, C - 1)]!;
    rgb = out;
  }
  if (w === W && h === H) return { rgb, resized: false };
  return { rgb: resizeUint8(rgb, w, h, W, H, interpolation), resized: true };
}

/** A document's pre-processing plus its framework's EXIF rule (what the image loaders take). */
export interface ImagePreprocess extends PreprocessSettings {
  /** fast-reid documents: apply the EXIF orientation (core/config/conventions.ts decides the framework). */
  exifTranspose?: boolean;
}

/** The pre-processing the image loaders apply for `doc`: preprocessOf(doc) + the framework's EXIF rule. */
export function imagePreprocessOf(doc: GraphDoc): ImagePreprocess {
  return { ...preprocessOf(doc), exifTranspose: documentFramework(doc) === 'fastreid' };
}

/**
 * PIL's CMYK → RGB (Pillow libImaging/Convert.c `cmyk2rgb`, what `Image.convert('RGB')` does for a CMYK image,
 * no colour management): with nk = 255 − K, each of R, G, B = nk − MULDIV255(C|M|Y, nk), where
 * MULDIV255(a, b) = (t + (t >> 8)) >> 8 for t = a·b + 128. `cmyk` is interleaved CMYK uint8, `n` pixels.
 */
export function cmykToRgb(cmyk: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const nk = 255 - cmyk[i * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = cmyk[i * 4 + c]! * nk + 128;
      out[i * 3 + c] = nk - ((t + (t >> 8)) >> 8);
    }
  }
  return out;
}

/**
 * torchvision ToTensor + Normalize on an RGB uint8 image: out[offset + i] = (rgb[i] / 255 − mean[c]) / std[c],
 * NHWC float32, `n` pixels.
 */
export function normalizeInto(rgb: Uint8Array, n: number, p: Pick<PreprocessSettings, 'pixelMean' | 'pixelStd'>, out: Float32Array, offset: number): void {
  const [m0, m1, m2] = p.pixelMean;
  const [s0, s1, s2] = p.pixelStd;
  for (let i = 0, o = offset; i < n * 3; i += 3, o += 3) {
    out[o] = (rgb[i]! / 255 - m0) / s0;
    out[o + 1] = (rgb[i + 1]! / 255 - m1) / s1;
    out[o + 2] = (rgb[i + 2]! / 255 - m2) / s2;
  }
}
