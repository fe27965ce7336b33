/**
 * Test-time pre-processing of reid-strong-baseline / fast-reid (data/transforms/build.py, is_train=False):
 * RGB, resize to the input size (T.Resize((h, w)) on the PIL image: bilinear in RSB, bicubic in fast-reid)
 * — here only when the image differs —, ToTensor (/255), Normalize(PIXEL_MEAN, PIXEL_STD). Output NHWC.
 * sharp only decodes; the resize is PIL's own algorithm (main/image/resample.ts), bit-identical to Pillow.
 */
import type { ImagePreprocess } from '../image/decode.js';
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { RSB_PREPROCESS, type PreprocessSettings } from '../../core/format/preprocess.js';
import { decodeImage, normalizeInto } from '../image/decode.js';
import { decodeFsName, displayPath, fsPath } from '../io/raw-names.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'];

export class ImageError extends Error {}

/** Image files of a folder (by extension), sorted by file name (code-point order, as Python's sorted()). */
export async function listImages(dir: string): Promise<string[]> {
  let names: string[];
  try {
    // Names as bytes: one that is not valid UTF-8 is kept (main/io/raw-names.ts), never dropped.
    names = (await readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' })).filter((e) => e.isFile()).map((e) => decodeFsName(e.name));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError(`cannot read the image folder ${displayPath(dir)}: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : (e as Error).message}`);
  }
  return names.filter((n) => IMAGE_EXTENSIONS.includes(extname(n).toLowerCase())).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Decodes one image to normalised RGB floats, NHWC (h·w·3 values written at `offset`), resized to h×w
 * with the document's filter when it is another size. Errors: ImageError naming the file.
 */
export async function loadImage(path: string, [h, w]: [number, number], out: Float32Array, offset = 0, pre: ImagePreprocess = RSB_PREPROCESS): Promise<{ resized: boolean }> {
  let img: { rgb: Uint8Array; resized: boolean };
  try {
    img = await decodeImage(path, h, w, pre.interpolation, 'error', !!pre.exifTranspose);
  } catch (e) {
    throw new ImageError(`${displayPath(path)}: cannot decode the image (${(e as Error).message})`);
  }
  normalizeInto(img.rgb, h * w, pre, out, offset);
  return { resized: img.resized };
}

/** Loads `files` of `dir` into one NHWC Float32Array (files.length × h × w × 3). */
export async function loadImages(dir: string, files: string[], size: [number, number], pre: ImagePreprocess = RSB_PREPROCESS): Promise<{ data: Float32Array; resized: number }> {
  const per = size[0] * size[1] * 3;
  const data = new Float32Array(files.length * per);
  let resized = 0;
  for (const [i, f] of files.entries()) if ((await loadImage(join(dir, f), size, data, i * per, pre)).resized) resized++;
  return { data, resized };
}
