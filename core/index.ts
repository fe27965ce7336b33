/** The pure core: document, registry, analysis, commands, presets. No react, electron, tfjs, node:* or DOM. */
export * from './graph/types.js';
export * from './graph/params.js';
export * from './graph/analyze.js';
export * from './graph/evaluate.js';
export * from './graph/expand.js';
export * from './graph/summary.js';
export * from './registry/index.js';
export * from './presets/resnet.js';
export * from './format/document.js';
export * from './commands/commands.js';
export * from './commands/history.js';
export * from './compile/weight-specs.js';
export * from './compile/keras.js';
export * from './compile/onnx.js';
export * from './training/settings.js';
export * from './graph/diff.js';
export * from './compile/seed.js';
