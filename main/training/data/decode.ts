import sharp from 'sharp';
import { readRegularFile } from '../../io/files.js';

/**
 * Decodes an image file and resizes it to exactly W×H RGB with sharp (libvips). The 'linear' kernel with
 * libvips' reduce (which widens the kernel when shrinking) is the closest match to RSB's PIL bilinear
 * resize with antialiasing (reid-spec §8.5). Grey and alpha images are converted to 3-channel RGB. failOn 'warning' makes truncated JPEGs fail
 * (libvips would otherwise pad them with grey), so they are skipped and reported.
 */
export async function decodeResize(path: string, H: number, W: number): Promise<Uint8Array> {
  const { data, info } = await sharp(await readRegularFile(path, 'image'), { failOn: 'warning' })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(W, H, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== W || info.height !== H) throw new Error(`resize produced ${info.width}×${info.height}`);
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = data[i * info.channels + Math.min(c, info.channels - 1)]!;
  return out;
}
