/**
 * The input preprocessing an exported model expects, stated in model.py, the tfjs metadata and README.txt.
 *
 * One function so that reading the document's own preprocessing setting is a one-line change: until the
 * document carries one, these are reid-strong-baseline's (data/transforms/build.py: T.Resize(SIZE_TEST) —
 * PIL bilinear —, ToTensor, Normalize(PIXEL_MEAN, PIXEL_STD) with config/defaults.py's ImageNet values), at
 * the model's input size, which is what the app trains and embeds with (main/tfjs/preprocess.ts).
 */
import type { GraphDoc } from '../../core/index.js';

export interface ExportPreprocessing {
  /** [height, width] in pixels the image is resized to. */
  size: [number, number];
  /** Per-channel RGB mean and std on the 0–1 scale (after ToTensor); fast-reid's PIXEL_MEAN/STD are × 255. */
  mean: [number, number, number];
  std: [number, number, number];
  /** PIL resize filter: 'bilinear' (RSB, T.Resize) or 'bicubic' (fast-reid, interpolation=3). */
  interpolation: 'bilinear' | 'bicubic';
}

export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/** The preprocessing of `doc`'s model whose input is `inputShape` ([H, W, C]). */
export function exportPreprocessing(_doc: GraphDoc, inputShape: number[]): ExportPreprocessing {
  return { size: [inputShape[0]!, inputShape[1]!], mean: IMAGENET_MEAN, std: IMAGENET_STD, interpolation: 'bilinear' };
}
