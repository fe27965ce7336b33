import { z } from 'zod';
import { BACKEND_CHOICES } from './backends.js';
import { DATASET_LAYOUT_IDS } from '../config/datasets.js';

/**
 * Training settings stored in the document's `training` block. Defaults = reid-strong-baseline's
 * configs/softmax_triplet_with_center.yml; every trick is a toggle.
 */
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
    })
    .default({ labelSmooth: true, metric: 'triplet_center', margin: 0.3, centerWeight: 0.0005, centerLr: 0.5 }),
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
    })
    .default({ warmup: true, warmupFactor: 0.01, warmupEpochs: 10, steps: [40, 70], gamma: 0.1 }),
  epochs: z.number().int().min(1).max(10000).default(120),
  augment: z
    .object({
      flipProb: z.number().min(0).max(1).default(0.5),
      padding: z.number().int().min(0).default(10),
      randomErasingProb: z.number().min(0).max(1).default(0.5),
    })
    .default({ flipProb: 0.5, padding: 10, randomErasingProb: 0.5 }),
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
