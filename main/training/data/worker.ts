/**
 * Data-loading worker thread: decodes, resizes and augments one batch per message and sends back the
 * normalised NHWC float32 buffer (transferred, not copied). Randomness comes from per-image seeds chosen
 * by the main thread, so results do not depend on which worker ran a batch.
 */
import type { ImagePreprocess } from '../../image/decode.js';
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import type { PreprocessSettings } from '../../../core/format/preprocess.js';
import { evalTransform, trainTransform, type AugmentOptions } from './augment.js';
import { decodeResize } from './decode.js';
import { Rng } from './rng.js';

export interface DecodeJob {
  id: number;
  paths: string[];
  /** Per-image augmentation seeds (train only). */
  seeds: number[];
  height: number;
  width: number;
  augment: AugmentOptions | null;
  /** Resize filter and normalisation (the document's pre-processing). */
  preprocess: ImagePreprocess;
}

export interface DecodeResult {
  id: number;
  data: Float32Array;
  failed: { pos: number; reason: string }[];
}

// One libvips thread per worker: the pool itself provides the parallelism (2-core machine).
sharp.concurrency(1);
sharp.cache(false);

parentPort!.on('message', async (job: DecodeJob) => {
  const { height: H, width: W, preprocess: pre } = job;
  // RSB passes PIXEL_MEAN to RandomErasing (data/transforms/build.py): erased pixels get the document's mean.
  const augment = job.augment && { ...job.augment, eraseValue: job.augment.eraseValue ?? pre.pixelMean };
  const per = H * W * 3;
  const data = new Float32Array(job.paths.length * per);
  const failed: DecodeResult['failed'] = [];
  for (let i = 0; i < job.paths.length; i++) {
    try {
      const rgb = await decodeResize(job.paths[i]!, H, W, pre.interpolation, !!pre.exifTranspose);
      if (augment) trainTransform(rgb, H, W, new Rng(job.seeds[i] ?? 0), augment, data, i * per, pre);
      else evalTransform(rgb, H, W, data, i * per, pre);
    } catch (e) {
      failed.push({ pos: i, reason: (e as Error).message.split('\n')[0]! });
    }
  }
  const res: DecodeResult = { id: job.id, data, failed };
  parentPort!.postMessage(res, [data.buffer]);
});
