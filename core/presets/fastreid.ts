import type { GraphDoc } from '../graph/types.js';
import { importConfig } from '../config/import.js';

/**
 * fast-reid's ResNet recipes as presets: BoT (bagtricks), AGW and SBS on R50, R50-ibn and R101-ibn, each the
 * graph and training settings that importing fast-reid's own config gives (configs/Market1501/<recipe>.yml
 * with its `_BASE_` chain). One source of truth: a preset IS the import of the config, so the model (stem,
 * IBN-a, non-local blocks, GeM-P, BNNeck feature taps) and the settings (losses, schedule, freezing,
 * augmentation) are what core/config/fastreid.ts reads from it.
 *
 * The Base-*.yml texts are fast-reid's configs/Base-bagtricks.yml, Base-AGW.yml and Base-SBS.yml
 * (JDAI-CV/fast-reid), as stored under test/fixtures/configs/fastreid (the presets test checks they are
 * the same text). The per-recipe files only set the backbone and the dataset, as fast-reid's do.
 */
export const FASTREID_BASE_CONFIGS: Readonly<Record<string, string>> = {
  'Base-bagtricks.yml': `# fast-reid configs/Base-bagtricks.yml: BoT ("bag of tricks") recipe.
MODEL:
  META_ARCHITECTURE: Baseline

  BACKBONE:
    NAME: build_resnet_backbone
    NORM: BN
    DEPTH: 50x
    LAST_STRIDE: 1
    FEAT_DIM: 2048
    WITH_IBN: False
    PRETRAIN: True

  HEADS:
    NAME: EmbeddingHead
    NORM: BN
    WITH_BNNECK: True
    POOL_LAYER: GlobalAvgPool
    NECK_FEAT: before
    CLS_LAYER: Linear

  LOSSES:
    NAME: ("CrossEntropyLoss", "TripletLoss",)

    CE:
      EPSILON: 0.1
      SCALE: 1.

    TRI:
      MARGIN: 0.3
      HARD_MINING: True
      NORM_FEAT: False
      SCALE: 1.

INPUT:
  SIZE_TRAIN: [ 256, 128 ]
  SIZE_TEST: [ 256, 128 ]

  REA:
    ENABLED: True
    PROB: 0.5

  FLIP:
    ENABLED: True

  PADDING:
    ENABLED: True

DATALOADER:
  SAMPLER_TRAIN: NaiveIdentitySampler
  NUM_INSTANCE: 4
  NUM_WORKERS: 8

SOLVER:
  AMP:
    ENABLED: True
  OPT: Adam
  MAX_EPOCH: 120
  BASE_LR: 0.00035
  WEIGHT_DECAY: 0.0005
  WEIGHT_DECAY_NORM: 0.0005
  IMS_PER_BATCH: 64

  SCHED: MultiStepLR
  STEPS: [ 40, 90 ]
  GAMMA: 0.1

  WARMUP_FACTOR: 0.1
  WARMUP_ITERS: 2000

  CHECKPOINT_PERIOD: 30

TEST:
  EVAL_PERIOD: 30
  IMS_PER_BATCH: 128

CUDNN_BENCHMARK: True
`,
  'Base-AGW.yml': `# fast-reid configs/Base-AGW.yml: AGW (non-local, GeM, weighted regularised triplet), inherits Base-bagtricks.yml.
_BASE_: Base-bagtricks.yml

MODEL:
  BACKBONE:
    WITH_NL: True

  HEADS:
    POOL_LAYER: gempool

  LOSSES:
    NAME: ("CrossEntropyLoss", "TripletLoss")
    CE:
      EPSILON: 0.1
      SCALE: 1.0

    TRI:
      MARGIN: 0.0
      HARD_MINING: False
      SCALE: 1.0
`,
  'Base-SBS.yml': `# fast-reid configs/Base-SBS.yml: stronger baseline (non-local, GeM-P, CircleSoftmax, soft-margin triplet,
# AutoAugment, cosine LR with delay, backbone frozen for the first iterations), inherits Base-bagtricks.yml.
_BASE_: Base-bagtricks.yml

MODEL:
  FREEZE_LAYERS: [ backbone ]

  BACKBONE:
    WITH_NL: True

  HEADS:
    NECK_FEAT: after
    POOL_LAYER: GeneralizedMeanPoolingP
    CLS_LAYER: CircleSoftmax
    SCALE: 64
    MARGIN: 0.35

  LOSSES:
    NAME: ("CrossEntropyLoss", "TripletLoss",)
    CE:
      EPSILON: 0.1
      SCALE: 1.0

    TRI:
      MARGIN: 0.0
      HARD_MINING: True
      NORM_FEAT: False
      SCALE: 1.0

INPUT:
  SIZE_TRAIN: [ 384, 128 ]
  SIZE_TEST: [ 384, 128 ]

  AUTOAUG:
    ENABLED: True
    PROB: 0.1

DATALOADER:
  NUM_INSTANCE: 16

SOLVER:
  AMP:
    ENABLED: True
  OPT: Adam
  MAX_EPOCH: 60
  BASE_LR: 0.00035
  WEIGHT_DECAY: 0.0005
  IMS_PER_BATCH: 64

  SCHED: CosineAnnealingLR
  DELAY_EPOCHS: 30
  ETA_MIN_LR: 0.0000007

  WARMUP_FACTOR: 0.1
  WARMUP_ITERS: 2000

  FREEZE_ITERS: 1000

  CHECKPOINT_PERIOD: 20

TEST:
  EVAL_PERIOD: 10
  IMS_PER_BATCH: 128

CUDNN_BENCHMARK: True
`,
};

const FAMILIES = { bagtricks: 'Base-bagtricks.yml', agw: 'Base-AGW.yml', sbs: 'Base-SBS.yml' } as const;
const BACKBONES = { R50: '', 'R50-ibn': '    WITH_IBN: True\n', 'R101-ibn': '    DEPTH: 101x\n    WITH_IBN: True\n' } as const;
/** fast-reid's recipe file prefixes (configs/Market1501/AGW_R50.yml, sbs_R50.yml, bagtricks_R50.yml). */
const FILE_PREFIX = { bagtricks: 'bagtricks', agw: 'AGW', sbs: 'sbs' } as const;

type Family = keyof typeof FAMILIES;
type Backbone = keyof typeof BACKBONES;

/** `fastreid_<family>_<backbone>`, e.g. fastreid_sbs_R50-ibn. */
export const FASTREID_PRESET_NAMES: readonly string[] = (Object.keys(FAMILIES) as Family[]).flatMap((f) =>
  (Object.keys(BACKBONES) as Backbone[]).map((b) => `fastreid_${f}_${b}`),
);

export function isFastreidPresetName(name: string): boolean {
  return FASTREID_PRESET_NAMES.includes(name);
}

/** The fast-reid recipe file of a preset (its Market-1501 config) and its text. */
export function fastreidPresetConfig(name: string): { path: string; text: string } {
  const m = /^fastreid_(bagtricks|agw|sbs)_(R50|R50-ibn|R101-ibn)$/.exec(name);
  if (!m) throw new Error(`unknown fast-reid preset "${name}" (choose one of ${FASTREID_PRESET_NAMES.join(', ')})`);
  const [f, b] = [m[1] as Family, m[2] as Backbone];
  const file = `${FILE_PREFIX[f]}_${b}`;
  const model = BACKBONES[b] ? `MODEL:\n  BACKBONE:\n${BACKBONES[b]}\n` : '';
  const text = `_BASE_: ../${FAMILIES[f]}\n\n${model}DATASETS:\n  NAMES: ("Market1501",)\n  TESTS: ("Market1501",)\n\nOUTPUT_DIR: logs/market1501/${file.replace('AGW', 'agw')}\n`;
  return { path: `configs/Market1501/${file}.yml`, text };
}

/** The document (graph + training settings) of a fast-reid recipe preset. Throws Error for an unknown name. */
export function buildFastreidPreset(name: string): GraphDoc {
  const { path, text } = fastreidPresetConfig(name);
  return importConfig(text, {
    path,
    resolveBase: (p) => {
      const t = FASTREID_BASE_CONFIGS[p.slice(p.lastIndexOf('/') + 1)];
      if (t === undefined) throw new Error(`no stored fast-reid config ${p}`);
      return t;
    },
  }).doc;
}
