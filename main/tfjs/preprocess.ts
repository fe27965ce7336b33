/**
 * Test-time pre-processing of reid-strong-baseline (RSB data/transforms/build.py, is_train=False):
 * RGB, resize to the input size (T.Resize((h, w)), bilinear) — here only when the image differs —,
 * ToTensor (/255), Normalize(mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]). Output NHWC.
 * Porting note: PIL's bilinear resize and libvips' (sharp) linear kernel both antialias on
 * downsampling but are not bit-identical (reid-spec §8.5); images already at the input size are exact.
 */
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { readRegularFile } from '../io/files.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'];

export class ImageError extends Error {}

/** Image files of a folder (by extension), sorted by file name (code-point order, as Python's sorted()). */
export async function listImages(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError(`cannot read the image folder ${dir}: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : (e as Error).message}`);
  }
  return names.filter((n) => IMAGE_EXTENSIONS.includes(extname(n).toLowerCase())).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Decodes one image to normalised RGB floats, NHWC, resized to h×w when it is another size. */
export async function loadImage(path: string, [h, w]: [number, number], out: Float32Array, offset = 0): Promise<{ resized: boolean }> {
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  let resized = false;
  try {
    const img = sharp(await readRegularFile(path, 'image'), { failOn: 'error' });
    const meta = await img.metadata();
    let pipe = img.removeAlpha().toColourspace('srgb');
    if (meta.width !== w || meta.height !== h) {
      pipe = pipe.resize(w, h, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false });
      resized = true;
    }
    raw = await pipe.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageError(`${path}: cannot decode the image (${(e as Error).message})`);
  }
  const { data, info } = raw;
  if (info.channels !== 3 || info.width !== w || info.height !== h) throw new ImageError(`${path}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${w}×${h}×3`);
  for (let i = 0; i < h * w; i++)
    for (let c = 0; c < 3; c++) out[offset + i * 3 + c] = (data[i * 3 + c]! / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
  return { resized };
}

/** Loads `files` of `dir` into one NHWC Float32Array. */
export async function loadImages(dir: string, files: string[], size: [number, number]): Promise<{ data: Float32Array; resized: number }> {
  const per = size[0] * size[1] * 3;
  const data = new Float32Array(files.length * per);
  let resized = 0;
  for (const [i, f] of files.entries()) if ((await loadImage(join(dir, f), size, data, i * per)).resized) resized++;
  return { data, resized };
}
