/**
 * PyTorch / safetensors checkpoints on the Node side: read (zip and legacy torch.save, safetensors),
 * write (torch.load-able zip state dict, safetensors), and map state dicts onto the graph's tfjs weight
 * slots (core/compile/weight-specs.ts) with a load report; the weight store (store.ts): a model's weights in
 * PyTorch layout, freshly initialised as tfjs initialises them (init.ts) or filled from a checkpoint.
 */
export { readCheckpoint, parseCheckpoint, numelOf, writeCheckpoint, type Checkpoint, type CheckpointTensor, type WriteTensor } from './checkpoint.js';
export { planLoad, assertFiniteWeights, exportStateDict, toTfjs, toTorch, type LoadPlan, type LoadReport, type LoadedEntry, type LoadGroup } from './mapping.js';
export { RULES, WRAPPER_PREFIXES } from './layouts.js';
export { CheckpointError, NonFiniteWeightsError, type CheckpointErrorCode } from './errors.js';
export { LIMITS as CHECKPOINT_LIMITS } from './limits.js';
export { inspectCheckpoint, type CheckpointInspection } from './inspect.js';
export { WeightStore, WeightStoreError, freshWeightStore, type StoreEntry } from './store.js';
export { byStateDictKey, slotSpecs, tfjsToTorchValues, torchToTfjsValues, type SlotSpec } from './slots.js';
export { detectSourceModel, sourceMismatch, sourceRefusal, type SourceModel } from './source-model.js';
