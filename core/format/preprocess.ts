import { z } from 'zod';
import type { GraphDoc } from '../graph/types.js';

/**
 * Image pre-processing of a document: how an image becomes the model's input tensor. The input size is
 * not here: it is the graph's input node (one size for training and test, as the config importers
 * require SIZE_TRAIN = SIZE_TEST).
 *
 * - interpolation: the PIL filter torchvision `T.Resize` is given — reid-strong-baseline uses the default
 *   bilinear (data/transforms/build.py), fast-reid bicubic (`T.Resize(size, interpolation=3)`,
 *   fastreid/data/transforms/build.py);
 * - pixelMean / pixelStd: per-channel RGB normalisation in the 0–1 scale of `T.ToTensor` (RSB
 *   INPUT.PIXEL_MEAN / PIXEL_STD; fast-reid's MODEL.PIXEL_MEAN / PIXEL_STD are the same numbers × 255,
 *   applied inside the model to 0–255 pixels).
 * A document without the block means reid-strong-baseline's defaults (RSB_PREPROCESS).
 */
export type Interpolation = 'bilinear' | 'bicubic';
export const INTERPOLATIONS: readonly Interpolation[] = ['bilinear', 'bicubic'];

export interface PreprocessSettings {
  interpolation: Interpolation;
  /** RGB, 0–1 scale. */
  pixelMean: [number, number, number];
  /** RGB, 0–1 scale, each > 0. */
  pixelStd: [number, number, number];
}

/** reid-strong-baseline config/defaults.py: bilinear, ImageNet mean / std. */
export const RSB_PREPROCESS: Readonly<PreprocessSettings> = {
  interpolation: 'bilinear',
  pixelMean: [0.485, 0.456, 0.406],
  pixelStd: [0.229, 0.224, 0.225],
};

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const positive = finite.refine((x) => x > 0, 'must be > 0');

/** The document's `preprocess` block; missing fields get reid-strong-baseline's values. */
export const preprocessSchema = z.object({
  interpolation: z.enum(['bilinear', 'bicubic']).default(RSB_PREPROCESS.interpolation),
  pixelMean: z.tuple([finite, finite, finite]).default([...RSB_PREPROCESS.pixelMean]),
  pixelStd: z.tuple([positive, positive, positive]).default([...RSB_PREPROCESS.pixelStd]),
});

/** The pre-processing a document asks for (its block, or reid-strong-baseline's defaults). */
export function preprocessOf(doc: Pick<GraphDoc, 'preprocess'>): PreprocessSettings {
  const p = doc.preprocess ?? RSB_PREPROCESS;
  return { interpolation: p.interpolation, pixelMean: [...p.pixelMean], pixelStd: [...p.pixelStd] };
}
