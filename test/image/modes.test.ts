/**
 * Image modes against Pillow (issue 22): CMYK JPEG / TIFF, grayscale, RGBA, palette and RGB files written
 * by PIL (test/image/make_modes.py), decoded by main/image/decode.ts, must equal PIL's
 * `Image.open(path).convert('RGB')` byte for byte — what reid-strong-baseline's and fast-reid's read_image
 * feed the model. (libvips' ICC-managed CMYK conversion was ≥ 6 % away from it.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../main/image/decode.js';
import { PYTHON } from '../parity/fixtures.js';

const MAKE = fileURLToPath(new URL('./make_modes.py', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'reid-image-modes-'));
let index: { name: string; file: string; mode: string; w: number; h: number }[] = [];

beforeAll(() => {
  execFileSync(PYTHON, [MAKE, dir], { timeout: 60_000 });
  index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
});

describe('decoding equals PIL convert(\'RGB\')', () => {
  it('covers CMYK (JPEG and TIFF), L, RGBA, P and RGB files', () => {
    expect(index.map((c) => c.mode).sort()).toEqual(['CMYK', 'CMYK', 'CMYK', 'L', 'P', 'RGB', 'RGBA']);
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
