/** The CLI's `export --format pytorch|tfjs` (main/cli/export.ts): the exporter writes the --out folder itself. */
import { analyze, type GraphDoc } from '../../core/index.js';
import { ExportError } from './errors.js';
import { exportModel, type ModelExportFormat } from './index.js';
import { forRunWeights, readExportWeights } from './weights-source.js';

export type FolderOutcome = { ok: true; written: true; warnings: string[] } | { ok: false; reasons: string[] };

export async function exportModelFolder(format: ModelExportFormat, given: GraphDoc, target: { out: string; weights?: string; layout?: string }): Promise<FolderOutcome> {
  try {
    const sized = await forRunWeights(given, target.weights);
    const doc = sized.doc;
    const warnings: string[] = [...sized.notes];
    let weights: { weights?: Map<string, Float32Array>; torchWeights?: Map<string, Float32Array> } = {};
    if (target.weights) {
      const r = await readExportWeights(target.weights, analyze(doc.graph).layers);
      // PyTorch layout as read: the store takes it without a relayout.
      weights = r.torch ? { torchWeights: r.torch } : { weights: r.values };
      warnings.push(...r.warnings);
    }
    const res = await exportModel(doc, format, target.out, { ...weights, layout: target.layout });
    return { ok: true, written: true, warnings: [...warnings, ...res.warnings] };
  } catch (e) {
    if (e instanceof ExportError) return { ok: false, reasons: [e.message] };
    throw e;
  }
}
