/**
 * The PIL resize port against Pillow itself: random RGB images written as PNG, resized by
 * /usr/bin/python3 with Image.resize (BILINEAR / BICUBIC, what torchvision T.Resize calls on PIL images),
 * compared byte for byte with main/image/resample.ts on the same pixels.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resizeUint8, type Interpolation } from '../../main/image/resample.js';
import { runPython, testRandom } from '../training/python.js';

/** [inW, inH, outW, outH]: up, down, mixed, odd, Market crops to RSB's input and back, 1-pixel sides. */
const SIZES: [number, number, number, number][] = [
  [64, 128, 128, 256],
  [128, 256, 64, 128],
  [64, 128, 128, 384],
  [37, 91, 128, 256],
  [301, 157, 128, 256],
  [13, 7, 5, 29],
  [97, 33, 97, 80],
  [45, 61, 17, 61],
  [1, 1, 3, 5],
  [9, 1, 2, 4],
  [250, 3, 7, 1],
];
const FILTERS: Interpolation[] = ['bilinear', 'bicubic'];

interface Img {
  w: number;
  h: number;
  rgb: Uint8Array;
  png: string;
}

let tmp: string;
const images: Img[] = [];
let pillow = '';

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'reid-resample-'));
  const rand = testRandom(2024);
  const jobs: { png: string; size: [number, number]; filter: Interpolation; out: string }[] = [];
  for (const [i, [w, h, ow, oh]] of SIZES.entries()) {
    // Half the images are white noise (every rounding shows), half smooth with noise (photo-like).
    const rgb = new Uint8Array(w * h * 3);
    for (let p = 0; p < w * h; p++)
      for (let c = 0; c < 3; c++) {
        const x = p % w, y = Math.floor(p / w);
        const smooth = 127 + 120 * Math.sin((x * (c + 1)) / 5 + y / 7);
        rgb[p * 3 + c] = i % 2 ? Math.floor(rand() * 256) : Math.max(0, Math.min(255, Math.round(smooth + (rand() - 0.5) * 40)));
      }
    const png = join(tmp, `img${i}.png`);
    await sharp(Buffer.from(rgb), { raw: { width: w, height: h, channels: 3 } }).png().toFile(png);
    images.push({ w, h, rgb, png });
    for (const filter of FILTERS) jobs.push({ png, size: [ow, oh], filter, out: join(tmp, `img${i}.${filter}.rgb`) });
  }
  pillow = runPython<{ pillow: string }>('../image/pil_resize.py', jobs).pillow;
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('resizeUint8 (Pillow Resample.c port)', () => {
  for (const filter of FILTERS)
    it(`is bit-identical to Pillow's ${filter} resize, up and down, odd sizes`, () => {
      expect(pillow).toMatch(/^\d+\./);
      for (const [i, [w, h, ow, oh]] of SIZES.entries()) {
        const want = new Uint8Array(readFileSync(join(tmp, `img${i}.${filter}.rgb`)));
        const got = resizeUint8(images[i]!.rgb, w, h, ow, oh, filter);
        expect(got.length, `${w}×${h}→${ow}×${oh}`).toBe(want.length);
        let bad = 0;
        for (let k = 0; k < want.length; k++) if (got[k] !== want[k]) bad++;
        expect(bad, `${filter} ${w}×${h}→${ow}×${oh}: ${bad} of ${want.length} bytes differ`).toBe(0);
      }
    });

  it('refuses bad sizes and short buffers with a RangeError', () => {
    expect(() => resizeUint8(new Uint8Array(12), 2, 2, 0, 3, 'bilinear')).toThrow(/outW must be a whole number/);
    expect(() => resizeUint8(new Uint8Array(11), 2, 2, 4, 3, 'bicubic')).toThrow(/needs 12/);
  });
});
