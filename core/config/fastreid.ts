import { counted } from '../format/plural.js';
import type { GraphDoc } from '../graph/types.js';
import { FASTREID_NL_LAYERS, type Depth } from '../presets/resnet.js';
import { LOSS_TERMS, lossTerm, lossTermByFastreidName, lossTermWeight } from '../training/losses.js';
import { CLS_LAYERS, type TrainingSettings } from '../training/settings.js';
import { datasetNote, DATASET_PLACEHOLDER, ConfigReader, datasetOf, finishSettings, readSettings, type ExportResult, type ImportResult } from './common.js';
import { fastreidDataset, type KnownDataset } from './datasets.js';
import { startExport } from './export-start.js';
import { keptImportNote, keptKeys, keptNote, keptOf, writeKept, type KeepRules, type KeptKeys } from './keep.js';
import { buildModel, presetName, type ModelSpec, type Pool } from './model.js';
import { MGN_FREEZE_MODULES } from '../presets/mgn.js';
import { exportPixelStats, readPixelStats, setPreprocess } from './preprocess.js';
import { rsbModelProblems } from './rsb.js';
import { bool, ConfigError, emitYacs, float, int, ints, str, strs, tuple, type ConfigValue, type YacsTree } from './yacs.js';

/**
 * fast-reid (JDAI-CV/fast-reid, fastreid/config/defaults.py): the keys the
 * Baseline / EmbeddingHead / ResNet path reads, with their defaults.
 */
export const FR_DEFAULTS: Record<string, ConfigValue> = {
  'MODEL.DEVICE': 'cuda',
  'MODEL.META_ARCHITECTURE': 'Baseline',
  'MODEL.FREEZE_LAYERS': [],
  'MODEL.QUEUE_SIZE': 8192,
  'MODEL.BACKBONE.NAME': 'build_resnet_backbone',
  'MODEL.BACKBONE.DEPTH': '50x',
  'MODEL.BACKBONE.LAST_STRIDE': 1,
  'MODEL.BACKBONE.FEAT_DIM': 2048,
  'MODEL.BACKBONE.NORM': 'BN',
  'MODEL.BACKBONE.WITH_IBN': false,
  'MODEL.BACKBONE.WITH_SE': false,
  'MODEL.BACKBONE.WITH_NL': false,
  'MODEL.BACKBONE.SIE_COE': 3.0,
  'MODEL.BACKBONE.STRIDE_SIZE': [16, 16],
  'MODEL.BACKBONE.DROP_PATH_RATIO': 0.1,
  'MODEL.BACKBONE.DROP_RATIO': 0.0,
  'MODEL.BACKBONE.ATT_DROP_RATE': 0.0,
  'MODEL.BACKBONE.PRETRAIN': false,
  'MODEL.BACKBONE.PRETRAIN_PATH': '',
  'MODEL.HEADS.NAME': 'EmbeddingHead',
  'MODEL.HEADS.NORM': 'BN',
  'MODEL.HEADS.NUM_CLASSES': 0,
  'MODEL.HEADS.EMBEDDING_DIM': 0,
  'MODEL.HEADS.WITH_BNNECK': false,
  'MODEL.HEADS.NECK_FEAT': 'before',
  'MODEL.HEADS.POOL_LAYER': 'GlobalAvgPool',
  'MODEL.HEADS.CLS_LAYER': 'Linear',
  'MODEL.HEADS.MARGIN': 0.0,
  'MODEL.HEADS.SCALE': 1,
  'MODEL.LOSSES.NAME': ['CrossEntropyLoss'],
  'MODEL.LOSSES.CE.EPSILON': 0.0,
  'MODEL.LOSSES.CE.ALPHA': 0.2,
  'MODEL.LOSSES.CE.SCALE': 1.0,
  'MODEL.LOSSES.FL.ALPHA': 0.25,
  'MODEL.LOSSES.FL.GAMMA': 2,
  'MODEL.LOSSES.FL.SCALE': 1.0,
  'MODEL.LOSSES.TRI.MARGIN': 0.3,
  'MODEL.LOSSES.TRI.NORM_FEAT': false,
  'MODEL.LOSSES.TRI.HARD_MINING': false,
  'MODEL.LOSSES.TRI.SCALE': 1.0,
  'MODEL.LOSSES.CIRCLE.MARGIN': 0.25,
  'MODEL.LOSSES.CIRCLE.GAMMA': 128,
  'MODEL.LOSSES.CIRCLE.SCALE': 1.0,
  'MODEL.LOSSES.COSFACE.MARGIN': 0.25,
  'MODEL.LOSSES.COSFACE.GAMMA': 128,
  'MODEL.LOSSES.COSFACE.SCALE': 1.0,
  'MODEL.WEIGHTS': '',
  'MODEL.PIXEL_MEAN': [123.675, 116.28, 103.53],
  'MODEL.PIXEL_STD': [58.395, 57.120000000000005, 57.375],
  'KD.MODEL_CONFIG': [],
  'KD.MODEL_WEIGHTS': [],
  'KD.EMA.ENABLED': false,
  'KD.EMA.MOMENTUM': 0.999,
  'INPUT.SIZE_TRAIN': [256, 128],
  'INPUT.SIZE_TEST': [256, 128],
  'INPUT.CROP.ENABLED': false,
  'INPUT.CROP.SIZE': [224, 224],
  'INPUT.CROP.SCALE': [0.16, 1],
  'INPUT.CROP.RATIO': [3 / 4, 4 / 3],
  'INPUT.FLIP.ENABLED': false,
  'INPUT.FLIP.PROB': 0.5,
  'INPUT.PADDING.ENABLED': false,
  'INPUT.PADDING.MODE': 'constant',
  'INPUT.PADDING.SIZE': 10,
  'INPUT.CJ.ENABLED': false,
  'INPUT.CJ.PROB': 0.5,
  'INPUT.CJ.BRIGHTNESS': 0.15,
  'INPUT.CJ.CONTRAST': 0.15,
  'INPUT.CJ.SATURATION': 0.1,
  'INPUT.CJ.HUE': 0.1,
  'INPUT.AFFINE.ENABLED': false,
  'INPUT.AUTOAUG.ENABLED': false,
  'INPUT.AUTOAUG.PROB': 0.0,
  'INPUT.AUGMIX.ENABLED': false,
  'INPUT.AUGMIX.PROB': 0.0,
  'INPUT.REA.ENABLED': false,
  'INPUT.REA.PROB': 0.5,
  'INPUT.REA.VALUE': [123.675, 116.28, 103.53],
  'INPUT.RPT.ENABLED': false,
  'INPUT.RPT.PROB': 0.5,
  'DATASETS.NAMES': ['Market1501'],
  'DATASETS.TESTS': ['Market1501'],
  'DATASETS.COMBINEALL': false,
  'DATALOADER.SAMPLER_TRAIN': 'TrainingSampler',
  'DATALOADER.NUM_INSTANCE': 4,
  'DATALOADER.NUM_WORKERS': 8,
  'DATALOADER.SET_WEIGHT': [],
  'SOLVER.AMP.ENABLED': false,
  'SOLVER.OPT': 'Adam',
  'SOLVER.MAX_EPOCH': 120,
  'SOLVER.BASE_LR': 3e-4,
  'SOLVER.HEADS_LR_FACTOR': 1.0,
  'SOLVER.MOMENTUM': 0.9,
  'SOLVER.NESTEROV': false,
  'SOLVER.WEIGHT_DECAY': 0.0005,
  'SOLVER.WEIGHT_DECAY_NORM': 0.0005,
  'SOLVER.BIAS_LR_FACTOR': 1.0,
  'SOLVER.WEIGHT_DECAY_BIAS': 0.0005,
  'SOLVER.SCHED': 'MultiStepLR',
  'SOLVER.DELAY_EPOCHS': 0,
  'SOLVER.GAMMA': 0.1,
  'SOLVER.STEPS': [30, 55],
  'SOLVER.ETA_MIN_LR': 1e-7,
  'SOLVER.WARMUP_FACTOR': 0.1,
  'SOLVER.WARMUP_ITERS': 1000,
  'SOLVER.WARMUP_METHOD': 'linear',
  'SOLVER.FREEZE_ITERS': 0,
  'SOLVER.CHECKPOINT_PERIOD': 20,
  'SOLVER.IMS_PER_BATCH': 64,
  'SOLVER.CLIP_GRADIENTS.ENABLED': false,
  'SOLVER.CLIP_GRADIENTS.CLIP_TYPE': 'norm',
  'SOLVER.CLIP_GRADIENTS.CLIP_VALUE': 5.0,
  'SOLVER.CLIP_GRADIENTS.NORM_TYPE': 2.0,
  'TEST.EVAL_PERIOD': 20,
  'TEST.IMS_PER_BATCH': 64,
  'TEST.METRIC': 'cosine',
  'TEST.ROC.ENABLED': false,
  'TEST.FLIP.ENABLED': false,
  'TEST.AQE.ENABLED': false,
  'TEST.AQE.ALPHA': 3.0,
  'TEST.AQE.QE_TIME': 1,
  'TEST.AQE.QE_K': 5,
  'TEST.RERANK.ENABLED': false,
  'TEST.RERANK.K1': 20,
  'TEST.RERANK.K2': 6,
  'TEST.RERANK.LAMBDA': 0.3,
  'TEST.PRECISE_BN.ENABLED': false,
  'TEST.PRECISE_BN.DATASET': 'Market1501',
  'TEST.PRECISE_BN.NUM_ITER': 300,
  OUTPUT_DIR: 'logs/',
  CUDNN_BENCHMARK: false,
};

/** Keys (or key prefixes) that mark a file as fast-reid's (absent from reid-strong-baseline's defaults). */
export const FR_MARKERS = [
  '_BASE_', 'MODEL.META_ARCHITECTURE', 'MODEL.BACKBONE.', 'MODEL.HEADS.', 'MODEL.LOSSES.', 'MODEL.WEIGHTS', 'MODEL.FREEZE_LAYERS',
  'MODEL.PIXEL_MEAN', 'INPUT.FLIP.', 'INPUT.REA.', 'INPUT.PADDING.', 'DATASETS.TESTS', 'DATALOADER.SAMPLER_TRAIN', 'SOLVER.OPT',
  'SOLVER.MAX_EPOCH', 'SOLVER.SCHED', 'SOLVER.AMP.', 'SOLVER.HEADS_LR_FACTOR', 'TEST.EVAL_PERIOD', 'TEST.METRIC', 'TEST.RERANK.',
  'CUDNN_BENCHMARK', 'INPUT.AUTOAUG.', 'INPUT.CJ.', 'INPUT.AUGMIX.', 'SOLVER.FREEZE_ITERS', 'SOLVER.FREEZE_FC_ITERS',
  'SOLVER.DELAY_EPOCHS', 'SOLVER.ETA_MIN_LR', 'SOLVER.NESTEROV', 'SOLVER.CLIP_GRADIENTS.', 'TEST.AQE.', 'TEST.PRECISE_BN.', 'TEST.ROC.', 'KD.',
];

/**
 * Keys the fast-reid exporter derives from the document (graph and modelled settings): never kept from an
 * imported config. Every other key of defaults.py the config sets comes back as it came in (core/config/keep.ts).
 */
const FR_DOC_KEYS = new Set([
  'MODEL.META_ARCHITECTURE', 'MODEL.BACKBONE.NAME', 'MODEL.BACKBONE.DEPTH', 'MODEL.BACKBONE.LAST_STRIDE', 'MODEL.BACKBONE.FEAT_DIM',
  'MODEL.BACKBONE.WITH_IBN', 'MODEL.BACKBONE.WITH_SE', 'MODEL.BACKBONE.WITH_NL', 'MODEL.BACKBONE.PRETRAIN', 'MODEL.BACKBONE.PRETRAIN_PATH',
  'MODEL.HEADS.NAME', 'MODEL.HEADS.WITH_BNNECK', 'MODEL.HEADS.POOL_LAYER', 'MODEL.HEADS.NECK_FEAT', 'MODEL.HEADS.CLS_LAYER',
  'MODEL.HEADS.EMBEDDING_DIM', 'MODEL.HEADS.SCALE', 'MODEL.HEADS.MARGIN', 'MODEL.LOSSES.NAME', 'MODEL.LOSSES.CE.EPSILON', 'MODEL.LOSSES.CE.SCALE',
  'MODEL.LOSSES.TRI.MARGIN', 'MODEL.LOSSES.TRI.HARD_MINING', 'MODEL.LOSSES.TRI.NORM_FEAT', 'MODEL.LOSSES.TRI.SCALE', 'MODEL.PIXEL_MEAN',
  'MODEL.PIXEL_STD', 'MODEL.FREEZE_LAYERS', 'MODEL.WEIGHTS', 'SOLVER.OPT', 'SOLVER.MAX_EPOCH', 'SOLVER.BASE_LR', 'SOLVER.MOMENTUM',
  'SOLVER.WEIGHT_DECAY', 'SOLVER.IMS_PER_BATCH', 'SOLVER.SCHED', 'SOLVER.STEPS', 'SOLVER.GAMMA', 'SOLVER.DELAY_EPOCHS', 'SOLVER.ETA_MIN_LR',
  'SOLVER.WARMUP_FACTOR', 'SOLVER.WARMUP_ITERS', 'SOLVER.CHECKPOINT_PERIOD', 'SOLVER.FREEZE_ITERS', 'INPUT.SIZE_TRAIN', 'INPUT.SIZE_TEST',
  'INPUT.FLIP.ENABLED', 'INPUT.FLIP.PROB', 'INPUT.PADDING.ENABLED', 'INPUT.PADDING.SIZE', 'INPUT.REA.ENABLED', 'INPUT.REA.PROB',
  'INPUT.AUTOAUG.ENABLED', 'INPUT.AUTOAUG.PROB', 'DATASETS.NAMES', 'DATASETS.TESTS', 'DATALOADER.SAMPLER_TRAIN', 'DATALOADER.NUM_INSTANCE',
  'TEST.EVAL_PERIOD', 'TEST.METRIC', 'TEST.RERANK.ENABLED', 'OUTPUT_DIR',
]);

/** defaults.py keys whose value is a Python float with a whole value, or a list of floats (yacs keeps the type). */
export const FR_FLOAT_KEYS = new Set([
  'INPUT.AUGMIX.PROB', 'INPUT.AUTOAUG.PROB', 'MODEL.BACKBONE.ATT_DROP_RATE', 'MODEL.BACKBONE.DROP_RATIO', 'MODEL.BACKBONE.SIE_COE',
  'MODEL.HEADS.MARGIN', 'MODEL.LOSSES.CE.EPSILON', 'MODEL.LOSSES.CE.SCALE', 'MODEL.LOSSES.CIRCLE.SCALE', 'MODEL.LOSSES.COSFACE.SCALE',
  'MODEL.LOSSES.FL.SCALE', 'MODEL.LOSSES.TRI.SCALE', 'SOLVER.BIAS_LR_FACTOR', 'SOLVER.CLIP_GRADIENTS.CLIP_VALUE',
  'SOLVER.CLIP_GRADIENTS.NORM_TYPE', 'SOLVER.HEADS_LR_FACTOR', 'TEST.AQE.ALPHA', 'INPUT.CROP.RATIO', 'INPUT.CROP.SCALE', 'INPUT.REA.VALUE',
  'MODEL.PIXEL_MEAN', 'MODEL.PIXEL_STD',
]);

const FR_KEEP: KeepRules = { defaults: FR_DEFAULTS, docKeys: FR_DOC_KEYS, floatKeys: FR_FLOAT_KEYS };

const FR_DEPTHS: Record<string, Depth> = { '18x': 'resnet18', '34x': 'resnet34', '50x': 'resnet50', '101x': 'resnet101' };
const DEPTH_KEY: Partial<Record<Depth, string>> = { resnet18: '18x', resnet34: '34x', resnet50: '50x', resnet101: '101x' };
const FEAT_DIM: Record<Depth, number> = { resnet18: 512, resnet34: 512, resnet50: 2048, resnet101: 2048, resnet152: 2048 };
/** fast-reid pooling registry names (fastreid/layers/pooling.py) and older aliases seen in its configs. */
const FR_POOLS: Record<string, Pool> = {
  GlobalAvgPool: 'avg',
  FastGlobalAvgPool: 'avg',
  avgpool: 'avg',
  GeneralizedMeanPooling: 'gem',
  gempool: 'gem',
  GeneralizedMeanPoolingP: 'gemP',
  gempoolP: 'gemP',
};
const POOL_NAME: Record<Pool, string> = { avg: 'GlobalAvgPool', gem: 'GeneralizedMeanPooling', gemP: 'GeneralizedMeanPoolingP' };
// MODEL.LOSSES.NAME entries of the loss terms fast-reid has (core/training/losses.ts).
const CE = lossTerm('ce').fastreid!.name;
const TRI = lossTerm('triplet').fastreid!.name;

/**
 * fast-reid's iterations per epoch: len(train set) // IMS_PER_BATCH. Needed because
 * fast-reid counts warmup and freezing in iterations while the app counts epochs.
 */
const sameStrings = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

function itersPerEpoch(ds: KnownDataset, batch: number): number {
  return Math.floor(ds.trainImages / batch);
}

/** How a fast-reid config relates to the app (also written into the exported file's header). */
const FR_NOTES = [
  "fast-reid differs in details the app follows reid-strong-baseline on: label smoothing gives the other classes ε/(K−1) instead of ε/K, the classifier starts at std 0.01 (not 0.001), pad/crop come before the flip, random erasing uses torchvision's area range 0.02–0.33",
];

/**
 * Training settings written for a document that has none: fast-reid's BoT recipe (configs/Base-bagtricks.yml)
 * in the app's terms, its 2000 warmup iterations being ~10 Market-1501 epochs.
 */
export const FR_BOT_SETTINGS = {
  dataset: { kind: 'market1501', demoSize: 'small' },
  sampler: 'softmax_triplet',
  loss: { labelSmooth: true, metric: 'triplet', margin: 0.3, centerWeight: 0.0005, centerLr: 0.5 },
  schedule: { warmup: true, warmupFactor: 0.1, warmupEpochs: 10, steps: [50, 100], gamma: 0.1 },
  pretrained: { choice: 'imagenet' },
  evalPeriod: 30,
  checkpointPeriod: 30,
} as const;

/** Why a recognised model is not a fast-reid Baseline (empty when it is one). */
export function frModelProblems(m: ModelSpec): string[] {
  if (m.senet)
    return [`${presetName(m)}: reid-strong-baseline's SENet (Cadene senet.py: layer0 stem, SE blocks) has no fast-reid builder (MODEL.BACKBONE.WITH_SE adds SE to fast-reid's own ResNet, another model) — export it as reid-strong-baseline YAML`];
  const out: string[] = [];
  if (!DEPTH_KEY[m.depth]) out.push(`${presetName(m)}: fast-reid's ResNet builder has depths 18x, 34x, 50x and 101x only`);
  if (m.stem !== 'fastreid')
    out.push(
      `the stem is reid-strong-baseline's (${m.ibn ? 'ReLU, ' : 'no ReLU, '}max pool 3×3/2 padding 1); fast-reid's is conv → BN → ReLU → max pool 3×3/2 padding 0 ceil_mode. Convert it with the fast-reid stem option (export --fastreid-stem), which changes the model`,
    );
  if (m.neck === 'bnneck' && m.neckFeat !== 'after')
    out.push("the eval feature is taken before the BNNeck; fast-reid always evaluates the post-neck feature (heads/embedding_head.py; its MODEL.HEADS.NECK_FEAT is the training triplet feature)");
  if (m.classifierBias) out.push('the classifier has a bias; fast-reid\'s EmbeddingHead classifier is a bias-free weight');
  return out;
}

/** The fast-reid YACS config of a document, or the reasons it cannot be expressed. */
export function exportFastreidYaml(doc: GraphDoc): ExportResult {
  const start = startExport(doc, frModelProblems);
  if (!start.ok) return start.result;
  const { m, reasons, warnings } = start;
  let s = start.settings;
  let explicit = start.explicit;
  if (!start.explicit) {
    const bot = readSettings({ ...doc, training: FR_BOT_SETTINGS as unknown as Record<string, unknown> });
    if (bot.ok) (s = bot.settings), (explicit = true);
    warnings.push("the document has no training settings: fast-reid's BoT recipe (configs/Base-bagtricks.yml) is written");
  }

  const batch = s.batch.p * s.batch.k;
  const ds = datasetOf(s, explicit);
  let frName = 'Market1501';
  let ipe: number | undefined;
  // Written as an editable config: what the user must fill in becomes a YAML comment above its key.
  const notes: Record<string, string> = {};
  if ('reason' in ds) {
    frName = DATASET_PLACEHOLDER;
    notes['DATASETS.NAMES'] = datasetNote(s, 'fast-reid', "'Market1501', 'DukeMTMC'", 'set DATASETS.TESTS to the same (the data root is $FASTREID_DATASETS)');
  } else if (ds.known && !ds.known.fastreid) {
    frName = DATASET_PLACEHOLDER;
    notes['DATASETS.NAMES'] = `fast-reid has no name for ${ds.known.label}: its CUHK03 (fastreid/data/datasets/cuhk03.py) loads the labeled boxes (cuhk03_labeled=True); register a reader with cuhk03_labeled=False and name it here`;
    warnings.push(`fast-reid cannot name ${ds.known.label}: DATASETS.NAMES is ${DATASET_PLACEHOLDER} until a reader is added`);
  } else {
    frName = ds.known?.fastreid ?? ds.name;
    if (ds.fallback) warnings.push('no dataset chosen: DATASETS.NAMES is Market1501, the framework default');
    if (ds.known) {
      ipe = itersPerEpoch(ds.known, batch);
      // MODEL.HEADS.NUM_CLASSES is written 0: fast-reid sizes the classifier from the data it loads
      // (engine/defaults.py auto_scale_hyperparams), as the app's trainer does (training/engine/prepare.ts).
      if (ds.known.trainIds !== m.numClasses)
        warnings.push(`the graph's classifier has ${m.numClasses} classes; fast-reid sizes it from the data it loads (${ds.known.label}: ${ds.known.trainIds} training identities), as the app's trainer does`);
    } else warnings.push(`fast-reid sizes the classifier from ${frName}'s training identities; the graph has ${m.numClasses}`);
  }

  // Pointing at reid-strong-baseline only where its Baseline can hold the model (rsbModelProblems: it has no
  // ResNeSt or MGN, no fast-reid stem, no IBN-a but ResNet-50's), so the two refusals never send the user in a circle.
  if (s.loss.metric !== 'triplet') {
    const rsbCannot = rsbModelProblems(m);
    const why = m.arch === 'mgn' || m.arch === 'resnest' ? `has no ${m.arch === 'mgn' ? 'MGN' : 'ResNeSt'}` : `cannot build this model: ${rsbCannot[0]}`;
    reasons.push(
      rsbCannot.length
        ? `center loss (${s.loss.metric}): fast-reid has no center loss; choose the triplet metric loss (reid-strong-baseline, which trains center loss, ${why})`
        : `center loss (${s.loss.metric}): fast-reid has no center loss; choose the triplet metric loss, or export for reid-strong-baseline (rsb-yaml, rsb-job), which trains it`,
    );
  }
  const warm = s.schedule.warmup && s.schedule.warmupEpochs > 0 ? s.schedule.warmupEpochs : 0;
  if (warm > 0 && ipe === undefined && !('reason' in ds))
    reasons.push(`fast-reid counts warmup in iterations and the iterations per epoch of ${frName} are unknown to the app; switch warmup off or use a known dataset`);
  if (m.frozenBackbone && ipe === undefined && !('reason' in ds))
    reasons.push(`fast-reid freezes for SOLVER.FREEZE_ITERS iterations and the iterations per epoch of ${frName} are unknown to the app`);
  // fast-reid's multi-step schedule starts counting epochs when warmup ends (fastreid/engine/hooks.py LRScheduler).
  const frSteps = s.schedule.steps.map((e) => e - warm);
  if (frSteps.some((e) => e < 1))
    reasons.push(`LR step at epoch ${Math.min(...s.schedule.steps)} falls inside the ${warm}-epoch warmup; fast-reid only steps its schedule after warmup`);
  if (!s.loss.softMargin && s.loss.margin === 0 && s.sampler !== 'softmax')
    reasons.push('the triplet hinge has margin 0, which fast-reid reads as its soft-margin loss (MODEL.LOSSES.TRI.MARGIN 0); use a positive margin or the soft margin');
  if (!Number.isInteger(s.classifier.scale)) reasons.push(`the classifier scale ${s.classifier.scale} is not an integer: fast-reid's MODEL.HEADS.SCALE is an int`);
  if (m.frozenBackbone && s.freezeBackboneIters > 0) reasons.push('the backbone is frozen in the graph and also for the first iterations: fast-reid has one FREEZE_ITERS; unfreeze the graph or set the iterations to 0');
  if (s.sampler === 'softmax' && s.loss.labelSmooth)
    warnings.push("label smoothing is off with the 'softmax' sampler (reid-strong-baseline semantics): CE.EPSILON is 0");
  if (s.test.featNorm && s.test.metric === 'euclidean') warnings.push('L2-normalised features with Euclidean distance rank like cosine: TEST.METRIC is cosine');
  if (s.seed !== 0) warnings.push(`the seed (${s.seed}) is not written`);
  if (s.framework?.withNonLocal && !m.nonLocal && !m.arch)
    warnings.push('the document remembers WITH_NL from an earlier import, but its graph has no non-local blocks: WITH_NL is written False (re-import the config to build them)');
  if (s.loss.centerWeight !== 0.0005 || s.loss.centerLr !== 0.5) warnings.push('center-loss settings are not written (fast-reid has no center loss)');
  if (reasons.length) return { ok: false, reasons };

  const pixel = exportPixelStats(doc, 255, 'bicubic', 'fast-reid', warnings);
  const pretrained = s.pretrained;
  const model: YacsTree = {
    META_ARCHITECTURE: str(m.arch === 'mgn' ? 'MGN' : 'Baseline'),
    BACKBONE: {
      NAME: str(m.arch === 'resnest' ? 'build_resnest_backbone' : 'build_resnet_backbone'),
      NORM: str('BN'),
      DEPTH: str(DEPTH_KEY[m.depth]!),
      LAST_STRIDE: int(m.lastStride),
      // Not derived from the depth in fast-reid: 512 must be set by hand for 18x/34x.
      FEAT_DIM: int(FEAT_DIM[m.depth]),
      WITH_IBN: bool(m.ibn),
      WITH_SE: bool(false),
      // fast-reid's ResNeSt ignores WITH_NL: written as the imported recipe had it (AGW / SBS: True).
      WITH_NL: bool(!!m.nonLocal || (m.arch === 'resnest' && !!s.framework?.withNonLocal)),
      PRETRAIN: bool(pretrained.choice === 'imagenet'),
      PRETRAIN_PATH: str(pretrained.choice === 'imagenet' ? (pretrained.path ?? '') : ''),
    },
    HEADS: {
      NAME: str('EmbeddingHead'),
      NORM: str('BN'),
      WITH_BNNECK: bool(m.neck === 'bnneck'),
      POOL_LAYER: str(POOL_NAME[m.pool]),
      // fast-reid's NECK_FEAT is the *training* triplet feature; evaluation always uses the post-neck one.
      NECK_FEAT: str(m.trainFeat),
      CLS_LAYER: str(s.classifier.layer),
      EMBEDDING_DIM: int(m.embeddingDim ?? 0),
      NUM_CLASSES: int(0),
      SCALE: int(s.classifier.scale),
      MARGIN: float(s.classifier.margin),
    },
    LOSSES: {
      NAME: tuple(s.sampler === 'softmax' ? [CE] : s.sampler === 'triplet' ? [TRI] : [CE, TRI]),
      CE: { EPSILON: float(s.loss.labelSmooth && s.sampler !== 'softmax' ? 0.1 : 0), SCALE: float(lossTermWeight('ce', s.loss)) },
      TRI: { MARGIN: float(s.loss.softMargin ? 0 : s.loss.margin), HARD_MINING: bool(s.loss.hardMining), NORM_FEAT: bool(s.loss.normFeat), SCALE: float(lossTermWeight('triplet', s.loss)) },
    },
    PIXEL_MEAN: pixel.mean,
    PIXEL_STD: pixel.std,
  };
  if (m.frozenBackbone || s.freezeBackboneIters > 0) model.FREEZE_LAYERS = strs(m.arch === 'mgn' ? [...MGN_FREEZE_MODULES] : ['backbone']);
  if (pretrained.choice === 'self') model.WEIGHTS = str(pretrained.path ?? '');
  const solver: YacsTree = {
    OPT: str(s.optimizer.name === 'adam' ? 'Adam' : 'SGD'),
    MAX_EPOCH: int(s.epochs),
    BASE_LR: float(s.optimizer.baseLr),
    MOMENTUM: float(s.optimizer.momentum),
    WEIGHT_DECAY: float(s.optimizer.weightDecay),
    WEIGHT_DECAY_NORM: float(s.optimizer.weightDecay),
    WEIGHT_DECAY_BIAS: float(s.optimizer.weightDecay),
    BIAS_LR_FACTOR: float(1),
    HEADS_LR_FACTOR: float(1),
    IMS_PER_BATCH: int(batch),
    SCHED: str(s.schedule.name === 'cosine' ? 'CosineAnnealingLR' : 'MultiStepLR'),
    STEPS: ints(frSteps),
    GAMMA: float(s.schedule.gamma),
    DELAY_EPOCHS: int(s.schedule.delayEpochs),
    ETA_MIN_LR: float(s.schedule.etaMinLr),
    WARMUP_FACTOR: float(s.schedule.warmupFactor),
    WARMUP_ITERS: int(warm * (ipe ?? 0)),
    WARMUP_METHOD: str('linear'),
    CHECKPOINT_PERIOD: int(s.checkpointPeriod),
  };
  // A whole-run freeze: fast-reid unfreezes when the iteration reaches FREEZE_ITERS.
  if (m.frozenBackbone) solver.FREEZE_ITERS = int(s.epochs * (ipe ?? 0));
  else if (s.freezeBackboneIters > 0) solver.FREEZE_ITERS = int(s.freezeBackboneIters);
  if (ipe === undefined && 'reason' in ds) {
    const perEpoch = "your dataset's training images // IMS_PER_BATCH";
    if (warm > 0) notes['SOLVER.WARMUP_ITERS'] = `fast-reid counts warmup in iterations: the app warmed up for ${warm} epochs, so ${warm} × (${perEpoch})`;
    if (m.frozenBackbone) notes['SOLVER.FREEZE_ITERS'] = `the backbone stayed frozen for the whole run: ${s.epochs} epochs × (${perEpoch})`;
  }
  const tree: YacsTree = {
    MODEL: model,
    INPUT: {
      SIZE_TRAIN: ints(m.input),
      SIZE_TEST: ints(m.input),
      FLIP: { ENABLED: bool(s.augment.flipProb > 0), PROB: float(s.augment.flipProb) },
      PADDING: { ENABLED: bool(s.augment.padding > 0), MODE: str('constant'), SIZE: int(s.augment.padding) },
      REA: { ENABLED: bool(s.augment.randomErasingProb > 0), PROB: float(s.augment.randomErasingProb) },
      AUTOAUG: { ENABLED: bool(s.augment.autoAugmentProb > 0), PROB: float(s.augment.autoAugmentProb) },
    },
    DATASETS: { NAMES: tuple([frName]), TESTS: tuple([frName]) },
    DATALOADER: { SAMPLER_TRAIN: str(s.sampler === 'softmax' ? 'TrainingSampler' : 'NaiveIdentitySampler'), NUM_INSTANCE: int(s.batch.k) },
    SOLVER: solver,
    TEST: {
      EVAL_PERIOD: int(s.evalPeriod),
      METRIC: str(!s.test.featNorm && s.test.metric === 'euclidean' ? 'euclidean' : 'cosine'),
      RERANK: { ENABLED: bool(s.test.reRanking) },
    },
  };
  if (s.framework?.outputDir) tree.OUTPUT_DIR = str(s.framework.outputDir);
  const kept = keptOf(s, 'fastreid');
  const written = writeKept(tree, kept, FR_KEEP, keptSkips(kept, s, ds, warm, ipe));
  warnings.push(...keptNote(written));
  const header = [
    'fast-reid config written by ReID Studio',
    `model: ${presetName(m)}${m.arch ? '' : ' (fast-reid stem)'}, ${m.numClasses} classes, input ${m.input[0]}x${m.input[1]}`,
    ...(ipe !== undefined ? [`iterations per epoch assumed: ${ipe} (len(train set) // IMS_PER_BATCH)`] : []),
  ];
  if (Object.keys(notes).length) {
    header.push('Edit the keys marked TO FILL IN before training with this file.');
    warnings.push(`the config needs editing before it trains: ${Object.keys(notes).join(', ')} (see the TO FILL IN comments)`);
  }
  return { ok: true, text: emitYacs(tree, header, notes), warnings: [...warnings, ...FR_NOTES] };
}

/**
 * Kept keys the app models approximately, left out when the document no longer agrees with them: WARMUP_ITERS
 * while the warmup stays the same whole epochs, BalancedIdentitySampler while P×K sampling is on, the
 * config's DATASETS.NAMES / TESTS while the document trains on the dataset they load.
 */
function keptSkips(kept: KeptKeys | undefined, s: TrainingSettings, ds: ReturnType<typeof datasetOf>, warm: number, ipe: number | undefined): Set<string> {
  const skip = new Set<string>();
  if (!kept) return skip;
  const iters = kept['SOLVER.WARMUP_ITERS'];
  if (iters !== undefined && !(typeof iters === 'number' && warm > 0 && ipe !== undefined && Math.max(1, Math.round(iters / ipe)) === warm)) skip.add('SOLVER.WARMUP_ITERS');
  if (kept['DATALOADER.SAMPLER_TRAIN'] !== undefined && s.sampler === 'softmax') skip.add('DATALOADER.SAMPLER_TRAIN');
  const names = kept['DATASETS.NAMES'];
  const tests = kept['DATASETS.TESTS'];
  if (names !== undefined || tests !== undefined) {
    const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
    const loads = fastreidDataset(list(names), list(tests));
    const same = 'reason' in ds ? false : ds.known ? loads?.kind === ds.known.kind : !loads && list(names)[0] === ds.name;
    if (!same) skip.add('DATASETS.NAMES').add('DATASETS.TESTS');
  }
  return skip;
}

/** fast-reid config (already merged with its `_BASE_` chain and flattened) → document. */
export function importFastreid(flat: Map<string, ConfigValue>): ImportResult {
  const r = new ConfigReader(flat, FR_DEFAULTS);
  r.use('_BASE_');
  for (const k of r.keys())
    if (!(k in FR_DEFAULTS) && k !== '_BASE_') r.warnings.push(`${k} is not in fast-reid's defaults.py (fast-reid rejects it unless a project adds it)`);
  const refuse = (msg: string): never => {
    throw new ConfigError(msg);
  };

  // fast-reid's MGN (fastreid/modeling/meta_arch/mgn.py): a ResNet trunk, three branches, eight EmbeddingHeads (core/presets/mgn.ts).
  const mgn = r.str('MODEL.META_ARCHITECTURE') === 'MGN';
  if (!mgn && r.str('MODEL.META_ARCHITECTURE') !== 'Baseline') refuse(`MODEL.META_ARCHITECTURE '${r.raw('MODEL.META_ARCHITECTURE')}' is not modelled (the Baseline and MGN meta-architectures are)`);
  const bbName = r.str('MODEL.BACKBONE.NAME');
  if (bbName === 'build_vit_backbone')
    refuse(
      "MODEL.BACKBONE.NAME 'build_vit_backbone': a Vision Transformer (fastreid/modeling/backbones/vision_transformer.py, patch embedding + self-attention blocks) is not a ResNet-family network; the app models ResNet, ResNet-IBN and ResNeSt backbones",
    );
  if (bbName !== 'build_resnet_backbone' && bbName !== 'build_resnest_backbone')
    refuse(`MODEL.BACKBONE.NAME '${bbName}' is not modelled (build_resnet_backbone and build_resnest_backbone are)`);
  // fastreid/modeling/backbones/resnest.py build_resnest_backbone: DEPTH 50x / 101x / 200x / 269x.
  const resnest = bbName === 'build_resnest_backbone';
  const depthRaw = r.raw('MODEL.BACKBONE.DEPTH');
  r.use('MODEL.BACKBONE.DEPTH');
  const depthKey = typeof depthRaw === 'number' ? `${depthRaw}x` : String(depthRaw);
  const depth = FR_DEPTHS[depthKey];
  if (resnest && depthKey !== '50x' && depthKey !== '101x')
    refuse(`MODEL.BACKBONE.DEPTH '${depthKey}' with build_resnest_backbone: the app models ResNeSt 50x and 101x (fast-reid also has 200x and 269x)`);
  if (!depth) refuse(`MODEL.BACKBONE.DEPTH '${depthKey}' is not a fast-reid ResNet depth (18x, 34x, 50x, 101x)`);
  if (mgn && (resnest || depth !== 'resnet50'))
    refuse(`MGN on ${resnest ? 'ResNeSt' : depthKey}: the app models fast-reid's MGN on a 50x ResNet (its branches copy layer3[1:] and a 2048-channel layer4 of ResNet-50)`);
  let ibn = r.bool('MODEL.BACKBONE.WITH_IBN');
  if (r.bool('MODEL.BACKBONE.WITH_SE')) refuse('MODEL.BACKBONE.WITH_SE: fast-reid SE blocks are not modelled');
  // fast-reid's ResNeSt reads neither WITH_IBN nor WITH_NL (build_resnest_backbone; its Bottleneck has no IBN or non-local).
  const resnestNl = resnest && r.bool('MODEL.BACKBONE.WITH_NL');
  if (resnest && ibn) {
    r.notModelled('MODEL.BACKBONE.WITH_IBN', "MODEL.BACKBONE.WITH_IBN: fast-reid's build_resnest_backbone ignores it (its ResNeSt has no IBN); the graph has none");
    ibn = false;
  }
  if (resnestNl)
    r.warnings.push("MODEL.BACKBONE.WITH_NL: fast-reid's build_resnest_backbone ignores it (its ResNeSt has no non-local blocks); the graph has none, the setting is kept for export");
  // Non-local blocks (AGW, SBS): fast-reid puts none in 18x / 34x (nl_layers_per_stage [0, 0, 0, 0]).
  if (mgn && r.bool('MODEL.BACKBONE.WITH_NL')) refuse("MODEL.BACKBONE.WITH_NL with MGN: the app's MGN has no non-local blocks (fast-reid's Base-MGN.yml sets WITH_NL False)");
  const withNonLocal = !resnest && r.bool('MODEL.BACKBONE.WITH_NL') && FASTREID_NL_LAYERS[depth!]!.some((n) => n > 0);
  if (!resnest && r.bool('MODEL.BACKBONE.WITH_NL') && !withNonLocal)
    r.warnings.push(`MODEL.BACKBONE.WITH_NL: fast-reid builds no non-local blocks in a ${depthKey} ResNet (nl_layers_per_stage [0, 0, 0, 0]); the graph has none`);
  for (const key of ['MODEL.BACKBONE.NORM', 'MODEL.HEADS.NORM']) {
    const norm = r.str(key);
    if (norm === 'syncBN') r.warnings.push(`${key} syncBN is BatchNorm synchronised across GPUs: on one device it is the app's BatchNorm`);
    else if (norm !== 'BN') refuse(`${key} '${norm}' is not modelled (BN only)`);
  }
  const lastStride = r.num('MODEL.BACKBONE.LAST_STRIDE', { int: true });
  if (lastStride !== 1 && lastStride !== 2) refuse(`MODEL.BACKBONE.LAST_STRIDE must be 1 or 2 (got ${lastStride})`);
  const featDim = r.num('MODEL.BACKBONE.FEAT_DIM', { int: true });
  if (featDim !== FEAT_DIM[depth!])
    r.notModelled('MODEL.BACKBONE.FEAT_DIM', `MODEL.BACKBONE.FEAT_DIM ${featDim} does not match ${depthKey}'s ${FEAT_DIM[depth!]} channels (fast-reid would fail to build the head); the graph uses ${FEAT_DIM[depth!]}`);

  if (r.str('MODEL.HEADS.NAME') !== 'EmbeddingHead') refuse(`MODEL.HEADS.NAME '${r.raw('MODEL.HEADS.NAME')}' is not modelled (EmbeddingHead only)`);
  const embeddingDim = r.num('MODEL.HEADS.EMBEDDING_DIM', { int: true, min: 0 });
  if (embeddingDim !== 0 && !mgn) refuse('MODEL.HEADS.EMBEDDING_DIM > 0 (a 1×1 embedding conv before the neck) is modelled for MGN only');
  const clsName = r.str('MODEL.HEADS.CLS_LAYER');
  const clsLayer = CLS_LAYERS.find((c) => c.toLowerCase() === clsName.toLowerCase());
  if (!clsLayer) refuse(`MODEL.HEADS.CLS_LAYER '${clsName}' is not a fast-reid classification layer (${CLS_LAYERS.join(', ')})`);
  const classifier = { layer: clsLayer!, scale: r.num('MODEL.HEADS.SCALE', { min: 0 }), margin: r.num('MODEL.HEADS.MARGIN', { min: 0 }) };
  if (classifier.scale <= 0) refuse('MODEL.HEADS.SCALE must be positive');
  const poolName = r.str('MODEL.HEADS.POOL_LAYER');
  const pool = FR_POOLS[poolName];
  if (!pool) refuse(`MODEL.HEADS.POOL_LAYER '${poolName}' is not modelled (${Object.keys(FR_POOLS).join(', ')} are)`);
  const withBnneck = r.bool('MODEL.HEADS.WITH_BNNECK');
  if (mgn && !withBnneck) refuse("MODEL.HEADS.WITH_BNNECK False with MGN: the app's MGN heads have the BNNeck");
  const trainFeat = r.str('MODEL.HEADS.NECK_FEAT', ['before', 'after'] as const);

  const size = r.inputSize();

  const names = r.strList('DATASETS.NAMES');
  const dsName = names[0] ?? 'Market1501';
  if (names.length !== 1) r.warnings.push(`DATASETS.NAMES lists ${names.length} datasets; the app trains on one: ${dsName} is used`);
  const tests = r.strList('DATASETS.TESTS');
  if (r.bool('DATASETS.COMBINEALL')) r.notModelled('DATASETS.COMBINEALL', 'DATASETS.COMBINEALL trains on train+query+gallery; the app trains on the training split');
  const known = fastreidDataset(names, tests);
  const evalName = known?.fastreid ?? dsName;
  // NAMES / TESTS as the config gave them, written back while the document keeps this dataset.
  const datasetKept = tests.length !== 1 || tests[0] !== evalName || (!!known && dsName !== known.fastreid);
  if (tests.length !== 1 || tests[0] !== evalName)
    r.warnings.push(`DATASETS.TESTS ${JSON.stringify(tests)}: the app evaluates on the query/gallery of ${known ? `${known.label} (${evalName})` : dsName}; the list is kept for export`);
  const explicitClasses = r.num('MODEL.HEADS.NUM_CLASSES', { int: true, min: 0, max: 1_000_000 });
  let numClasses = known?.trainIds ?? (explicitClasses || 751);
  if (!known && !explicitClasses) r.warnings.push(`unknown dataset '${dsName}': the classifier keeps ${numClasses} classes (fast-reid sizes it from the data; set it in the graph)`);
  if (known && explicitClasses && explicitClasses !== known.trainIds)
    r.warnings.push(`MODEL.HEADS.NUM_CLASSES ${explicitClasses} is replaced by ${known.label}'s ${known.trainIds} identities, as fast-reid does when it loads the data`);
  numClasses = Math.max(1, numClasses);

  const lossNames = r.strList('MODEL.LOSSES.NAME');
  const unknownLoss = lossNames.filter((n) => !lossTermByFastreidName(n));
  const modelled = LOSS_TERMS.flatMap((t) => (t.fastreid ? [t.fastreid.name] : []));
  if (unknownLoss.length) refuse(`MODEL.LOSSES.NAME ${unknownLoss.join(', ')}: only ${modelled.join(' and ')} are modelled`);
  const hasCe = lossNames.includes(CE);
  const hasTri = lossNames.includes(TRI);
  if (!hasCe && !hasTri) refuse('MODEL.LOSSES.NAME is empty');
  const sampler: TrainingSettings['sampler'] = hasCe && hasTri ? 'softmax_triplet' : hasTri ? 'triplet' : 'softmax';
  const samplerTrain = r.str('DATALOADER.SAMPLER_TRAIN');
  const pk = samplerTrain === 'NaiveIdentitySampler' || samplerTrain === 'BalancedIdentitySampler';
  if (samplerTrain !== 'TrainingSampler' && !pk) refuse(`DATALOADER.SAMPLER_TRAIN '${samplerTrain}' is not modelled`);
  // fastreid/data/samplers/triplet_sampler.py: BalancedIdentitySampler also balances each identity's cameras.
  if (samplerTrain === 'BalancedIdentitySampler' && sampler !== 'softmax')
    r.warnings.push("DATALOADER.SAMPLER_TRAIN BalancedIdentitySampler (fast-reid picks each identity's instances across its cameras): the app samples P×K identities as NaiveIdentitySampler does; the sampler is kept for export");
  if (pk !== (sampler !== 'softmax'))
    r.notModelled(
      'DATALOADER.SAMPLER_TRAIN',
      `DATALOADER.SAMPLER_TRAIN ${samplerTrain} with losses ${lossNames.join('+')}: the app ${sampler === 'softmax' ? 'shuffles for cross-entropy alone' : 'samples P×K identities whenever a triplet loss is used'} (reid-strong-baseline semantics)`,
    );
  const eps = r.num('MODEL.LOSSES.CE.EPSILON');
  let labelSmooth = eps > 0;
  if (!hasCe) r.use('MODEL.LOSSES.CE.EPSILON');
  else if (eps !== 0 && Math.abs(eps - 0.1) > 1e-12) {
    labelSmooth = true;
    r.notModelled('MODEL.LOSSES.CE.EPSILON', `MODEL.LOSSES.CE.EPSILON ${eps}: the app smooths labels with ε = 0.1 only`);
  }
  if (sampler === 'softmax' && labelSmooth)
    r.warnings.push('cross-entropy alone with label smoothing: the app (reid-strong-baseline semantics) does not smooth labels with the softmax sampler');
  // Each term's weight from its fast-reid key (core/training/losses.ts: CE.SCALE, TRI.SCALE).
  const termWeights: Record<string, number> = {};
  for (const t of LOSS_TERMS) if (t.fastreid) termWeights[t.weightField] = r.num(t.fastreid.weightKey, { min: 0 });
  // fastreid/modeling/losses/triplet_loss.py: MARGIN 0 selects SoftMarginLoss.
  const margin = r.num('MODEL.LOSSES.TRI.MARGIN', { min: 0 });
  const hardMining = r.bool('MODEL.LOSSES.TRI.HARD_MINING');
  const normFeat = r.bool('MODEL.LOSSES.TRI.NORM_FEAT');

  const k = r.num('DATALOADER.NUM_INSTANCE', { int: true, min: 1 });
  const batch = r.num('SOLVER.IMS_PER_BATCH', { int: true, min: 1 });
  let p = batch / k;
  if (!Number.isInteger(p)) {
    p = Math.max(1, Math.floor(p));
    r.notModelled('SOLVER.IMS_PER_BATCH', `SOLVER.IMS_PER_BATCH ${batch} is not a multiple of NUM_INSTANCE ${k}; the app uses ${p}×${k} = ${p * k}`);
  }
  const ipe = known ? itersPerEpoch(known, p * k) : undefined;
  const epochs = r.num('SOLVER.MAX_EPOCH', { int: true, min: 1 });

  let frozenBackbone = false;
  const freezeLayers = r.strList('MODEL.FREEZE_LAYERS');
  const freezeIters = r.num('SOLVER.FREEZE_ITERS', { int: true, min: 0 });
  let freezeBackboneIters = 0;
  if (freezeLayers.length && freezeIters > 0) {
    // MGN's FREEZE_LAYERS (configs/Base-MGN.yml) name the trunk and the three branches: all but the heads.
    const onlyBackbone = mgn ? sameStrings(freezeLayers, MGN_FREEZE_MODULES) : freezeLayers.every((l) => l === 'backbone');
    if (onlyBackbone && ipe !== undefined && freezeIters >= epochs * ipe) frozenBackbone = true;
    // fastreid/engine/hooks.py LayerFreeze: the backbone trains from iteration FREEZE_ITERS on.
    else if (onlyBackbone) freezeBackboneIters = freezeIters;
    else {
      r.notModelled('MODEL.FREEZE_LAYERS', `MODEL.FREEZE_LAYERS ${JSON.stringify(freezeLayers)}: the app freezes the backbone only`);
      r.drop('SOLVER.FREEZE_ITERS');
    }
  }

  const opt = r.str('SOLVER.OPT');
  let optimizer: 'adam' | 'sgd' = 'adam';
  if (opt === 'Adam' || opt === 'SGD') optimizer = opt === 'Adam' ? 'adam' : 'sgd';
  else r.notModelled('SOLVER.OPT', `SOLVER.OPT '${opt}': the app trains with Adam or SGD; Adam is used`);
  if (optimizer === 'sgd' && r.bool('SOLVER.NESTEROV')) r.notModelled('SOLVER.NESTEROV', 'SOLVER.NESTEROV: the app uses plain momentum');
  else r.use('SOLVER.NESTEROV');
  const weightDecay = r.num('SOLVER.WEIGHT_DECAY', { min: 0 });
  for (const key of ['SOLVER.WEIGHT_DECAY_NORM', 'SOLVER.WEIGHT_DECAY_BIAS']) {
    const v = r.num(key, { min: 0 });
    if (Math.abs(v - weightDecay) > 1e-12) r.notModelled(key, `${key} ${v}: the app applies WEIGHT_DECAY ${weightDecay} to every parameter`);
  }
  for (const key of ['SOLVER.BIAS_LR_FACTOR', 'SOLVER.HEADS_LR_FACTOR']) {
    const v = r.num(key);
    if (v !== 1) r.notModelled(key, `${key} ${v}: the app uses one learning rate for every parameter`);
  }

  const sched = r.str('SOLVER.SCHED');
  const multiStep = sched === 'MultiStepLR' || sched === 'WarmupMultiStepLR';
  const cosine = sched === 'CosineAnnealingLR';
  if (!multiStep && !cosine) r.notModelled('SOLVER.SCHED', `SOLVER.SCHED '${sched}': the app's schedules are multi-step and cosine annealing; multi-step with the app's default steps is used`);
  const delayEpochs = r.num('SOLVER.DELAY_EPOCHS', { int: true, min: 0 });
  const etaMinLr = r.num('SOLVER.ETA_MIN_LR', { min: 0 });
  const warmupIters = r.num('SOLVER.WARMUP_ITERS', { int: true, min: 0 });
  const method = r.str('SOLVER.WARMUP_METHOD');
  if (method !== 'linear' && warmupIters > 0) r.notModelled('SOLVER.WARMUP_METHOD', `SOLVER.WARMUP_METHOD '${method}': the app warms up linearly`);
  let warmupEpochs = 0;
  if (warmupIters > 0) {
    if (ipe === undefined) {
      warmupEpochs = 10;
      r.notModelled('SOLVER.WARMUP_ITERS', `SOLVER.WARMUP_ITERS ${counted(warmupIters, 'iteration')}: the iterations per epoch of '${dsName}' are unknown, so the app's ${warmupEpochs}-epoch default is used`);
    } else {
      warmupEpochs = Math.max(1, Math.round(warmupIters / ipe));
      if (warmupEpochs * ipe !== warmupIters)
        r.warnings.push(
          `SOLVER.WARMUP_ITERS ${counted(warmupIters, 'iteration')} = ${(warmupIters / ipe).toFixed(2)} epochs at ${counted(ipe, 'iteration')} per epoch (${known!.label}: ${known!.trainImages} images // ${p * k}); the app warms up per epoch for ${warmupEpochs} (the ${warmupIters} iterations are kept for export while the warmup stays ${warmupEpochs} epochs)`,
        );
    }
  }
  const frSteps = r.ints('SOLVER.STEPS', { min: 1 });
  // fast-reid's multi-step milestones count epochs after warmup (fastreid/engine/hooks.py LRScheduler).
  const steps = multiStep || cosine ? frSteps.map((e) => e + warmupEpochs) : [40, 70];
  if (!multiStep && !cosine) r.drop('SOLVER.STEPS');

  const flipOn = r.bool('INPUT.FLIP.ENABLED');
  const flipProb = r.num('INPUT.FLIP.PROB', { min: 0, max: 1 });
  const padOn = r.bool('INPUT.PADDING.ENABLED');
  const padSize = r.num('INPUT.PADDING.SIZE', { int: true, min: 0 });
  const padMode = r.str('INPUT.PADDING.MODE');
  if (padOn && padMode !== 'constant') r.notModelled('INPUT.PADDING.MODE', `INPUT.PADDING.MODE '${padMode}': the app pads with zeros`);
  const reaOn = r.bool('INPUT.REA.ENABLED');
  const reaProb = r.num('INPUT.REA.PROB', { min: 0, max: 1 });
  const autoAugmentProb = r.bool('INPUT.AUTOAUG.ENABLED') ? r.num('INPUT.AUTOAUG.PROB', { min: 0, max: 1 }) : (r.use('INPUT.AUTOAUG.PROB'), 0);
  for (const aug of ['CJ', 'AFFINE', 'AUGMIX', 'RPT', 'CROP']) {
    const key = `INPUT.${aug}.ENABLED`;
    if (r.raw(key) === true) r.warnings.push(`${key}: this augmentation is not modelled by the app`);
  }
  const pixel = readPixelStats(r, 'MODEL.PIXEL_MEAN', 'MODEL.PIXEL_STD', 255);

  const metric = r.str('TEST.METRIC', ['cosine', 'euclidean'] as const);
  const rerank = r.bool('TEST.RERANK.ENABLED');
  for (const [key, ref] of [['TEST.RERANK.K1', 20], ['TEST.RERANK.K2', 6], ['TEST.RERANK.LAMBDA', 0.3]] as const) {
    const v = r.raw(key);
    if (rerank && v !== ref) r.notModelled(key, `${key} ${JSON.stringify(v)}: the app re-ranks with k1 20, k2 6, λ 0.3`);
  }

  const weights = r.str('MODEL.WEIGHTS');
  const pre = r.bool('MODEL.BACKBONE.PRETRAIN');
  const prePath = r.str('MODEL.BACKBONE.PRETRAIN_PATH');
  const pretrained: TrainingSettings['pretrained'] = weights
    ? { choice: 'self', path: weights }
    : pre
      ? prePath
        ? { choice: 'imagenet', path: prePath }
        : { choice: 'imagenet' }
      : { choice: 'none' };
  const outputDir = r.raw('OUTPUT_DIR');
  const framework: Record<string, unknown> = {};
  if (!known) framework.datasetName = dsName;
  if (resnestNl) framework.withNonLocal = true;
  // Approximately modelled keys, written back under the exporter's conditions (exportFastreidYaml).
  const lossy: KeptKeys = {};
  if (warmupIters > 0 && ipe !== undefined && warmupEpochs * ipe !== warmupIters) lossy['SOLVER.WARMUP_ITERS'] = warmupIters;
  if (samplerTrain === 'BalancedIdentitySampler' && sampler !== 'softmax') lossy['DATALOADER.SAMPLER_TRAIN'] = samplerTrain;
  if (datasetKept) Object.assign(lossy, { 'DATASETS.NAMES': names, 'DATASETS.TESTS': tests });
  const weightDecayWritten = r.num('SOLVER.WEIGHT_DECAY', { min: 0 });
  const kept = keptKeys(
    r,
    FR_KEEP,
    {
      'MODEL.BACKBONE.NORM': 'BN', 'MODEL.HEADS.NORM': 'BN', 'MODEL.HEADS.NUM_CLASSES': 0, 'SOLVER.BIAS_LR_FACTOR': 1, 'SOLVER.HEADS_LR_FACTOR': 1,
      'SOLVER.WEIGHT_DECAY_NORM': weightDecayWritten, 'SOLVER.WEIGHT_DECAY_BIAS': weightDecayWritten, 'SOLVER.WARMUP_METHOD': 'linear', 'INPUT.PADDING.MODE': 'constant',
    },
    lossy,
  );
  if (kept) framework.keys = { fastreid: kept };
  r.warnings.push(...keptImportNote(kept));
  if (r.has('OUTPUT_DIR') && typeof outputDir === 'string' && outputDir) {
    r.use('OUTPUT_DIR');
    framework.outputDir = outputDir;
  }

  const settings = finishSettings({
    ...(known ? { dataset: { kind: known.kind, demoSize: 'small' } } : {}),
    sampler,
    batch: { p, k },
    // fast-reid has no center loss.
    loss: { labelSmooth, metric: 'triplet', margin, centerWeight: 0.0005, centerLr: 0.5, ...termWeights, softMargin: margin === 0, hardMining, normFeat },
    classifier,
    optimizer: { name: optimizer, baseLr: r.num('SOLVER.BASE_LR'), weightDecay, momentum: r.num('SOLVER.MOMENTUM') },
    schedule: {
      warmup: warmupIters > 0,
      warmupFactor: r.num('SOLVER.WARMUP_FACTOR', { min: 0, max: 1 }),
      warmupEpochs: warmupIters > 0 ? warmupEpochs : 10,
      steps,
      gamma: r.num('SOLVER.GAMMA'),
      name: cosine ? 'cosine' : 'multistep',
      delayEpochs,
      etaMinLr,
    },
    freezeBackboneIters,
    epochs,
    augment: { flipProb: flipOn ? flipProb : 0, padding: padOn ? padSize : 0, randomErasingProb: reaOn ? reaProb : 0, autoAugmentProb },
    test: { featNorm: metric === 'cosine', metric, reRanking: rerank },
    pretrained,
    evalPeriod: r.num('TEST.EVAL_PERIOD', { int: true, min: 1 }),
    checkpointPeriod: r.num('SOLVER.CHECKPOINT_PERIOD', { int: true, min: 1 }),
    ...(Object.keys(framework).length ? { framework } : {}),
  });
  if (!known)
    r.warnings.push(`ReID Studio has no ${dsName} loader: the training settings keep the demo dataset and remember '${framework.datasetName}' for export`);

  const spec: ModelSpec = {
    depth: depth!,
    ibn,
    stem: 'fastreid',
    lastStride: lastStride as 1 | 2,
    neck: withBnneck ? 'bnneck' : 'no',
    neckFeat: 'after',
    trainFeat: withBnneck ? trainFeat : 'before',
    classifierBias: false,
    pool: pool!,
    numClasses,
    input: [size[0], size[1]],
    frozenBackbone,
    ...(withNonLocal ? { nonLocal: true } : {}),
    ...(resnest ? { arch: 'resnest' as const } : {}),
    ...(mgn ? { arch: 'mgn' as const, embeddingDim } : {}),
  };
  const doc = buildModel(spec);
  doc.training = settings as unknown as Record<string, unknown>;
  setPreprocess(doc, { interpolation: 'bicubic', ...pixel });
  return { doc, ignored: r.ignored(), warnings: [...r.warnings, ...FR_NOTES], framework: 'fastreid' };
}
