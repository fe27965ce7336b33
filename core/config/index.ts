/** Config import/export: reid-strong-baseline and fast-reid YACS YAML ↔ graph document + training settings. */
export { exportRsbYaml, importRsb, RSB_DEFAULTS } from './rsb.js';
export { exportFastreidYaml, importFastreid, FR_DEFAULTS } from './fastreid.js';
export { importConfig, resolveRelative, type ImportOptions } from './import.js';
export { buildModel, recognizeModel, withFastreidStem, diffModels, presetName, type ModelSpec, type Pool, type StemStyle, type Recognition } from './model.js';
export { KNOWN_DATASETS, datasetByName, datasetByKind, type KnownDataset } from './datasets.js';
export { ConfigError, parseYacs, pyLiteral, emitYacs, formatFloat, flatten } from './yacs.js';
export { FRAMEWORK_LABEL, type ExportResult, type ImportResult, type ConfigFramework } from './common.js';
