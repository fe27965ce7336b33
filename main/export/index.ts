/**
 * Model exports (issue 6): `pytorch` (model.py + model.pth in reid-strong-baseline's state_dict layout) and
 * `tfjs` (model.json + weight shards + the custom-layer registration file). Both are folders, written to a
 * temp folder and renamed into place. The CLI's `export --format pytorch|tfjs` and the service call
 * `exportModel`.
 */
import { analyze, compileToKeras, CompileError, weightSpecs, type GraphDoc } from '../../core/index.js';
import { backendReport, buildFromCompiled, disposeModel, getWeightValues, initBackend, ModelError, setWeightsFromValues } from '../tfjs/index.js';
import { exportStateDict, writeCheckpoint } from '../weights/index.js';
import { ExportError } from './errors.js';
import { writeFolderAtomic, writeSynced } from './folder.js';
import { generateModelPy, torchNameProblems } from './pytorch.js';
import { writeTfjsExport } from './tfjs.js';
import { writeOnnxExport } from './onnx.js';
import { join } from 'node:path';

export { ExportError } from './errors.js';
export { generateModelPy, torchNameProblems } from './pytorch.js';
export { writeTfjsExport, SHARD_BYTES } from './tfjs.js';
export { LAYERS_FILE } from './layers-bundle.js';
export { writeOnnxExport, onnxModelOf, defaultPreprocessing } from './onnx.js';

export const MODEL_EXPORT_FORMATS = ['pytorch', 'tfjs', 'onnx'] as const;
export type ModelExportFormat = (typeof MODEL_EXPORT_FORMATS)[number];

export const MODEL_EXPORT_DESCRIPTIONS: Record<ModelExportFormat, string> = {
  pytorch: 'folder: model.py (plain PyTorch module) + model.pth (state_dict, reid-strong-baseline keys)',
  tfjs: 'folder: model.json + weight shards + reid-studio-layers.js (tf.loadLayersModel)',
  onnx: 'file: ONNX model (opset 17, dynamic batch, eval feature output; preprocessing in metadata_props)',
};

export interface ExportOptions {
  /** Trained weights, `${layer}/${slot}` → tfjs layout (as `getWeightValues` / `planLoad` give them). */
  weights?: Map<string, Float32Array>;
  /** Shown in model.py's docstring (e.g. the graph file name). */
  title?: string;
}

export interface ExportResult {
  format: ModelExportFormat;
  out: string;
  files: string[];
  /** Weight slots set from `weights`, of all the model's slots. */
  weights: { set: number; slots: number };
  warnings: string[];
}

/**
 * Exports the document's model with the given weights (slots without a value keep the app's fresh
 * initialisation, reported in `warnings`). Throws ExportError with a user message for a graph the
 * format cannot express, bad weights, or an unwritable target.
 */
export async function exportModel(doc: GraphDoc, format: string, outPath: string, opts: ExportOptions = {}): Promise<ExportResult> {
  if (!(MODEL_EXPORT_FORMATS as readonly string[]).includes(format)) throw new ExportError(`unknown model export format "${format}" (choose one of ${MODEL_EXPORT_FORMATS.join(', ')})`);
  const fmt = format as ModelExportFormat;
  if (!doc?.graph || !Array.isArray(doc.graph.nodes) || !Array.isArray(doc.graph.edges)) throw new ExportError('not a graph document');
  const analysis = analyze(doc.graph);
  let compiled;
  try {
    compiled = compileToKeras(analysis);
  } catch (e) {
    if (e instanceof CompileError) throw new ExportError(`the graph cannot be exported: ${e.message}`);
    throw e;
  }
  if (fmt === 'pytorch') {
    const problems = torchNameProblems(compiled.layers);
    if (problems.length) throw new ExportError(`the graph cannot be exported to PyTorch: ${problems.join('; ')}`);
  }

  const warnings: string[] = [];
  const slots = compiled.layers.flatMap((l) => weightSpecs(l).map((s) => `${l.name}/${s.slot}`));
  const given = opts.weights ?? new Map<string, Float32Array>();
  const known = new Set(slots);
  const unknown = [...given.keys()].filter((k) => !known.has(k));
  if (unknown.length) warnings.push(`${unknown.length} weight(s) belong to no layer of the exported model and were ignored (e.g. ${unknown.slice(0, 3).join(', ')})`);

  if (!backendReport()) await initBackend('auto');
  const reid = await buildFromCompiled(compiled);
  try {
    let set: string[];
    try {
      set = setWeightsFromValues(reid, compiled.layers, given);
    } catch (e) {
      if (e instanceof ModelError) throw new ExportError(`bad weights: ${e.message}`);
      throw e;
    }
    if (!opts.weights) warnings.push('no weights given: the export holds the freshly initialised model');
    else if (set.length < slots.length) warnings.push(`${slots.length - set.length} of ${slots.length} weight slots had no value and keep their fresh initialisation`);

    let files: string[] = [];
    if (fmt === 'pytorch') {
      const text = generateModelPy(compiled, { title: opts.title, weightsFile: 'model.pth' });
      const state = exportStateDict(compiled.layers, await getWeightValues(reid, compiled.layers));
      await writeFolderAtomic(outPath, 'model.py', async (dir) => {
        await writeSynced(join(dir, 'model.py'), text);
        await writeCheckpoint(join(dir, 'model.pth'), state, { format: 'pth' });
      });
      files = ['model.py', 'model.pth'];
    } else if (fmt === 'onnx') {
      files = [await writeOnnxExport(outPath, compiled, await getWeightValues(reid, compiled.layers), { title: opts.title })];
    } else {
      await writeFolderAtomic(outPath, 'model.json', async (dir) => {
        files = await writeTfjsExport(dir, reid);
      });
    }
    return { format: fmt, out: outPath, files, weights: { set: set.length, slots: slots.length }, warnings };
  } finally {
    disposeModel(reid);
  }
}
