/**
 * Compute backend names, once for every layer: the CLI's `--backend`, the document's training settings,
 * the API contract and the app's backend menu. Order = preference of the automatic choice (fastest first):
 * TensorFlow.js on the GPU (tfjs-node-gpu), native TensorFlow on the CPU (tfjs-node), WebAssembly, plain JS.
 */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
/**
 * onnxruntime-node's CPU engine (all cores): the compiled graph lowered to ONNX, for evaluation and, with
 * its ONNX training graph, for training. `auto` prefers it when it is installed and the graph has that form.
 */
export const ONNXRUNTIME_BACKEND = 'onnxruntime';
/**
 * onnxruntime-node's bundled WebGPU execution provider (Dawn: Vulkan / Metal / Direct3D 12) on the GPU the
 * user already has. `auto` prefers it on a hardware adapter that passes its smoke test; a software adapter
 * (SwiftShader, llvmpipe) runs only when forced.
 */
export const WEBGPU_BACKEND = 'webgpu';
/** What a user may choose: a backend, or `auto` (the fastest that loads and passes its check), in the order `auto` prefers them. */
export const BACKEND_CHOICES = ['auto', WEBGPU_BACKEND, ONNXRUNTIME_BACKEND, ...BACKEND_NAMES] as const;
export type BackendChoiceName = (typeof BACKEND_CHOICES)[number];
