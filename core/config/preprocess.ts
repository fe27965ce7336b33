import { preprocessOf, RSB_PREPROCESS, type Interpolation, type PreprocessSettings } from '../format/preprocess.js';
import type { GraphDoc } from '../graph/types.js';
import type { ConfigReader } from './common.js';
import { ConfigError, floats, type YacsValue } from './yacs.js';

/**
 * The frameworks' pre-processing keys ↔ the document's `preprocess` block.
 * - reid-strong-baseline: INPUT.PIXEL_MEAN / PIXEL_STD in the 0–1 scale, T.Resize with PIL's default
 *   bilinear filter (data/transforms/build.py).
 * - fast-reid: MODEL.PIXEL_MEAN / PIXEL_STD in the 0–255 scale (the model normalises 0–255 pixels,
 *   fastreid/modeling/meta_arch/baseline.py preprocess_image), T.Resize(interpolation=3) = bicubic
 *   (fastreid/data/transforms/build.py); no key chooses the filter in either framework.
 */

/** Reads a mean / std pair (3 numbers each, std > 0), divided by `scale`; both keys count as modelled. */
export function readPixelStats(r: ConfigReader, meanKey: string, stdKey: string, scale: number): Pick<PreprocessSettings, 'pixelMean' | 'pixelStd'> {
  const read = (key: string, positive: boolean): [number, number, number] => {
    const v = r.raw(key);
    r.use(key);
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x) || (positive && x <= 0)))
      throw new ConfigError(`${key} must be a list of 3 ${positive ? 'positive ' : ''}numbers, one per RGB channel (got ${JSON.stringify(v)})`);
    // 12 significant digits undo the float noise of ×255 / ÷255 (123.675 / 255 → 0.485), so values survive a round trip.
    return (v as number[]).map((x) => Number((x / scale).toPrecision(12))) as [number, number, number];
  };
  return { pixelMean: read(meanKey, false), pixelStd: read(stdKey, true) };
}

/** Sets the document's block; reid-strong-baseline's defaults are left implicit (no block). */
export function setPreprocess(doc: GraphDoc, p: PreprocessSettings): void {
  const same = (a: readonly number[], b: readonly number[]) => a.every((x, i) => x === b[i]);
  if (p.interpolation === RSB_PREPROCESS.interpolation && same(p.pixelMean, RSB_PREPROCESS.pixelMean) && same(p.pixelStd, RSB_PREPROCESS.pixelStd)) delete doc.preprocess;
  else doc.preprocess = p;
}

/**
 * The document's mean / std as a framework writes them (× `scale`), and a warning when the document's
 * resize filter is not the one the framework hard-codes.
 */
export function exportPixelStats(doc: GraphDoc, scale: number, frameworkFilter: Interpolation, framework: string, warnings: string[]): { mean: YacsValue; std: YacsValue } {
  const p = preprocessOf(doc);
  if (p.interpolation !== frameworkFilter)
    warnings.push(`the document resizes images with ${p.interpolation} interpolation; ${framework} always uses ${frameworkFilter} (T.Resize), so features of images that need resizing will differ slightly`);
  return { mean: floats(p.pixelMean.map((x) => x * scale)), std: floats(p.pixelStd.map((x) => x * scale)) };
}
