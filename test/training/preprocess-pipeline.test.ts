/**
 * The training / evaluation data pipeline resizes and normalises as the frameworks' transforms do:
 * torchvision T.Resize (PIL bilinear or bicubic) → ToTensor → Normalize with the document's mean / std,
 * computed by /usr/bin/python3 (ref_preprocess.py) on the same PNG files. The training transform with its
 * random parts switched off (no flip, no padding, no erasing) gives the same tensor as evaluation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreprocessSettings } from '../../core/index.js';
import { DataLoaderPool } from '../../main/training/data/pipeline.js';
import { runPython, testRandom } from './python.js';

const H = 256, W = 128;
let tmp: string;
const paths: string[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'reid-preprocess-'));
  const rand = testRandom(77);
  // Market-sized (enlarged), small odd (enlarged), large odd (shrunk, antialiased), already at the size.
  const sizes: [number, number][] = [[128, 64], [37, 29], [301, 157], [H, W]];
  for (const [i, [h, w]] of sizes.entries()) {
    const rgb = Buffer.alloc(h * w * 3);
    for (let k = 0; k < rgb.length; k++) rgb[k] = Math.floor(rand() * 256);
    const p = join(tmp, `im${i}.png`);
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(p);
    paths.push(p);
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SETTINGS: PreprocessSettings[] = [
  { interpolation: 'bilinear', pixelMean: [0.485, 0.456, 0.406], pixelStd: [0.229, 0.224, 0.225] },
  { interpolation: 'bicubic', pixelMean: [0.5, 0.4, 0.3], pixelStd: [0.2, 0.25, 0.3] },
];

describe('data pipeline pre-processing', () => {
  for (const pre of SETTINGS)
    it(`${pre.interpolation}, mean ${pre.pixelMean.join('/')}: eval and identity-train batches equal torchvision's transform`, async () => {
      const want = runPython<number[][]>('ref_preprocess.py', { paths, size: [H, W], filter: pre.interpolation, mean: pre.pixelMean, std: pre.pixelStd });
      const records = paths.map((path, i) => ({ path, label: i }));
      const pool = new DataLoaderPool({ height: H, width: W, workers: 1, preprocess: pre });
      try {
        const evals = [];
        for await (const b of pool.evalBatches(records, 4)) evals.push(b);
        const trains = [];
        for await (const b of pool.trainBatches(records, [[0, 1, 2, 3]], { flipProb: 0, padding: 0, randomErasingProb: 0 }, { seed: 1, epoch: 0 })) trains.push(b);
        const per = H * W * 3;
        for (let i = 0; i < paths.length; i++) {
          const got = evals[0]!.images.subarray(i * per, (i + 1) * per);
          let m = 0;
          for (let k = 0; k < per; k++) m = Math.max(m, Math.abs(got[k]! - want[i]![k]!));
          // float32 rounding of ToTensor / Normalize only: the resized uint8 pixels are PIL's exactly.
          expect(m, paths[i]).toBeLessThan(1e-5);
        }
        expect(Buffer.from(trains[0]!.images.buffer).equals(Buffer.from(evals[0]!.images.buffer))).toBe(true);
      } finally {
        await pool.close();
      }
    });

  it("random erasing writes the document's PIXEL_MEAN (RSB build.py passes cfg.INPUT.PIXEL_MEAN)", async () => {
    const pre = SETTINGS[1]!;
    const records = paths.map((path, i) => ({ path, label: i }));
    const pool = new DataLoaderPool({ height: H, width: W, workers: 1, preprocess: pre });
    try {
      const got = [];
      for await (const b of pool.trainBatches(records, [[0, 1, 2, 3]], { flipProb: 0, padding: 0, randomErasingProb: 1 }, { seed: 3, epoch: 0 })) got.push(b);
      const m = pre.pixelMean.map(Math.fround);
      const img = got[0]!.images;
      for (let i = 0; i < paths.length; i++) {
        let erased = 0;
        for (let p = i * H * W; p < (i + 1) * H * W; p++) if (img[p * 3] === m[0] && img[p * 3 + 1] === m[1] && img[p * 3 + 2] === m[2]) erased++;
        // RandomErasing's area is at least sl = 0.02 of the image.
        expect(erased, paths[i]).toBeGreaterThanOrEqual(Math.floor(0.015 * H * W));
      }
    } finally {
      await pool.close();
    }
  });
});
