/**
 * Image modes against Pillow (issue 22): CMYK JPEG / TIFF, grayscale, RGBA, palette and RGB files written
 * by PIL (test/image/make_modes.py), decoded by main/image/decode.ts, must equal PIL's
 * `Image.open(path).convert('RGB')` byte for byte — what reid-strong-baseline's and fast-reid's read_image
 * feed the model. (libvips' ICC-managed CMYK conversion was ≥ 6 % away from it.) EXIF orientations 1–8:
 * reid-strong-baseline reads the stored pixels, fast-reid applies ImageOps.exif_transpose first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { withFastreidStem } from '../../core/config/index.js';
import { buildPreset } from '../../core/index.js';
import { decodeImage, imagePreprocessOf } from '../../main/image/decode.js';
import { PYTHON } from '../parity/fixtures.js';

const MAKE = fileURLToPath(new URL('./make_modes.py', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'reid-image-modes-'));
let index: { name: string; file: string; mode: string; w: number; h: number; tw?: number; th?: number }[] = [];

beforeAll(() => {
  execFileSync(PYTHON, [MAKE, dir], { timeout: 60_000 });
  index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
});

describe('decoding equals PIL convert(\'RGB\')', () => {
  it('covers CMYK (JPEG and TIFF), L, RGBA, P and RGB files', () => {
    expect(index.filter((c) => !c.name.startsWith('exif')).map((c) => c.mode).sort()).toEqual(['CMYK', 'CMYK', 'CMYK', 'L', 'P', 'RGB', 'RGBA']);
  });

  it.each(['cmyk', 'cmyk_q75', 'cmyk_tiff', 'gray', 'rgba', 'palette', 'rgb'])('%s', async (name) => {
    const c = index.find((x) => x.name === name)!;
    const { rgb, resized } = await decodeImage(join(dir, c.file), c.h, c.w, 'bilinear');
    expect(resized).toBe(false);
    const want = new Uint8Array(readFileSync(join(dir, `${name}.rgb`)));
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(rgb[i]! - want[i]!));
    expect(rgb.length).toBe(want.length);
    expect(worst).toBe(0);
  });
});

describe('EXIF orientation per framework', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('orientation %i: RSB reads the stored pixels, fast-reid ImageOps.exif_transpose', async (o) => {
    const c = index.find((x) => x.name === `exif${o}`)!;
    const rsb = await decodeImage(join(dir, c.file), c.h, c.w, 'bilinear');
    expect(Buffer.from(rsb.rgb).equals(readFileSync(join(dir, `exif${o}.rgb`)))).toBe(true);
    const fr = await decodeImage(join(dir, c.file), c.th!, c.tw!, 'bilinear', 'warning', true);
    expect(fr.resized).toBe(false);
    expect(Buffer.from(fr.rgb).equals(readFileSync(join(dir, `exif${o}.exif.rgb`)))).toBe(true);
  });

  it('the loaders take the rule from the document: fast-reid\'s stem transposes, the core presets do not', () => {
    const doc = buildPreset('resnet18', { input: [64, 32] });
    expect(imagePreprocessOf(doc).exifTranspose).toBe(false);
    expect(imagePreprocessOf(withFastreidStem(doc)).exifTranspose).toBe(true);
  });
});
