/** The TensorFlow.js runtime: backend resolution, custom layers, wasm training kernels, model build/run/save. */
export { initBackend, backendReport, describeBackend, parseBackendChoice, BackendError, BACKEND_NAMES, type BackendName, type BackendChoice, type BackendReport } from './backend.js';
export { registerCustomLayers } from './layers/index.js';
export { registerWasmTrainingKernels } from './wasm-kernels.js';
export {
  buildModel,
  buildFromCompiled,
  fromLoadedModel,
  setWeightsFromValues,
  getWeightValues,
  trainableVariables,
  forwardTrain,
  classifierKernel,
  forwardEval,
  extractFeatures,
  disposeModel,
  layerSlots,
  ModelError,
  type ReidModel,
} from './model.js';
export { extractActmaps } from './actmap.js';
export { toArtifacts, fromArtifacts, saveModelDir, loadModelDir } from './io.js';
