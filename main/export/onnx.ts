/**
 * The `onnx` export: one `.onnx` file (fast-reid's `tools/deploy/onnx_export.py` offers the same): the
 * eval-mode feature graph of core/compile/onnx.ts with the model's weights as initializers, serialised by
 * main/onnx/serialize.ts, written atomically.
 */
import { basename } from 'node:path';
import { CompileError, lowerToOnnx, RSB_PREPROCESS, type CompiledModel, type OnnxModelJs, type OnnxPreprocessing } from '../../core/index.js';
import { serializeOnnx } from '../onnx/serialize.js';
import { writeFileAtomic } from '../io/files.js';
import { ExportError } from './errors.js';

/** A document without its own preprocessing: reid-strong-baseline's (T.Resize bilinear, ImageNet mean / std). */
export function defaultPreprocessing(compiled: CompiledModel): OnnxPreprocessing {
  const [h, w] = compiled.metadata.inputShape as [number, number, number];
  return { inputSize: [h, w], mean: [...RSB_PREPROCESS.pixelMean], std: [...RSB_PREPROCESS.pixelStd], interpolation: RSB_PREPROCESS.interpolation };
}

/** The ONNX object model of the compiled model with `weights` (tfjs layout, `${layer}/${slot}`). */
export function onnxModelOf(compiled: CompiledModel, weights: Map<string, Float32Array>, opts: { title?: string; preprocessing?: OnnxPreprocessing } = {}): OnnxModelJs {
  return lowerToOnnx(compiled, weights, { preprocessing: opts.preprocessing ?? defaultPreprocessing(compiled), producerVersion: '0.1.0', name: opts.title });
}

/** Writes the `.onnx` file at `outPath`. Returns its file name. ExportError when the graph has no ONNX form. */
export async function writeOnnxExport(outPath: string, compiled: CompiledModel, weights: Map<string, Float32Array>, opts: { title?: string; preprocessing?: OnnxPreprocessing } = {}): Promise<string> {
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
