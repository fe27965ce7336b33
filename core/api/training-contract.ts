import { z } from 'zod';
import { BACKEND_CHOICES } from '../training/backends.js';
import { LOSS_TERM_IDS, type LossTermId } from '../training/losses.js';
import { DATASET_LAYOUT_IDS } from '../config/datasets.js';

/** One optional number per loss term (core/training/losses.ts): the unweighted term values of a step. */
const lossTermFields = Object.fromEntries(LOSS_TERM_IDS.map((id) => [id, z.number().optional()])) as Record<LossTermId, z.ZodOptional<z.ZodNumber>>;

/**
 * Training, runs, datasets and backend calls of the API contract (merged into `calls` / `events` in
 * contract.ts). Payloads are validated by the service with these schemas.
 */
/**
 * A run id names one folder inside the runs folder: letters, digits, `_`, `-`, `.`, starting with a
 * letter or digit (so never `.`, `..` or a hidden name), at most 120 characters, no path separator.
 */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][\w.-]{0,119}$/;
export const isRunId = (id: unknown): id is string => typeof id === 'string' && RUN_ID_PATTERN.test(id);
export const runIdSchema = z.string().regex(RUN_ID_PATTERN, 'invalid run id (letters, digits, _ - . starting with a letter or digit)');
export const absPathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'path must not contain NUL')
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'path must be absolute');

/** A run's display name (train.start, runs.import, runs.rename); the UI's name inputs take the same maxLength. */
export const RUN_NAME_MAX = 120;
const runName = z.string().min(1).max(RUN_NAME_MAX);

const runId = runIdSchema;
const path = absPathSchema;

export const dataSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('demo'), size: z.enum(['tiny', 'small', 'medium']).default('small') }).strict(),
  z.object({ kind: z.literal('folder'), path, layout: z.enum(DATASET_LAYOUT_IDS).optional() }).strict(),
]);
export type DataSource = z.output<typeof dataSourceSchema>;

const splitSummary = z.object({ identities: z.number(), images: z.number(), cameras: z.number(), imagesPerIdentity: z.record(z.string(), z.number()) });

const runSummary = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  created: z.string(),
  updated: z.string(),
  active: z.boolean(),
  backend: z.string().optional(),
  /** An imported run: the framework's output folder it follows and when that last changed. */
  external: z.object({ framework: z.string(), source: z.string(), lastChanged: z.string().nullable() }).optional(),
  /** The WebGPU adapter of a run on the webgpu engine (run.json `adapter`). */
  adapter: z.string().optional(),
  epochs: z.number().optional(),
  step: z.number().optional(),
  epoch: z.number().optional(),
  mAP: z.number().optional(),
  rank1: z.number().optional(),
  message: z.string().optional(),
  /** The run folder holds a checkpoint (Resume is possible). */
  hasCheckpoint: z.boolean().optional(),
});
export type RunSummary = z.output<typeof runSummary>;

const change = z.object({ kind: z.string(), text: z.string() });
const rankImage = z.object({ path: z.string(), pid: z.number(), camid: z.number() });

/** Retrieval metrics (Market-1501 protocol): fractions in [0, 1]; cmc[k] = matched within the top k+1. */
export const evalMetricsSchema = z.object({
  mAP: z.number(),
  rank1: z.number(),
  rank5: z.number(),
  rank10: z.number(),
  mINP: z.number(),
  cmc: z.array(z.number()),
  numQuery: z.number(),
  numGallery: z.number(),
  numValidQuery: z.number(),
  numSkippedQuery: z.number(),
  metric: z.string().optional(),
  /** Features L2-normalised before the distance (cosine always; euclidean per the document's framework). */
  featNorm: z.boolean().optional(),
  reRanking: z.boolean().optional(),
  seconds: z.number().optional(),
});

/** An evaluation record's id: `<UTC yyyymmdd-hhmmss>-<8 hex>` (main/runs/store/eval-records.ts). */
export const evalIdSchema = z.string().regex(/^\d{8}-\d{6}-[0-9a-f]{8}$/, 'invalid evaluation id');

/** One evaluation of a run after training, as kept in `<run>/evals/<id>/record.json` (README "Evaluation records"). */
export const evalRecordSchema = z.object({
  format: z.literal('reid-studio-eval-record'),
  version: z.number(),
  id: z.string(),
  time: z.string(),
  dataset: z.object({ root: z.string(), kind: z.string(), numQuery: z.number(), numGallery: z.number() }),
  split: z.string(),
  /** The dataset the run trained on (same folder and layout). */
  inDomain: z.boolean(),
  metric: z.string(),
  featNorm: z.boolean().optional(),
  reRanking: z.boolean(),
  epoch: z.number().optional(),
  iteration: z.number().optional(),
  step: z.number().optional(),
  weights: z.record(z.string(), z.unknown()),
  backend: z.string(),
  adapter: z.string().optional(),
  engine: z.record(z.string(), z.unknown()).optional(),
  results: evalMetricsSchema.omit({ metric: true, reRanking: true }),
});
export type EvalRecordData = z.output<typeof evalRecordSchema>;

export const trainingCalls = {
  /** Starts a run in a separate training process; progress arrives as `train.event`. */
  'train.start': {
    input: z
      .object({
        doc: z.string().max(64 * 1024 * 1024),
        data: dataSourceSchema,
        weights: path.nullable().default(null),
        name: z.string().max(RUN_NAME_MAX).optional(),
        backend: z.enum(BACKEND_CHOICES).default('auto'),
      })
      .strict(),
    output: z.object({ runId: z.string(), runDir: z.string() }),
  },
  /** Stop (checkpoint, end) or pause (checkpoint, resumable) a running run. */
  'train.control': { input: z.object({ runId, action: z.enum(['stop', 'pause']) }).strict(), output: z.object({ ok: z.literal(true) }) },
  /** Continue a paused, stopped or crashed run from its last checkpoint. */
  'train.resume': { input: z.object({ runId }).strict(), output: z.object({ runId: z.string() }) },
  'runs.list': { input: z.object({}).strict(), output: z.array(runSummary) },
  /**
   * The run's evaluation records, oldest first: one per evaluation after training ("Evaluate on…", `eval
   * RUN_DIR`), each with its dataset, metric, re-ranking, weights position and backend (README "Evaluation
   * records"). The training-time evaluation is not among them: it is `runs.get`'s `eval`.
   */
  'runs.evals': { input: z.object({ runId }).strict(), output: z.array(evalRecordSchema) },
  'runs.get': {
    input: z.object({ runId }).strict(),
    output: z.object({
      summary: runSummary,
      info: z.record(z.string(), z.unknown()),
      metrics: z.array(z.record(z.string(), z.unknown())),
      eval: z.record(z.string(), z.unknown()).nullable(),
      doc: z.string().nullable(),
      settings: z.record(z.string(), z.unknown()).nullable(),
      loadReport: z.record(z.string(), z.unknown()).nullable(),
      /** Evaluations after training, oldest first (as `runs.evals`). */
      evals: z.array(evalRecordSchema).optional(),
    }),
  },
  /**
   * A fast-reid / reid-strong-baseline output folder becomes a run (read only; re-read while it changes).
   * `data`: the dataset folder it trained on (Evaluate on… uses it as the run's own).
   */
  'runs.import': {
    input: z.object({ path, name: runName.optional(), data: path.optional() }).strict(),
    output: z.object({ runId: z.string(), runDir: z.string(), framework: z.enum(['fastreid', 'rsb']), frameworkLabel: z.string(), source: z.string(), steps: z.number(), evals: z.number(), skippedLines: z.number(), checkpoint: z.object({ file: z.string(), epoch: z.number().nullable() }).nullable(), ignored: z.array(z.string()), warnings: z.array(z.string()) }),
  },
  'runs.rename': { input: z.object({ runId, name: runName }).strict(), output: z.object({ ok: z.literal(true) }) },
  'runs.delete': { input: z.object({ runId }).strict(), output: z.object({ ok: z.literal(true) }) },
  /** Two or more runs side by side: metrics, and what changed in the graph and settings against the first. */
  'runs.compare': {
    input: z.object({ runIds: z.array(runId).min(2).max(8) }).strict(),
    output: z.object({
      runs: z.array(z.object({ summary: runSummary, curve: z.array(z.object({ step: z.number(), loss: z.number(), acc: z.number().optional(), ...lossTermFields })), eval: z.record(z.string(), z.unknown()).nullable(), evals: z.array(evalRecordSchema).optional() })),
      changes: z.array(z.object({ from: z.string(), to: z.string(), model: z.array(change), settings: z.array(change) })),
    }),
  },
  /** A query and its top-k gallery images for a sample of queries of the last evaluation. */
  'runs.ranklist': {
    input: z.object({ runId, queries: z.number().int().min(1).max(50).default(8), k: z.number().int().min(1).max(20).default(10), evalId: evalIdSchema.optional() }).strict(),
    output: z.array(
      z.object({
        query: z.object({ path: z.string(), pid: z.number(), camid: z.number() }),
        results: z.array(z.object({ path: z.string(), pid: z.number(), camid: z.number(), match: z.boolean(), distance: z.number() })),
      }),
    ),
  },
  /**
   * Every query of the last evaluation, one page at a time: its AP and INP (from the same evaluation as the
   * run's mAP / mINP, Market-1501 protocol), the rank of its first true match and its top-k gallery images.
   * `sort`: query order or AP ascending / descending (skipped queries, without AP, last); `failures`:
   * queries whose rank-1 image is wrong first, or only those.
   */
  'runs.queries': {
    input: z
      .object({
        runId,
        /** An evaluation record's id (`runs.evals`): its queries instead of the training-time evaluation's. */
        evalId: evalIdSchema.optional(),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(100).default(20),
        k: z.number().int().min(1).max(20).default(10),
        sort: z.enum(['query', 'ap-asc', 'ap-desc']).default('query'),
        failures: z.enum(['all', 'first', 'only']).default('all'),
      })
      .strict(),
    output: z.object({
      numQuery: z.number(),
      numValidQuery: z.number(),
      /** Valid queries whose rank-1 gallery image is not a true match. */
      numFailures: z.number(),
      /** Queries in the filtered list (all, or the failures only). */
      total: z.number(),
      offset: z.number(),
      mAP: z.number(),
      mINP: z.number(),
      items: z.array(
        z.object({
          /** Position in the evaluation's query list. */
          index: z.number(),
          query: rankImage,
          /** Null for a query without a true match in the gallery (not counted in mAP). */
          ap: z.number().nullable(),
          inp: z.number().nullable(),
          /** 1-based rank of the first true match; null when there is none. */
          firstMatchRank: z.number().nullable(),
          numMatches: z.number(),
          firstMatch: rankImage.extend({ distance: z.number() }).nullable(),
          results: z.array(rankImage.extend({ match: z.boolean(), distance: z.number() })),
        }),
      ),
    }),
  },
  /**
   * Two runs on the same evaluation (the same query and gallery images in the same order, e.g. both
   * evaluated on one dataset): every query's AP in run A and run B, sorted by the difference B − A
   * (`diff-desc`: most improved first; `diff-asc`: most regressed first), filtered to the improved
   * (ΔAP > 0), regressed (ΔAP < 0) or both-fail (rank-1 wrong in both) queries, with both top-k rank lists.
   */
  'runs.compareQueries': {
    input: z
      .object({
        runIds: z.tuple([runId, runId]),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(100).default(20),
        k: z.number().int().min(1).max(20).default(10),
        sort: z.enum(['diff-desc', 'diff-asc', 'query']).default('diff-desc'),
        filter: z.enum(['all', 'improved', 'regressed', 'both-fail']).default('all'),
      })
      .strict(),
    output: z.object({
      numQuery: z.number(),
      /** Queries with a true match (valid in both: the same evaluation has the same valid queries). */
      numValidQuery: z.number(),
      counts: z.object({ improved: z.number(), regressed: z.number(), unchanged: z.number(), bothFail: z.number() }),
      mAP: z.tuple([z.number(), z.number()]),
      total: z.number(),
      offset: z.number(),
      items: z.array(
        z.object({
          index: z.number(),
          query: rankImage,
          ap: z.tuple([z.number(), z.number()]),
          /** ap[1] − ap[0]. */
          diff: z.number(),
          firstMatchRank: z.tuple([z.number(), z.number()]),
          results: z.tuple([z.array(rankImage.extend({ match: z.boolean(), distance: z.number() })), z.array(rankImage.extend({ match: z.boolean(), distance: z.number() }))]),
        }),
      ),
    }),
  },
  /**
   * Embedding map of a run's last evaluation: query and gallery features projected to 2-D (PCA → UMAP,
   * umap-js, seeded: main/training/eval/projection.ts) in a worker thread; progress as `projection.progress`.
   * One point per image, in query then gallery order, with its identity and camera for colouring.
   */
  'runs.projection': {
    input: z.object({ runId, seed: z.number().int().min(0).max(2 ** 31 - 1).default(0) }).strict(),
    output: z.object({
      seed: z.number(),
      epochs: z.number(),
      numQuery: z.number(),
      /** x, y per image (2·N numbers, query rows first). */
      xy: z.array(z.number()),
      images: z.array(rankImage.extend({ split: z.enum(['query', 'gallery']) })),
    }),
  },
  /** Dataset summary and problems, before training starts. */
  'dataset.inspect': {
    input: z.object({ data: dataSourceSchema }).strict(),
    output: z.object({
      kind: z.string(),
      root: z.string(),
      numClasses: z.number(),
      summary: z.object({
        train: splitSummary,
        query: splitSummary,
        gallery: splitSummary,
        /** The layout read, how query / gallery were formed, how many queries have a match, reading notes. */
        layout: z.string().optional(),
        evaluation: z.string().optional(),
        validQueries: z.number().optional(),
        notes: z.array(z.string()).optional(),
      }),
      problems: z.object({
        junkDropped: z.number(),
        unparsable: z.array(z.string()),
        unreadable: z.array(z.object({ path: z.string(), reason: z.string() })),
        identitiesBelowK: z.array(z.object({ pid: z.number(), images: z.number() })),
        distractorsDropped: z.number().optional(),
        /** Class folders holding no image (not classes) and training identities left with no readable image. */
        emptyClasses: z.array(z.string()).optional(),
        identitiesDropped: z.array(z.object({ id: z.string(), images: z.number() })).optional(),
      }),
      samples: z.array(z.object({ path: z.string(), pid: z.number(), camid: z.number() })),
    }),
  },
  /**
   * Activation maps (torchreid `visualize_actmap`: Σ_c x² of the last feature map, L2-normalised, resized, jet,
   * image·(1 − opacity) + map·opacity, opacity torchreid's 0.7 unless given; core/compile/actmap.ts) of images the service has listed before, computed with the
   * run's checkpoint by the engine that evaluates (an extra output of the same lowered graph): JPEG data URLs,
   * null for an image that is not served or not readable. `engine` names it, `featureMap` is [h, w].
   */
  'runs.actmaps': {
    input: z.object({ runId, paths: z.array(path).max(128), checkpoint: z.enum(['last', 'best']).default('last'), opacity: z.number().min(0).max(1).optional() }).strict(),
    output: z.object({ engine: z.string(), featureMap: z.tuple([z.number(), z.number()]), images: z.array(z.object({ path: z.string(), dataUrl: z.string().nullable() })) }),
  },
  /** Small JPEG thumbnails (data URLs) of dataset images the service has listed before. */
  'dataset.thumbnails': {
    input: z.object({ paths: z.array(path).max(128) }).strict(),
    output: z.array(z.object({ path: z.string(), dataUrl: z.string().nullable() })),
  },
  /** Which tfjs backend training uses here, and why faster ones were skipped. */
  'backend.status': {
    input: z.object({}).strict(),
    output: z.object({
      backend: z.string(),
      reason: z.string(),
      attempts: z.array(z.object({ name: z.string(), package: z.string(), status: z.string(), message: z.string().optional() })),
      notes: z.array(z.string()),
      /** 'cpu' also for tfjs-node-gpu that found no GPU device; then `gpuFallback` says so. */
      device: z.enum(['cpu', 'gpu']).optional(),
      gpuFallback: z.string().optional(),
      /** onnxruntime-node's CPU engine: when available, `auto` trains and evaluates on it. */
      onnxruntime: z.object({ available: z.boolean(), threads: z.number(), version: z.string().optional(), message: z.string().optional() }).optional(),
      gpu: z.object({ ready: z.boolean(), gpus: z.array(z.object({ name: z.string(), driver: z.string() })), cudaRuntimes: z.array(z.string()), cudnnLibraries: z.array(z.string()), problems: z.array(z.string()), fixes: z.array(z.string()) }).optional(),
      /** onnxruntime's WebGPU engine: the adapter Dawn gives (software or not, its limits) and the smoke test where it ran. */
      webgpu: z
        .object({
          available: z.boolean(),
          message: z.string().optional(),
          adapter: z.object({ label: z.string(), vendor: z.string(), architecture: z.string(), device: z.string(), driver: z.string(), backend: z.string(), isSoftware: z.boolean(), maxBufferSize: z.number(), maxStorageBufferBindingSize: z.number() }).optional(),
          smokeTest: z.object({ passed: z.boolean(), message: z.string().optional() }).optional(),
        })
        .optional(),
      /** The engine `auto` picks for training and for evaluation here, and why. */
      engines: z.object({ train: z.object({ engine: z.string(), reason: z.string() }), eval: z.object({ engine: z.string(), reason: z.string() }) }).optional(),
    }),
  },
} as const;

/** Events of the training engine (main/training/engine/trainer.ts TrainEvent), as the renderer receives them. */
export const trainEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), runDir: z.string(), backend: z.string(), device: z.enum(['cpu', 'gpu']).optional(), /** the WebGPU adapter the webgpu engine trains on ("NVIDIA H100 (Vulkan)") */ adapter: z.string().optional(), backendWarning: z.string().optional(), epochs: z.number(), startEpoch: z.number(), itersPerEpoch: z.number(), microBatch: z.number(), microBatchReason: z.string(), loss: z.string(), numClasses: z.number(), resumedFromStep: z.number().optional() }),
  z.object({ type: z.literal('step'), epoch: z.number(), iter: z.number(), iters: z.number(), step: z.number(), loss: z.number(), ...lossTermFields, acc: z.number(), lr: z.number(), imgPerSec: z.number(), etaSeconds: z.number() }),
  z.object({ type: z.literal('epoch'), epoch: z.number(), loss: z.number(), acc: z.number(), seconds: z.number() }),
  z.object({ type: z.literal('checkpoint'), epoch: z.number(), step: z.number(), batch: z.number().optional() }),
  z.object({ type: z.literal('eval'), epoch: z.number(), mAP: z.number(), rank1: z.number(), rank5: z.number(), rank10: z.number(), mINP: z.number().optional() }),
  z.object({ type: z.literal('done'), status: z.enum(['completed', 'stopped', 'paused']), step: z.number(), epoch: z.number() }),
]);
export type TrainEventData = z.output<typeof trainEventSchema>;

export const trainingEvents = {
  /** A progress event of a running run (engine TrainEvent: start, step, epoch, checkpoint, eval, done). */
  'train.event': z.object({ runId: z.string(), event: trainEventSchema }),
  /** The training process ended: completed, stopped, paused, or failed (crash / out of memory) with a message. */
  /** `code`: a failure's stable code when it has one (E_OUT_OF_MEMORY: lower the micro-batch). */
  'train.exit': z.object({ runId: z.string(), status: z.enum(['completed', 'stopped', 'paused', 'failed']), message: z.string().optional(), code: z.string().optional() }),
  /** Progress of `runs.projection` (PCA, neighbours, then the UMAP layout epochs). */
  'projection.progress': z.object({ runId: z.string(), seed: z.number(), stage: z.enum(['pca', 'neighbours', 'layout']), done: z.number(), total: z.number() }),
} as const;
