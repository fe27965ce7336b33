import { z } from 'zod';
import { BACKEND_CHOICES } from './backends.js';
import { DATASET_LAYOUT_IDS } from '../config/datasets.js';

/** fast-reid's classification layers (fastreid/layers/any_softmax.py __all__). */
export const CLS_LAYERS = ['Linear', 'CircleSoftmax', 'ArcSoftmax', 'CosSoftmax'] as const;
export type ClsLayer = (typeof CLS_LAYERS)[number];

/**
 * Training settings stored in the document's `training` block. Defaults = reid-strong-baseline's
 * configs/softmax_triplet_with_center.yml; every trick is a toggle.
 */
/** A YACS config value as YAML gives it (core/config/yacs.ts ConfigValue). */
type JsonValue = string | number | boolean | null | JsonValue[];
const configValueSchema: z.ZodType<JsonValue> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(configValueSchema)]));

export const trainingSettingsSchema = z.object({
  dataset: z
    .object({
      /** 'demo' = the built-in synthetic dataset; the other layouts (core/config/datasets.ts) read `path`. */
      kind: z.enum(['demo', ...DATASET_LAYOUT_IDS]).default('demo'),
      path: z.string().optional(),
      demoSize: z.enum(['tiny', 'small', 'medium']).default('small'),
    })
    .default({ kind: 'demo', demoSize: 'small' }),
  /** RSB DATALOADER.SAMPLER: 'softmax' = plain shuffle; others use the P×K identity sampler. */
  sampler: z.enum(['softmax', 'triplet', 'softmax_triplet']).default('softmax_triplet'),
  /** Identities per batch (P) and images per identity (K): IMS_PER_BATCH = P·K, NUM_INSTANCE = K. */
  batch: z.object({ p: z.number().int().min(1).max(1024), k: z.number().int().min(1).max(64) }).default({ p: 16, k: 4 }),
  loss: z
    .object({
      labelSmooth: z.boolean().default(true),
      /** RSB MODEL.METRIC_LOSS_TYPE. */
      metric: z.enum(['triplet', 'center', 'triplet_center']).default('triplet_center'),
      margin: z.number().min(0).default(0.3),
      centerWeight: z.number().min(0).default(0.0005),
      centerLr: z.number().positive().default(0.5),
      /** Weights of the CE and triplet terms in the total (fast-reid MODEL.LOSSES.CE.SCALE / TRI.SCALE; RSB: 1). */
      ceWeight: z.number().min(0).default(1),
      tripletWeight: z.number().min(0).default(1),
      /** fast-reid MODEL.LOSSES.TRI.MARGIN 0: SoftMarginLoss on d_an − d_ap instead of a hinge (`margin` is unused). */
      softMargin: z.boolean().default(false),
      /** fast-reid MODEL.LOSSES.TRI.HARD_MINING: batch-hard (true) or softmax-weighted positives/negatives (false, AGW). */
      hardMining: z.boolean().default(true),
      /** fast-reid MODEL.LOSSES.TRI.NORM_FEAT: L2-normalise the triplet features first. */
      normFeat: z.boolean().default(false),
    })
    .default({ labelSmooth: true, metric: 'triplet_center', margin: 0.3, centerWeight: 0.0005, centerLr: 0.5, ceWeight: 1, tripletWeight: 1, softMargin: false, hardMining: true, normFeat: false }),
  /**
   * fast-reid MODEL.HEADS.CLS_LAYER / SCALE / MARGIN (fastreid/layers/any_softmax.py): how the classifier's
   * logits are formed in training. 'Linear' = the plain bias-free product (SCALE and MARGIN unused); the
   * others take the cosine between the L2-normalised feature and class weight and apply a margin and scale.
   * Evaluation never uses the logits.
   */
  classifier: z
    .object({
      layer: z.enum(CLS_LAYERS).default('Linear'),
      scale: z.number().positive().default(1),
      margin: z.number().min(0).default(0),
    })
    .default({ layer: 'Linear', scale: 1, margin: 0 }),
  optimizer: z
    .object({
      name: z.enum(['adam', 'sgd']).default('adam'),
      baseLr: z.number().positive().default(3.5e-4),
      weightDecay: z.number().min(0).default(5e-4),
      momentum: z.number().min(0).max(1).default(0.9),
    })
    .default({ name: 'adam', baseLr: 3.5e-4, weightDecay: 5e-4, momentum: 0.9 }),
  schedule: z
    .object({
      warmup: z.boolean().default(true),
      warmupFactor: z.number().min(0).max(1).default(0.01),
      /** RSB SOLVER.WARMUP_ITERS, which counts epochs there. */
      warmupEpochs: z.number().int().min(0).default(10),
      steps: z.array(z.number().int().positive()).default([40, 70]),
      gamma: z.number().positive().default(0.1),
      /**
       * 'multistep': reid-strong-baseline's WarmupMultiStepLR, stepped per epoch. 'cosine': fast-reid's
       * SOLVER.SCHED CosineAnnealingLR (fastreid/solver/build.py, engine/hooks.py LRScheduler): linear warmup
       * per iteration, constant LR until `delayEpochs`, then torch CosineAnnealingLR per epoch down to `etaMinLr`.
       */
      name: z.enum(['multistep', 'cosine']).default('multistep'),
      /** fast-reid SOLVER.DELAY_EPOCHS (cosine only). */
      delayEpochs: z.number().int().min(0).default(0),
      /** fast-reid SOLVER.ETA_MIN_LR (cosine only). */
      etaMinLr: z.number().min(0).default(1e-7),
    })
    .default({ warmup: true, warmupFactor: 0.01, warmupEpochs: 10, steps: [40, 70], gamma: 0.1, name: 'multistep', delayEpochs: 0, etaMinLr: 1e-7 }),
  /**
   * fast-reid MODEL.FREEZE_LAYERS [backbone] with SOLVER.FREEZE_ITERS (engine/hooks.py LayerFreeze): the
   * backbone's weights get no update for the first N iterations, then train. 0 = off.
   */
  freezeBackboneIters: z.number().int().min(0).default(0),
  epochs: z.number().int().min(1).max(10000).default(120),
  augment: z
    .object({
      flipProb: z.number().min(0).max(1).default(0.5),
      padding: z.number().int().min(0).default(10),
      randomErasingProb: z.number().min(0).max(1).default(0.5),
      /** fast-reid INPUT.AUTOAUG.PROB with ENABLED (its ImageNet AutoAugment policy); 0 = off. */
      autoAugmentProb: z.number().min(0).max(1).default(0),
    })
    .default({ flipProb: 0.5, padding: 10, randomErasingProb: 0.5, autoAugmentProb: 0 }),
  test: z
    .object({
      featNorm: z.boolean().default(true),
      metric: z.enum(['cosine', 'euclidean']).default('cosine'),
      reRanking: z.boolean().default(false),
    })
    .default({ featNorm: true, metric: 'cosine', reRanking: false }),
  pretrained: z
    .object({ choice: z.enum(['none', 'imagenet', 'self']).default('none'), path: z.string().optional() })
    .default({ choice: 'none' }),
  evalPeriod: z.number().int().min(1).default(40),
  checkpointPeriod: z.number().int().min(1).default(1),
  seed: z.number().int().min(0).default(0),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  /**
   * Images per forward / backward pass: the P×K batch's gradient is accumulated over micro-batches of this
   * size (BatchNorm then normalises each micro-batch on its own). Absent = planned from the training
   * device's memory; the CLI's --micro-batch overrides it. Not a framework setting (exports skip it).
   */
  microBatch: z.number().int().min(1).max(4096).optional(),
  /** Kept for config import/export (core/config) only; the app's own training does not read it. */
  framework: z
    .object({
      /** RSB / fast-reid DATASETS.NAMES when dataset.kind has no equivalent (e.g. msmt17). */
      datasetName: z.string().min(1).optional(),
      /** OUTPUT_DIR of the framework config. */
      outputDir: z.string().optional(),
      /**
       * fast-reid MODEL.BACKBONE.WITH_NL as documents imported before non-local blocks were built kept it
       * (no longer written: the graph's non-local blocks say it). Read for a warning only — except for a
       * ResNeSt graph, whose fast-reid builder ignores WITH_NL: there it is the imported value, written back.
       */
      withNonLocal: z.boolean().optional(),
      /**
       * Config keys the app does not model, as the imported config set them (dotted key → value), per
       * framework: written back when the document is exported to that framework (core/config/keep.ts).
       */
      keys: z
        .object({ rsb: z.record(z.string(), configValueSchema).optional(), fastreid: z.record(z.string(), configValueSchema).optional() })
        .optional(),
    })
    .optional(),
});

export type TrainingSettings = z.infer<typeof trainingSettingsSchema>;

export function defaultTrainingSettings(): TrainingSettings {
  return trainingSettingsSchema.parse({});
}

/** Validates a document's training block, filling defaults; returns a readable problem instead of throwing. */
export function parseTrainingSettings(raw: unknown): { ok: true; settings: TrainingSettings } | { ok: false; message: string } {
  const r = trainingSettingsSchema.safeParse(raw ?? {});
  if (r.success) return { ok: true, settings: r.data };
  const i = r.error.issues[0]!;
  return { ok: false, message: `training settings: ${i.path.join('.') || '(root)'}: ${i.message}` };
}

/** RSB WarmupMultiStepLR factor for a 1-indexed epoch (stepped once per epoch). */
export function lrFactor(s: TrainingSettings, epoch: number): number {
  const { warmup, warmupFactor, warmupEpochs, steps, gamma } = s.schedule;
  let w = 1;
  if (warmup && epoch < warmupEpochs) {
    const alpha = epoch / warmupEpochs;
    w = warmupFactor * (1 - alpha) + alpha;
  }
  return w * gamma ** steps.filter((m) => m <= epoch).length;
}
