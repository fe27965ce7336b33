/**
 * The `onnx` export: one `.onnx` file (fast-reid's `tools/deploy/onnx_export.py` offers the same): the
 * eval-mode feature graph of core/compile/onnx.ts with the model's weights as initializers, serialised by
 * main/onnx/serialize.ts, written atomically.
 */
import { basename } from 'node:path';
import { CompileError, type CompiledModel, type OnnxPreprocessing, type OnnxWeightSource } from '../../core/index.js';
import { onnxModelOf } from '../onnx/model.js';
import { serializeOnnx } from '../onnx/serialize.js';
import { writeFileAtomic } from '../io/files.js';
import { ExportError } from './errors.js';

export { defaultPreprocessing, onnxModelOf } from '../onnx/model.js';

/** Writes the `.onnx` file at `outPath`. Returns its file name. ExportError when the graph has no ONNX form. */
export async function writeOnnxExport(outPath: string, compiled: CompiledModel, weights: OnnxWeightSource, opts: { title?: string; preprocessing?: OnnxPreprocessing } = {}): Promise<string> {
  let model;
  try {
    model = onnxModelOf(compiled, weights, opts);
  } catch (e) {
    if (e instanceof CompileError) throw new ExportError(`the graph cannot be exported to ONNX: ${e.message}`);
    throw e;
  }
  await writeFileAtomic(outPath, serializeOnnx(model));
  return basename(outPath);
}
