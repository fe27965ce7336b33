import type { Interpolation } from '../../../core/format/preprocess.js';
import { decodeImage } from '../../image/decode.js';

/**
 * Decodes an image file to exactly W×H RGB uint8: sharp decodes, the PIL resize port resizes
 * (main/image/resample.ts) with the document's filter — bilinear for reid-strong-baseline's `T.Resize`,
 * bicubic for fast-reid's. failOn 'warning' makes truncated JPEGs fail, so they are skipped and reported.
 */
export async function decodeResize(path: string, H: number, W: number, interpolation: Interpolation = 'bilinear', exifTranspose = false): Promise<Uint8Array> {
  return (await decodeImage(path, H, W, interpolation, 'warning', exifTranspose)).rgb;
}
