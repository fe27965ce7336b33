import type { GraphDoc } from '../graph/types.js';
import type { Depth } from '../presets/resnet.js';
import { SENET_ARCHS, type SenetArch } from '../presets/senet.js';
import { LOSS_TERMS, lossTermWeight, rsbMetricTerms } from '../training/losses.js';
import type { TrainingSettings } from '../training/settings.js';
import { ConfigReader, DATASET_PLACEHOLDER, datasetNote, datasetOf, finishSettings, type ExportResult, type ImportResult } from './common.js';
import { datasetByName } from './datasets.js';
import { startExport } from './export-start.js';
import { keptImportNote, keptKeys, keptNote, keptOf, writeKept, type KeepRules } from './keep.js';
import { buildModel, presetName, type ModelSpec } from './model.js';
import { exportPixelStats, readPixelStats, setPreprocess } from './preprocess.js';
import { ConfigError, emitYacs, float, int, ints, str, type ConfigValue, type YacsTree } from './yacs.js';

/**
 * reid-strong-baseline (michuanhaohao/reid-strong-baseline, config/defaults.py).
 * Every key with its default: an importer merges the file over these, as yacs does, and an exporter
 * writes only keys from this table.
 */
export const RSB_DEFAULTS: Record<string, ConfigValue> = {
  'MODEL.DEVICE': 'cuda',
  'MODEL.DEVICE_ID': '0',
  'MODEL.NAME': 'resnet50',
  'MODEL.LAST_STRIDE': 1,
  'MODEL.PRETRAIN_PATH': '',
  'MODEL.PRETRAIN_CHOICE': 'imagenet',
  'MODEL.NECK': 'bnneck',
  'MODEL.IF_WITH_CENTER': 'no',
  'MODEL.METRIC_LOSS_TYPE': 'triplet',
  'MODEL.IF_LABELSMOOTH': 'on',
  'INPUT.SIZE_TRAIN': [384, 128],
  'INPUT.SIZE_TEST': [384, 128],
  'INPUT.PROB': 0.5,
  'INPUT.RE_PROB': 0.5,
  'INPUT.PIXEL_MEAN': [0.485, 0.456, 0.406],
  'INPUT.PIXEL_STD': [0.229, 0.224, 0.225],
  'INPUT.PADDING': 10,
  'DATASETS.NAMES': 'market1501',
  'DATASETS.ROOT_DIR': './data',
  'DATALOADER.NUM_WORKERS': 8,
  'DATALOADER.SAMPLER': 'softmax',
  'DATALOADER.NUM_INSTANCE': 16,
  'SOLVER.OPTIMIZER_NAME': 'Adam',
  'SOLVER.MAX_EPOCHS': 50,
  'SOLVER.BASE_LR': 3e-4,
  'SOLVER.BIAS_LR_FACTOR': 2,
  'SOLVER.MOMENTUM': 0.9,
  'SOLVER.MARGIN': 0.3,
  'SOLVER.CLUSTER_MARGIN': 0.3,
  'SOLVER.CENTER_LR': 0.5,
  'SOLVER.CENTER_LOSS_WEIGHT': 0.0005,
  'SOLVER.RANGE_K': 2,
  'SOLVER.RANGE_MARGIN': 0.3,
  'SOLVER.RANGE_ALPHA': 0,
  'SOLVER.RANGE_BETA': 1,
  'SOLVER.RANGE_LOSS_WEIGHT': 1,
  'SOLVER.WEIGHT_DECAY': 0.0005,
  'SOLVER.WEIGHT_DECAY_BIAS': 0,
  'SOLVER.GAMMA': 0.1,
  'SOLVER.STEPS': [30, 55],
  'SOLVER.WARMUP_FACTOR': 1 / 3,
  'SOLVER.WARMUP_ITERS': 500,
  'SOLVER.WARMUP_METHOD': 'linear',
  'SOLVER.CHECKPOINT_PERIOD': 50,
  'SOLVER.LOG_PERIOD': 100,
  'SOLVER.EVAL_PERIOD': 50,
  'SOLVER.IMS_PER_BATCH': 64,
  'TEST.IMS_PER_BATCH': 128,
  'TEST.RE_RANKING': 'no',
  'TEST.WEIGHT': '',
  'TEST.NECK_FEAT': 'after',
  'TEST.FEAT_NORM': 'yes',
  OUTPUT_DIR: '',
};

/** Keys the RSB exporter derives from the document: never kept from an imported config (core/config/keep.ts). */
const RSB_DOC_KEYS = new Set([
  'MODEL.NAME', 'MODEL.LAST_STRIDE', 'MODEL.PRETRAIN_CHOICE', 'MODEL.PRETRAIN_PATH', 'MODEL.NECK', 'MODEL.IF_WITH_CENTER', 'MODEL.METRIC_LOSS_TYPE',
  'MODEL.IF_LABELSMOOTH', 'INPUT.SIZE_TRAIN', 'INPUT.SIZE_TEST', 'INPUT.PROB', 'INPUT.RE_PROB', 'INPUT.PADDING', 'INPUT.PIXEL_MEAN', 'INPUT.PIXEL_STD',
  'DATASETS.NAMES', 'DATALOADER.SAMPLER', 'DATALOADER.NUM_INSTANCE', 'SOLVER.OPTIMIZER_NAME', 'SOLVER.MAX_EPOCHS', 'SOLVER.BASE_LR', 'SOLVER.MOMENTUM',
  'SOLVER.MARGIN', 'SOLVER.CENTER_LR', 'SOLVER.CENTER_LOSS_WEIGHT', 'SOLVER.WEIGHT_DECAY', 'SOLVER.IMS_PER_BATCH', 'SOLVER.STEPS', 'SOLVER.GAMMA',
  'SOLVER.WARMUP_FACTOR', 'SOLVER.WARMUP_ITERS', 'SOLVER.CHECKPOINT_PERIOD', 'SOLVER.EVAL_PERIOD', 'TEST.RE_RANKING', 'TEST.NECK_FEAT', 'TEST.FEAT_NORM',
  'OUTPUT_DIR',
]);

/** defaults.py keys whose value is a Python float with a whole value, or a list of floats (yacs keeps the type). */
export const RSB_FLOAT_KEYS = new Set(['SOLVER.WEIGHT_DECAY_BIAS', 'INPUT.PIXEL_MEAN', 'INPUT.PIXEL_STD']);

const RSB_KEEP: KeepRules = { defaults: RSB_DEFAULTS, docKeys: RSB_DOC_KEYS, floatKeys: RSB_FLOAT_KEYS };

/** MODEL.NAME values `Baseline` wires (modeling/baseline.py): only resnet50_ibn_a among the IBN nets. */
const RSB_RESNETS: Record<string, { depth: Depth; ibn: boolean }> = {
  resnet18: { depth: 'resnet18', ibn: false },
  resnet34: { depth: 'resnet34', ibn: false },
  resnet50: { depth: 'resnet50', ibn: false },
  resnet101: { depth: 'resnet101', ibn: false },
  resnet152: { depth: 'resnet152', ibn: false },
  resnet50_ibn_a: { depth: 'resnet50', ibn: true },
};
/** MODEL.NAME of RSB's SENet branches (modeling/baseline.py) → the SE presets (presets/senet.ts, same SENet(...) arguments). */
const RSB_SE: Record<string, SenetArch> = {
  se_resnet50: 'se_resnet50',
  se_resnet101: 'se_resnet101',
  se_resnet152: 'se_resnet152',
  se_resnext50: 'se_resnext50_32x4d',
  se_resnext101: 'se_resnext101_32x4d',
  senet154: 'senet154',
};
/** Depth of the ResNet with an SENet's blocks per stage (ModelSpec.depth). */
const SE_DEPTH = (arch: SenetArch): Depth => (SENET_ARCHS[arch].layers[2] === 6 ? 'resnet50' : SENET_ARCHS[arch].layers[1] === 4 ? 'resnet101' : 'resnet152');

/**
 * The ImageNet weights file MODEL.PRETRAIN_PATH takes for each MODEL.NAME, as reid-strong-baseline names them:
 * torchvision's model_urls files for the ResNets (its configs/*.yml: resnet50-19c8e357.pth; resnet_ibn_a.py lists
 * the same torchvision names), Cadene's pretrainedmodels files for the SENets (modeling/backbones/senet.py, to which
 * its README points). resnet50_ibn_a's weights are IBN-Net's, behind a link in the README with no file name.
 */
const RSB_IMAGENET_WEIGHTS: Record<string, string> = {
  resnet18: 'torchvision resnet18-5c106cde.pth',
  resnet34: 'torchvision resnet34-333f7ec4.pth',
  resnet50: 'torchvision resnet50-19c8e357.pth',
  resnet101: 'torchvision resnet101-5d3b4d8f.pth',
  resnet152: 'torchvision resnet152-b121ed2d.pth',
  se_resnet50: 'se_resnet50-ce0d4300.pth',
  se_resnet101: 'se_resnet101-7e38fcc6.pth',
  se_resnet152: 'se_resnet152-d17c99b7.pth',
  se_resnext50: 'se_resnext50_32x4d-a260b3a4.pth',
  se_resnext101: 'se_resnext101_32x4d-3b2fe3d8.pth',
  senet154: 'senet154-c7b49a05.pth',
  resnet50_ibn_a: "IBN-Net's resnet50_ibn_a ImageNet weights, linked from reid-strong-baseline's README",
};

/** " (e.g. <the model's ImageNet weights file>)", or "" where reid-strong-baseline names none. */
export function rsbWeightsExample(modelName: string): string {
  const file = RSB_IMAGENET_WEIGHTS[modelName];
  return file ? ` (e.g. ${file})` : '';
}

/** reid-strong-baseline's MODEL.NAME for a model (the SE presets have their own names there). */
function rsbModelName(m: ModelSpec): string {
  const name = presetName(m);
  return Object.entries(RSB_SE).find(([, arch]) => arch === m.senet)?.[0] ?? name;
}

/** Keys that mark a file as reid-strong-baseline's (absent from fast-reid's defaults). */
export const RSB_MARKERS = [
  'MODEL.NAME', 'MODEL.NECK', 'MODEL.IF_WITH_CENTER', 'MODEL.METRIC_LOSS_TYPE', 'MODEL.IF_LABELSMOOTH', 'MODEL.PRETRAIN_CHOICE',
  'MODEL.PRETRAIN_PATH', 'MODEL.LAST_STRIDE', 'MODEL.DEVICE_ID', 'INPUT.PROB', 'INPUT.RE_PROB', 'INPUT.PIXEL_MEAN', 'DATASETS.ROOT_DIR',
  'DATALOADER.SAMPLER', 'SOLVER.OPTIMIZER_NAME', 'SOLVER.MAX_EPOCHS', 'SOLVER.MARGIN', 'SOLVER.CENTER_LR', 'SOLVER.CENTER_LOSS_WEIGHT',
  'SOLVER.CLUSTER_MARGIN', 'SOLVER.EVAL_PERIOD', 'TEST.RE_RANKING', 'TEST.NECK_FEAT', 'TEST.FEAT_NORM', 'TEST.WEIGHT',
];

/** Model features reid-strong-baseline cannot express, as user-facing reasons (empty: its Baseline builds the model). */
export function rsbModelProblems(m: ModelSpec): string[] {
  const out: string[] = [];
  const name = presetName(m);
  if (m.arch === 'mgn')
    return [`${name}: fast-reid's MGN (a branching network with eight heads, fastreid/modeling/meta_arch/mgn.py); reid-strong-baseline has only the Baseline — export it as fast-reid YAML`];
  if (m.arch === 'resnest')
    return [`${name}: fast-reid's ResNeSt (split-attention blocks, deep stem); reid-strong-baseline has no ResNeSt — export it as fast-reid YAML`];
  if (!(name in RSB_RESNETS) && !m.senet)
    out.push(
      `${name}: reid-strong-baseline's Baseline wires only resnet18/34/50/101/152 and resnet50_ibn_a (modeling/baseline.py; its resnet_ibn_a.py has deeper IBN nets that MODEL.NAME cannot select)`,
    );
  if (m.stem !== 'rsb')
    out.push(
      "the stem is fast-reid's (ReLU, max pool 3×3/2 padding 0 ceil_mode); reid-strong-baseline's ResNet pools 3×3/2 with padding 1",
    );
  if (m.pool !== 'avg') out.push('GeM pooling: reid-strong-baseline pools with global average pooling only (modeling/baseline.py)');
  if (m.trainFeat !== 'before')
    out.push('the metric losses are fed the feature after the BNNeck; reid-strong-baseline always feeds the pre-BN global feature');
  if (m.classifierBias !== (m.neck === 'no'))
    out.push(`the classifier ${m.classifierBias ? 'has' : 'has no'} bias; reid-strong-baseline's has one exactly when MODEL.NECK is 'no'`);
  if (m.frozenBackbone) out.push('frozen layers: reid-strong-baseline has no layer freezing');
  if (m.nonLocal) out.push("non-local blocks (fast-reid WITH_NL): reid-strong-baseline's ResNet has none (a fast-reid AGW / SBS model: export it as fast-reid YAML)");
  return out;
}

/** fast-reid training options reid-strong-baseline has no key for (empty when the settings are RSB's). */
function rsbSettingsProblems(s: TrainingSettings): string[] {
  const out: string[] = [];
  const fr = "reid-strong-baseline has no such option (a fast-reid recipe: export it as fast-reid YAML)";
  if (s.classifier.layer !== 'Linear') out.push(`the ${s.classifier.layer} classification layer: ${fr}`);
  if (s.loss.softMargin) out.push(`the soft-margin triplet loss: ${fr}`);
  if (!s.loss.hardMining) out.push(`the triplet loss without hard mining: ${fr}`);
  if (s.loss.normFeat) out.push(`L2-normalised triplet features: ${fr}`);
  if (s.schedule.name !== 'multistep') out.push(`the cosine LR schedule: ${fr}`);
  if (s.freezeBackboneIters > 0) out.push(`freezing the backbone for the first ${s.freezeBackboneIters} iterations: ${fr}`);
  if (s.augment.autoAugmentProb > 0) out.push(`AutoAugment: ${fr}`);
  for (const t of LOSS_TERMS)
    if (t.weightField !== 'centerWeight' && lossTermWeight(t.id, s.loss) !== 1) out.push(`the ${t.name} loss weighted ${lossTermWeight(t.id, s.loss)}: reid-strong-baseline weighs it 1`);
  return out;
}

/**
 * The reid-strong-baseline YACS config of a document, or the reasons it cannot be expressed. `o.pretrainGiven`:
 * the note saying how MODEL.PRETRAIN_CHOICE / PRETRAIN_PATH are supplied outside the file (an rsb-job's train.sh
 * passes its backbone.pth on the command line), given instead of asking the user to fill the key in.
 */
export function exportRsbYaml(doc: GraphDoc, o: { pretrainGiven?: string } = {}): ExportResult {
  const start = startExport(doc, rsbModelProblems);
  if (!start.ok) return start.result;
  const { m, reasons, warnings } = start;
  const s = start.settings;

  if (!start.explicit) warnings.push('the document has no training settings: the app defaults are written (reid-strong-baseline configs/softmax_triplet_with_center.yml)');

  const ds = datasetOf(s, start.explicit);
  let datasetName = 'market1501';
  // Written as an editable config: what the user must fill in becomes a YAML comment above its key.
  const notes: Record<string, string> = {};
  if ('reason' in ds) {
    datasetName = DATASET_PLACEHOLDER;
    notes['DATASETS.NAMES'] = datasetNote(s, 'reid-strong-baseline', "'market1501', 'dukemtmc'", 'point DATASETS.ROOT_DIR at its parent folder');
  } else if (ds.known && !ds.known.rsb) {
    datasetName = DATASET_PLACEHOLDER;
    notes['DATASETS.NAMES'] = `reid-strong-baseline has no ${ds.known.label} reader (data/datasets/__init__.py knows market1501, cuhk03, dukemtmc, msmt17): add one, name it here and point DATASETS.ROOT_DIR at its parent folder`;
    warnings.push(`reid-strong-baseline cannot load ${ds.known.label}: DATASETS.NAMES is ${DATASET_PLACEHOLDER} until a reader is added`);
  } else {
    datasetName = ds.name;
    if (ds.fallback) warnings.push('no dataset chosen: DATASETS.NAMES is market1501, the framework default');
    // reid-strong-baseline has no class-count key: tools/train.py builds the model with make_data_loader's
    // num_classes, as the app's trainer sizes it from the data (training/engine/prepare.ts).
    if (ds.known && ds.known.trainIds !== m.numClasses)
      warnings.push(`the graph's classifier has ${m.numClasses} classes; reid-strong-baseline sizes it from the data it loads (${ds.known.label}: ${ds.known.trainIds} training identities), as the app's trainer does`);
    if (!ds.known) warnings.push(`reid-strong-baseline sizes the classifier from ${datasetName}'s training identities; the graph has ${m.numClasses}`);
  }

  let choice: 'imagenet' | 'self' = 'imagenet';
  const path = s.pretrained.path ?? '';
  if (o.pretrainGiven) warnings.push(o.pretrainGiven);
  else if (s.pretrained.choice === 'none') {
    if (start.explicit)
      notes['MODEL.PRETRAIN_PATH'] =
        `the run trained from scratch, but reid-strong-baseline always loads weights (modeling/baseline.py load_param): set the ImageNet weights file${rsbWeightsExample(rsbModelName(m))}; its run then starts from them, unlike the app's`;
    else warnings.push("MODEL.PRETRAIN_CHOICE is 'imagenet' (reid-strong-baseline always loads weights)");
  } else choice = s.pretrained.choice;
  if (!path && !o.pretrainGiven) warnings.push(`MODEL.PRETRAIN_PATH is empty: set it to the weights file before training${rsbWeightsExample(rsbModelName(m))}`);
  if (s.seed !== 0) warnings.push(`the seed (${s.seed}) is not a reid-strong-baseline setting and is not written`);
  reasons.push(...rsbSettingsProblems(s));
  if (reasons.length) return { ok: false, reasons };

  const pixel = exportPixelStats(doc, 1, 'bilinear', 'reid-strong-baseline', warnings);
  const center = rsbMetricTerms(s.loss.metric).includes('center');
  const tree: YacsTree = {
    MODEL: {
      NAME: str(rsbModelName(m)),
      LAST_STRIDE: int(m.lastStride),
      PRETRAIN_CHOICE: str(choice),
      PRETRAIN_PATH: str(path),
      NECK: str(m.neck),
      IF_WITH_CENTER: str(center ? 'yes' : 'no'),
      METRIC_LOSS_TYPE: str(s.loss.metric),
      IF_LABELSMOOTH: str(s.loss.labelSmooth ? 'on' : 'off'),
    },
    INPUT: {
      SIZE_TRAIN: ints(m.input),
      SIZE_TEST: ints(m.input),
      PROB: float(s.augment.flipProb),
      RE_PROB: float(s.augment.randomErasingProb),
      PADDING: int(s.augment.padding),
      PIXEL_MEAN: pixel.mean,
      PIXEL_STD: pixel.std,
    },
    DATASETS: { NAMES: str(datasetName) },
    DATALOADER: { SAMPLER: str(s.sampler), NUM_INSTANCE: int(s.batch.k) },
    SOLVER: {
      OPTIMIZER_NAME: str(s.optimizer.name === 'adam' ? 'Adam' : 'SGD'),
      MAX_EPOCHS: int(s.epochs),
      BASE_LR: float(s.optimizer.baseLr),
      // One LR and one L2 for every parameter, as the recipe ymls set; defaults.py would give biases 2× LR, no decay.
      BIAS_LR_FACTOR: int(1),
      MOMENTUM: float(s.optimizer.momentum),
      MARGIN: float(s.loss.margin),
      CENTER_LR: float(s.loss.centerLr),
      CENTER_LOSS_WEIGHT: float(s.loss.centerWeight),
      WEIGHT_DECAY: float(s.optimizer.weightDecay),
      WEIGHT_DECAY_BIAS: float(s.optimizer.weightDecay),
      IMS_PER_BATCH: int(s.batch.p * s.batch.k),
      STEPS: ints(s.schedule.steps),
      GAMMA: float(s.schedule.gamma),
      WARMUP_FACTOR: float(s.schedule.warmupFactor),
      // RSB steps its scheduler once per epoch, so WARMUP_ITERS counts epochs; 0 = no warmup.
      WARMUP_ITERS: int(s.schedule.warmup ? s.schedule.warmupEpochs : 0),
      WARMUP_METHOD: str('linear'),
      CHECKPOINT_PERIOD: int(s.checkpointPeriod),
      EVAL_PERIOD: int(s.evalPeriod),
    },
    TEST: {
      RE_RANKING: str(s.test.reRanking ? 'yes' : 'no'),
      NECK_FEAT: str(m.neckFeat),
      // RSB ranks by squared Euclidean distance, on L2-normalised features when FEAT_NORM is 'yes', which is
      // cosine ranking: the app's cosine metric needs 'yes' either way.
      FEAT_NORM: str(s.test.featNorm || s.test.metric === 'cosine' ? 'yes' : 'no'),
    },
  };
  if (s.framework?.outputDir) tree.OUTPUT_DIR = str(s.framework.outputDir);
  warnings.push(...keptNote(writeKept(tree, keptOf(s, 'rsb'), RSB_KEEP)));
  const header = ['reid-strong-baseline config written by ReID Studio', `model: ${rsbModelName(m)}, ${m.numClasses} classes, input ${m.input[0]}x${m.input[1]}`];
  if (Object.keys(notes).length) {
    header.push('Edit the keys marked TO FILL IN before training with this file.');
    warnings.push(`the config needs editing before it trains: ${Object.keys(notes).join(', ')} (see the TO FILL IN comments)`);
  }
  return { ok: true, text: emitYacs(tree, header, notes), warnings };
}

/** reid-strong-baseline config (already parsed and flattened) → document. */
export function importRsb(flat: Map<string, ConfigValue>): ImportResult {
  const r = new ConfigReader(flat, RSB_DEFAULTS);
  for (const k of r.keys())
    if (!(k in RSB_DEFAULTS)) r.warnings.push(`${k} is not a reid-strong-baseline key (its yacs stops with "Non-existent config key")`);

  const name = r.str('MODEL.NAME');
  const se = RSB_SE[name];
  const net = se ? { depth: SE_DEPTH(se), ibn: false } : RSB_RESNETS[name];
  if (!net) throw new ConfigError(`unknown MODEL.NAME '${name}' (reid-strong-baseline accepts ${[...Object.keys(RSB_RESNETS), ...Object.keys(RSB_SE)].join(', ')})`);
  const lastStride = r.num('MODEL.LAST_STRIDE', { int: true });
  if (lastStride !== 1 && lastStride !== 2) throw new ConfigError(`MODEL.LAST_STRIDE must be 1 or 2 (got ${lastStride})`);
  const neck = r.str('MODEL.NECK', ['bnneck', 'no'] as const);
  const neckFeat = r.str('TEST.NECK_FEAT', ['after', 'before'] as const);
  const size = r.inputSize();

  const names = r.strList('DATASETS.NAMES');
  const dsName = names[0] ?? 'market1501';
  if (names.length !== 1) r.warnings.push(`DATASETS.NAMES lists ${names.length} datasets; reid-strong-baseline loads one: ${dsName} is used`);
  const known = datasetByName(dsName, 'rsb');
  let numClasses = 751;
  if (known) numClasses = known.trainIds;
  else r.warnings.push(`unknown dataset '${dsName}': the classifier keeps ${numClasses} classes (reid-strong-baseline sizes it from the data; set it in the graph)`);

  const sampler = r.str('DATALOADER.SAMPLER', ['softmax', 'triplet', 'softmax_triplet'] as const);
  const withCenter = r.flag('MODEL.IF_WITH_CENTER', 'yes', 'no');
  const metricType = r.str('MODEL.METRIC_LOSS_TYPE');
  let metric: TrainingSettings['loss']['metric'] = 'triplet';
  if (withCenter) {
    if (metricType === 'center' || metricType === 'triplet_center') metric = metricType;
    else {
      metric = 'triplet_center';
      r.notModelled('MODEL.METRIC_LOSS_TYPE', `MODEL.METRIC_LOSS_TYPE '${metricType}' with IF_WITH_CENTER 'yes' is not a loss reid-strong-baseline builds (layers/__init__.py expects center or triplet_center); center + triplet is used`);
    }
  } else if (metricType !== 'triplet')
    r.notModelled('MODEL.METRIC_LOSS_TYPE', `MODEL.METRIC_LOSS_TYPE '${metricType}' needs IF_WITH_CENTER 'yes' in reid-strong-baseline; without it the loss is ${sampler === 'softmax' ? 'cross-entropy' : 'triplet-based'} as the sampler says`);

  if (sampler === 'softmax' && r.raw('MODEL.IF_LABELSMOOTH') !== 'off')
    r.warnings.push("IF_LABELSMOOTH 'on' has no effect with SAMPLER 'softmax': reid-strong-baseline then uses plain cross-entropy, and so does the app");
  const k = r.num('DATALOADER.NUM_INSTANCE', { int: true, min: 1 });
  const batch = r.num('SOLVER.IMS_PER_BATCH', { int: true, min: 1 });
  let p = batch / k;
  if (!Number.isInteger(p)) {
    p = Math.max(1, Math.floor(p));
    r.notModelled('SOLVER.IMS_PER_BATCH', `SOLVER.IMS_PER_BATCH ${batch} is not a multiple of NUM_INSTANCE ${k}; the app uses ${p}×${k} = ${p * k}`);
  }

  const opt = r.str('SOLVER.OPTIMIZER_NAME');
  let optimizer: 'adam' | 'sgd' = 'adam';
  if (opt === 'Adam' || opt === 'SGD') optimizer = opt === 'Adam' ? 'adam' : 'sgd';
  else r.notModelled('SOLVER.OPTIMIZER_NAME', `SOLVER.OPTIMIZER_NAME '${opt}': the app trains with Adam or SGD; Adam is used`);
  const baseLr = r.num('SOLVER.BASE_LR');
  const weightDecay = r.num('SOLVER.WEIGHT_DECAY', { min: 0 });
  const biasLr = r.num('SOLVER.BIAS_LR_FACTOR');
  if (biasLr !== 1) r.notModelled('SOLVER.BIAS_LR_FACTOR', `SOLVER.BIAS_LR_FACTOR is ${biasLr}${r.has('SOLVER.BIAS_LR_FACTOR') ? '' : ' (defaults.py)'}: the app uses one learning rate for every parameter`);
  const wdBias = r.num('SOLVER.WEIGHT_DECAY_BIAS');
  if (Math.abs(wdBias - weightDecay) > 1e-12)
    r.notModelled('SOLVER.WEIGHT_DECAY_BIAS', `SOLVER.WEIGHT_DECAY_BIAS is ${wdBias}${r.has('SOLVER.WEIGHT_DECAY_BIAS') ? '' : ' (defaults.py)'}: the app applies WEIGHT_DECAY ${weightDecay} to every parameter`);

  const warmupIters = r.num('SOLVER.WARMUP_ITERS', { int: true, min: 0 });
  const method = r.str('SOLVER.WARMUP_METHOD');
  if (method !== 'linear' && warmupIters > 0) r.notModelled('SOLVER.WARMUP_METHOD', `SOLVER.WARMUP_METHOD '${method}': the app warms up linearly`);

  const pixel = readPixelStats(r, 'INPUT.PIXEL_MEAN', 'INPUT.PIXEL_STD', 1);

  let pretrained: TrainingSettings['pretrained'] = { choice: 'none' };
  const choice = r.str('MODEL.PRETRAIN_CHOICE');
  const ppath = r.str('MODEL.PRETRAIN_PATH');
  if (choice === 'imagenet' || choice === 'self') pretrained = ppath ? { choice, path: ppath } : { choice };
  else r.notModelled('MODEL.PRETRAIN_CHOICE', `MODEL.PRETRAIN_CHOICE '${choice}' is neither 'imagenet' nor 'self'; training starts from scratch`);

  const warmupFactor = r.num('SOLVER.WARMUP_FACTOR', { min: 0, max: 1 });
  const featNorm = r.flag('TEST.FEAT_NORM', 'yes', 'no');
  const outputDir = r.str('OUTPUT_DIR');
  const framework: Record<string, unknown> = {};
  if (!known) framework.datasetName = dsName;
  if (outputDir) framework.outputDir = outputDir;
  const kept = keptKeys(r, RSB_KEEP, { 'SOLVER.BIAS_LR_FACTOR': 1, 'SOLVER.WEIGHT_DECAY_BIAS': weightDecay, 'SOLVER.WARMUP_METHOD': 'linear' });
  if (kept) framework.keys = { rsb: kept };
  r.warnings.push(...keptImportNote(kept));

  const settings = finishSettings({
    ...(known ? { dataset: { kind: known.kind, demoSize: 'small' } } : {}),
    sampler,
    batch: { p, k },
    loss: {
      labelSmooth: r.flag('MODEL.IF_LABELSMOOTH', 'on', 'off'),
      metric,
      margin: r.num('SOLVER.MARGIN', { min: 0 }),
      centerWeight: r.num('SOLVER.CENTER_LOSS_WEIGHT', { min: 0 }),
      centerLr: r.num('SOLVER.CENTER_LR'),
    },
    optimizer: { name: optimizer, baseLr, weightDecay, momentum: r.num('SOLVER.MOMENTUM') },
    schedule: {
      warmup: warmupIters > 0,
      warmupFactor,
      // WARMUP_ITERS 0 switches warmup off; the epoch count then keeps the app default.
      warmupEpochs: warmupIters > 0 ? warmupIters : 10,
      steps: r.ints('SOLVER.STEPS', { min: 1 }),
      gamma: r.num('SOLVER.GAMMA'),
    },
    epochs: r.num('SOLVER.MAX_EPOCHS', { int: true, min: 1 }),
    augment: { flipProb: r.num('INPUT.PROB'), padding: r.num('INPUT.PADDING', { int: true, min: 0 }), randomErasingProb: r.num('INPUT.RE_PROB') },
    test: { featNorm, metric: featNorm ? 'cosine' : 'euclidean', reRanking: r.flag('TEST.RE_RANKING', 'yes', 'no') },
    pretrained,
    evalPeriod: r.num('SOLVER.EVAL_PERIOD', { int: true, min: 1 }),
    checkpointPeriod: r.num('SOLVER.CHECKPOINT_PERIOD', { int: true, min: 1 }),
    ...(Object.keys(framework).length ? { framework } : {}),
  });
  if (!known)
    r.warnings.push(`ReID Studio has no ${dsName} loader: the training settings keep the demo dataset and remember '${framework.datasetName}' for export`);

  const spec: ModelSpec = {
    depth: net.depth,
    ibn: net.ibn,
    ...(se ? { senet: se } : {}),
    stem: 'rsb',
    lastStride,
    neck,
    neckFeat,
    trainFeat: 'before',
    classifierBias: neck === 'no',
    pool: 'avg',
    numClasses,
    input: [size[0], size[1]],
    frozenBackbone: false,
  };
  const doc = buildModel(spec);
  doc.training = settings as unknown as Record<string, unknown>;
  setPreprocess(doc, { interpolation: 'bilinear', ...pixel });
  return { doc, ignored: r.ignored(), warnings: r.warnings, framework: 'rsb' };
}
