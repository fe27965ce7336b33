/**
 * The ONNX object model of a compiled graph with its weights: core/compile/onnx.ts's eval-mode feature
 * graph with the weights as initializers and the document's preprocessing as metadata. Lives here, under
 * both the feature engine (engine.ts) and the `onnx` export (main/export/onnx.ts), so neither imports the other.
 */
import { lowerToOnnx, RSB_PREPROCESS, type CompiledModel, type OnnxModelJs, type OnnxPreprocessing, type OnnxWeightSource } from '../../core/index.js';

/** A document without its own preprocessing: reid-strong-baseline's (T.Resize bilinear, ImageNet mean / std). */
export function defaultPreprocessing(compiled: CompiledModel): OnnxPreprocessing {
  const [h, w] = compiled.metadata.inputShape as [number, number, number];
  return { inputSize: [h, w], mean: [...RSB_PREPROCESS.pixelMean], std: [...RSB_PREPROCESS.pixelStd], interpolation: RSB_PREPROCESS.interpolation };
}

/**
 * The ONNX object model of the compiled model with `weights` (tfjs layout, `${layer}/${slot}`: a Map, or a weight
 * store's `tfjsLookup()`, which hands over its PyTorch tensors where they are the ONNX ones). `actmap`: the
 * activation-map output too. Throws core's CompileError for a graph with no ONNX form.
 */
export function onnxModelOf(compiled: CompiledModel, weights: OnnxWeightSource, opts: { title?: string; preprocessing?: OnnxPreprocessing; actmap?: boolean } = {}): OnnxModelJs {
  return lowerToOnnx(compiled, weights, { preprocessing: opts.preprocessing ?? defaultPreprocessing(compiled), producerVersion: '0.1.0', name: opts.title, ...(opts.actmap ? { actmap: true } : {}) });
}
