/**
 * The input preprocessing an exported model expects, stated in model.py, the tfjs metadata and README.txt.
 *
 * The document's own setting (core/format/preprocess.ts: resize filter, pixel mean / std; without one,
 * reid-strong-baseline's data/transforms/build.py — T.Resize(SIZE_TEST) with PIL bilinear, ToTensor,
 * Normalize with config/defaults.py's ImageNet values), at the model's input size: what the app trains and
 * embeds with.
 */
import { preprocessOf, type GraphDoc } from '../../core/index.js';

export interface ExportPreprocessing {
  /** [height, width] in pixels the image is resized to. */
  size: [number, number];
  /** Per-channel RGB mean and std on the 0–1 scale (after ToTensor); fast-reid's PIXEL_MEAN/STD are × 255. */
  mean: [number, number, number];
  std: [number, number, number];
  /** PIL resize filter: 'bilinear' (RSB, T.Resize) or 'bicubic' (fast-reid, interpolation=3). */
  interpolation: 'bilinear' | 'bicubic';
}

/** The preprocessing of `doc`'s model whose input is `inputShape` ([H, W, C]). */
export function exportPreprocessing(doc: GraphDoc, inputShape: number[]): ExportPreprocessing {
  const p = preprocessOf(doc);
  return { size: [inputShape[0]!, inputShape[1]!], mean: p.pixelMean as [number, number, number], std: p.pixelStd as [number, number, number], interpolation: p.interpolation };
}
