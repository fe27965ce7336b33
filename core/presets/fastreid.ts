import { importConfig } from '../config/import.js';
import type { GraphDoc } from '../graph/types.js';

/**
 * fast-reid's ResNet recipes as presets: BoT (configs/Base-bagtricks.yml), AGW (Base-AGW.yml) and SBS
 * (Base-SBS.yml) on R50, R50-ibn, R101-ibn and S50 (ResNeSt-50), built by importing the recipe's own config text (the values
 * below are fast-reid's; the per-backbone lines are those of configs/<dataset>/<recipe>_<backbone>.yml), so a
 * preset is exactly what importing that config gives: graph (for AGW / SBS with fast-reid's non-local blocks,
 * WITH_NL) and training settings.
 */
const BAGTRICKS = `MODEL:
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
SOLVER:
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
`;

const AGW = `MODEL:
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
`;

const SBS = `MODEL:
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
`;

export const FR_RECIPE_CONFIGS = { bagtricks: BAGTRICKS, AGW, sbs: SBS } as const;
export type FrRecipe = keyof typeof FR_RECIPE_CONFIGS;
export const FR_BACKBONES = {
  R50: '',
  'R50-ibn': 'MODEL:\n  BACKBONE:\n    WITH_IBN: True\n',
  'R101-ibn': 'MODEL:\n  BACKBONE:\n    DEPTH: 101x\n    WITH_IBN: True\n',
  // configs/<dataset>/<recipe>_S50.yml: fast-reid's ResNeSt-50 (fastreid/modeling/backbones/resnest.py).
  S50: 'MODEL:\n  BACKBONE:\n    NAME: build_resnest_backbone\n',
} as const;
export type FrBackbone = keyof typeof FR_BACKBONES;

/** fast-reid's configs/Base-MGN.yml (on Base-SBS.yml): MGN with 256-d heads, no non-local blocks, trunk and branches frozen first. */
const MGN = `_BASE_: Base-SBS.yml
MODEL:
  META_ARCHITECTURE: MGN
  FREEZE_LAYERS: [backbone, b1, b2, b3,]
  BACKBONE:
    WITH_NL: False
  HEADS:
    EMBEDDING_DIM: 256
`;

/**
 * Preset names `fastreid_<recipe>_<backbone>` (fast-reid's config file names), e.g. `fastreid_sbs_R50-ibn`, and
 * `fastreid_mgn_R50-ibn` (configs/<dataset>/mgn_R50-ibn.yml, fast-reid's MGN: core/presets/mgn.ts).
 */
export const FR_PRESET_NAMES: readonly string[] = [
  ...(Object.keys(FR_RECIPE_CONFIGS) as FrRecipe[]).flatMap((r) => (Object.keys(FR_BACKBONES) as FrBackbone[]).map((b) => `fastreid_${r}_${b}`)),
  'fastreid_mgn_R50-ibn',
];

/** The presets that take another input size (`input`): fast-reid's MGN, whose INPUT.SIZE_TRAIN a user's config overrides. */
export const FR_PRESETS_WITH_INPUT: readonly string[] = ['fastreid_mgn_R50-ibn'];

/**
 * The document of a fast-reid recipe preset on `dataset` (a DATASETS.NAMES value, default Market1501):
 * the import of the recipe's config (Base-bagtricks.yml, then Base-AGW.yml / Base-SBS.yml, then the backbone
 * lines). `input` [H, W] sets INPUT.SIZE_TRAIN / SIZE_TEST as a user's config on top of the recipe would
 * (FR_PRESETS_WITH_INPUT only; the graph's diagnostics say when MGN's stripes do not fit the size). Throws on an
 * unknown name or an `input` for another preset.
 */
export function buildFastreidPreset(name: string, dataset = 'Market1501', input?: [number, number]): GraphDoc {
  const datasets = `DATASETS:\n  NAMES: ("${dataset}",)\n  TESTS: ("${dataset}",)\n`;
  if (input && !FR_PRESETS_WITH_INPUT.includes(name)) throw new Error(`the fast-reid preset ${name} takes its recipe's input size`);
  if (name === 'fastreid_mgn_R50-ibn') {
    const files: Record<string, string> = { 'configs/Base-bagtricks.yml': BAGTRICKS, 'configs/Base-SBS.yml': `_BASE_: Base-bagtricks.yml\n${SBS}`, 'configs/Base-MGN.yml': MGN };
    const size = input ? `INPUT:\n  SIZE_TRAIN: [${input[0]}, ${input[1]}]\n  SIZE_TEST: [${input[0]}, ${input[1]}]\n` : '';
    const own = `_BASE_: ../Base-MGN.yml\n${FR_BACKBONES['R50-ibn']}${datasets}${size}`;
    return importConfig(own, { path: 'configs/preset/mgn.yml', resolveBase: (p) => files[p]! }).doc;
  }
  const m = /^fastreid_(bagtricks|AGW|sbs)_(R50|R50-ibn|R101-ibn|S50)$/.exec(name);
  if (!m) throw new Error(`unknown fast-reid preset "${name}" (choose one of ${FR_PRESET_NAMES.join(', ')})`);
  const recipe = m[1] as FrRecipe;
  const files: Record<string, string> = {
    'configs/Base-bagtricks.yml': BAGTRICKS,
    'configs/Base-recipe.yml': recipe === 'bagtricks' ? '_BASE_: Base-bagtricks.yml\n' : `_BASE_: Base-bagtricks.yml\n${FR_RECIPE_CONFIGS[recipe]}`,
  };
  const own = `_BASE_: ../Base-recipe.yml\n${FR_BACKBONES[m[2] as FrBackbone]}${datasets}`;
  return importConfig(own, { path: 'configs/preset/recipe.yml', resolveBase: (p) => files[p]! }).doc;
}
