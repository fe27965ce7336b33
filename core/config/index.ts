/**
 * Config import/export: reid-strong-baseline (RSB) and fast-reid (FR) YACS YAML ↔ graph document + training
 * settings. Pure (no node:*): file access is the caller's (`resolveBase`).
 *
 * Decisions:
 * - Model: `recognizeModel` reads depth / IBN / stem / last stride / neck / taps / pool / classes / input /
 *   freezing off the flattened layers and accepts the graph only if rebuilding that model from the core
 *   presets gives identical layers. Anything else is refused with the reason; nothing is approximated.
 * - Stems: RSB graphs use the presets' stem (plain ResNet without ReLU, resnet50_ibn_a with ReLU, max pool
 *   pad 1). FR imports get fast-reid's stem (ReLU, max pool 3×3/2 pad 0 ceil_mode) as expanded primitives.
 *   Each exporter refuses the other's stem; `withFastreidStem` converts on explicit request (CLI --fastreid-stem).
 * - NECK_FEAT: RSB TEST.NECK_FEAT = eval feature (neck.eval tap); FR MODEL.HEADS.NECK_FEAT = metric-loss
 *   feature (output.train_feature tap), and FR always evaluates post-neck (eval 'before' is refused for FR).
 * - Schedule: the app counts epochs as RSB does (WARMUP_ITERS = epochs, STEPS absolute). FR counts warmup
 *   in iterations and starts its milestones after warmup: WARMUP_ITERS = epochs × (train images // batch)
 *   and STEPS = app steps − warmup epochs, for datasets of known size (Market-1501, DukeMTMC-reID, MSMT17).
 * - Freezing: RSB has none. FR MODEL.FREEZE_LAYERS [backbone] with FREEZE_ITERS ≥ the whole run is the
 *   app's frozen backbone; a shorter freeze is reported as not modelled.
 * - Settings the frameworks cannot hold (seed, backend) are not written; inert values are normalised on
 *   the way back (warmup off keeps 10 epochs; FR has no center-loss weights; featNorm+metric pairs that
 *   rank identically collapse to one).
 */
export { exportRsbYaml, importRsb, RSB_DEFAULTS } from './rsb.js';
export { exportFastreidYaml, frModelProblems, importFastreid, FR_DEFAULTS } from './fastreid.js';
export { importConfig, resolveRelative, type ImportOptions } from './import.js';
export { buildModel, recognizeModel, withFastreidStem, fastreidStemConversion, diffModels, presetName, type ModelSpec, type Pool, type StemStyle, type Recognition } from './model.js';
export { documentFramework, withEvalMetric } from './conventions.js';
export { KNOWN_DATASETS, datasetByName, datasetByKind, type KnownDataset, DATASET_LAYOUTS, DATASET_LAYOUT_IDS, datasetLayout, type DatasetLayout, type DatasetLayoutId } from './datasets.js';
export { ConfigError, parseYacs, pyLiteral, emitYacs, formatFloat, flatten } from './yacs.js';
export { MAX_CONFIG_CHARS, MAX_DEPTH as MAX_CONFIG_DEPTH, MAX_NODES as MAX_CONFIG_VALUES } from './pyyaml.js';
export { FRAMEWORK_LABEL, type ExportResult, type ImportResult, type ConfigFramework } from './common.js';
