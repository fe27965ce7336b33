/**
 * Activation-map pictures of image files (torchreid `tools/visualize_actmap.py`'s overlaid panel): each file
 * decoded and resized as the model's input (decode.ts, the document's pre-processing), the engine's map
 * (Σ_c x² of the last feature map) normalised, resized, coloured and blended (core/compile/actmap.ts), and
 * encoded as PNG (sharp). Used by `reid-studio actmap` and the rank lists' activation-map toggle.
 */
import sharp from 'sharp';
import { normalizeActmaps, overlayActmap } from '../../core/index.js';
import { decodeImage, normalizeInto, type ImagePreprocess } from './decode.js';

/** The engine's raw maps of `count` NHWC normalised images: [count, h, w] sums of squares. */
export type ActmapFn = (images: Float32Array, count: number, batchSize?: number) => Promise<{ maps: Float32Array; h: number; w: number }>;

/** An image that cannot be read or decoded (the message names the file). */
export class ActmapImageError extends Error {}

export interface ActmapPicture {
  /** The overlaid picture, RGB uint8 [H, W, 3] at the model's input size. */
  rgb: Uint8Array;
  /** The normalised map, [h, w] (L2 norm 1 over the positions). */
  map: Float32Array;
}

/**
 * Overlaid activation maps of `paths` (at most `batchSize` images decoded at a time). `size`: the model's
 * [H, W]; `opacity`: the map's weight in the blend (core `overlayActmap`, torchreid's 0.7 by default). Errors: ActmapImageError (a file that cannot be read or decoded), the engine's (core's
 * CompileError for a graph without a spatial feature map).
 */
export async function actmapPictures(paths: string[], size: [number, number], pre: ImagePreprocess, actmaps: ActmapFn, batchSize = 16, opacity?: number): Promise<{ pictures: ActmapPicture[]; h: number; w: number }> {
  const [H, W] = size;
  const per = H * W * 3;
  const pictures: ActmapPicture[] = [];
  let fh = 0;
  let fw = 0;
  for (let i = 0; i < paths.length; i += batchSize) {
    const chunk = paths.slice(i, i + batchSize);
    const rgbs: Uint8Array[] = [];
    const data = new Float32Array(chunk.length * per);
    for (const [j, p] of chunk.entries()) {
      let rgb: Uint8Array;
      try {
        rgb = (await decodeImage(p, H, W, pre.interpolation, 'error', !!pre.exifTranspose)).rgb;
      } catch (e) {
        throw new ActmapImageError(`${p}: cannot decode the image (${(e as Error).message})`);
      }
      normalizeInto(rgb, H * W, pre, data, j * per);
      rgbs.push(rgb);
    }
    const { maps, h, w } = await actmaps(data, chunk.length, batchSize);
    [fh, fw] = [h, w];
    normalizeActmaps(maps, chunk.length, h, w);
    rgbs.forEach((rgb, j) => {
      const map = maps.slice(j * h * w, (j + 1) * h * w);
      pictures.push({ rgb: overlayActmap(rgb, H, W, map, h, w, opacity), map });
    });
  }
  return { pictures, h: fh, w: fw };
}

/** PNG bytes of an RGB uint8 [H, W, 3] picture. */
export async function encodePng(rgb: Uint8Array, H: number, W: number): Promise<Uint8Array> {
  return new Uint8Array(await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer());
}
