import { z } from 'zod';
import { BACKEND_CHOICES } from '../training/backends.js';
import { absPathSchema, dataSourceSchema, evalMetricsSchema, runIdSchema } from './training-contract.js';

export { evalMetricsSchema };

/**
 * Export, config import, evaluation and weights-inspection calls of the API contract (merged into `calls` /
 * `events` in contract.ts), plus the typed training events. One implementation each in main/service; the
 * CLI, the browser-mode server and the Electron IPC host call the same functions.
 */
const runId = runIdSchema;
const path = absPathSchema;
const docText = z.string().max(64 * 1024 * 1024, 'document is larger than 64 MB');
/** A client-chosen id that progress events of this call carry (so a UI can follow its own job). */
const jobId = z.string().regex(/^[\w.-]{1,80}$/, 'invalid job id');

/**
 * Export formats. Scripts (CLI `--format`) depend on these names: add freely, never rename. `folder`
 * formats write a folder at the destination, the others one file.
 */
/**
 * Export formats. `folder`: written as a folder (else one file); `weights`: carries weights (a model format,
 * built by main/export; the others are text rendered by core/config).
 */
export const EXPORT_FORMATS = {
  graph: { label: 'Graph document', description: 'the graph document itself (versioned JSON)', extension: '.json', folder: false, weights: false },
  'rsb-yaml': { label: 'reid-strong-baseline YAML', description: 'reid-strong-baseline YACS config', extension: '.yml', folder: false, weights: false },
  'fastreid-yaml': { label: 'fast-reid YAML', description: 'fast-reid YACS config', extension: '.yml', folder: false, weights: false },
  pytorch: { label: 'PyTorch code + weights', description: "PyTorch: folder with model.py (plain torch) + model.pth (state_dict, reid-strong-baseline's or fast-reid's keys)", extension: '/', folder: true, weights: true },
  tfjs: { label: 'TensorFlow.js model', description: 'TensorFlow.js: folder with model.json + weight shards + reid-studio-layers.js', extension: '/', folder: true, weights: true },
  'fastreid-job': { label: 'fast-reid training job', description: "fast-reid training job: folder with config.yml, the initial weights, train.sh (fast-reid's tools/train_net.py on one machine or several) and a README", extension: '/', folder: true, weights: true },
  'rsb-job': { label: 'reid-strong-baseline training job', description: "reid-strong-baseline training job: folder with config.yml, the initial backbone weights, train.sh (RSB's tools/train.py) and a README", extension: '/', folder: true, weights: true },
  onnx: { label: 'ONNX model', description: 'ONNX: one .onnx file (opset 17, dynamic batch, eval feature; preprocessing in its metadata)', extension: '.onnx', folder: false, weights: true },
} as const;
/** PyTorch export layouts: reid-strong-baseline's state dict, or fast-reid's `{'model': …}` with its keys. */
export const PYTORCH_LAYOUTS = ['rsb', 'fastreid'] as const;
export type ExportFormat = keyof typeof EXPORT_FORMATS;
export const exportFormatSchema = z.enum(Object.keys(EXPORT_FORMATS) as [ExportFormat, ...ExportFormat[]]);
/** The formats that carry weights (a request's weights apply to these only). */
export const WEIGHT_FORMATS = (Object.keys(EXPORT_FORMATS) as ExportFormat[]).filter((f) => EXPORT_FORMATS[f].weights);

/** The graph an operation works on: a document (its text, as the editor holds it) or a run's graph snapshot. */
export const graphSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('doc'), text: docText }).strict(),
  z.object({ kind: z.literal('run'), runId }).strict(),
]);
/**
 * Weights: none (fresh initialisation), a run's checkpoint (`checkpoint`: its last, the default, or its best by
 * mAP, kept as evaluations land during training), or a .pth / .safetensors file (or a run folder).
 */
export const weightsSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z.object({ kind: z.literal('run'), runId, checkpoint: z.enum(['last', 'best']).optional() }).strict(),
  z.object({ kind: z.literal('file'), path }).strict(),
]);
export type GraphSource = z.output<typeof graphSourceSchema>;
export type WeightsSource = z.output<typeof weightsSourceSchema>;

const exportTarget = {
  format: exportFormatSchema,
  graph: graphSourceSchema,
  weights: weightsSourceSchema.default({ kind: 'none' }),
  /** fast-reid YAML only: convert the stem to fast-reid's (ReLU, max pool 3×3/2 padding 0 ceil_mode). */
  fastreidStem: z.boolean().default(false),
  /** pytorch only: the state dict's key layout. */
  layout: z.enum(PYTORCH_LAYOUTS).default('rsb'),
  /** Training jobs: GPUs per machine and machines (fast-reid --num-gpus / --num-machines). */
  gpus: z.number().int().min(1).max(1024).optional(),
  machines: z.number().int().min(1).max(1024).optional(),
};
const exportCheck = z.object({
  format: z.string(),
  /** False when the format cannot express the graph; nothing is written then. */
  ok: z.boolean(),
  /** Why the format cannot express the graph, one reason per line. */
  refusals: z.array(z.string()),
  warnings: z.array(z.string()),
});

const loadReport = z.object({
  format: z.string(),
  wrapper: z.string(),
  layout: z.string(),
  renamed: z.array(z.object({ from: z.string(), to: z.string() })),
  skipped: z.array(z.object({ key: z.string(), reason: z.string() })),
  missing: z.array(z.object({ key: z.string(), layer: z.string(), slot: z.string(), init: z.string() })),
  mismatched: z.array(z.object({ key: z.string(), source: z.string(), layer: z.string(), slot: z.string(), expected: z.array(z.number()), got: z.array(z.number()) })),
  counts: z.object({ loaded: z.number(), renamed: z.number(), skipped: z.number(), missing: z.number(), mismatched: z.number(), slots: z.number(), tensors: z.number() }),
});
export type LoadReportData = z.output<typeof loadReport>;


export const opsCalls = {
  /** What an export would refuse (a feature the format cannot express), before anything is written. */
  'export.check': { input: z.object({ format: exportFormatSchema, graph: graphSourceSchema, weights: weightsSourceSchema.default({ kind: 'none' }), fastreidStem: z.boolean().default(false) }).strict(), output: exportCheck },
  /** Writes one export (a file, or a folder for pytorch / tfjs) atomically; a refusal writes nothing. */
  'export.run': {
    input: z.object({ ...exportTarget, out: path, jobId: jobId.optional() }).strict(),
    output: exportCheck.extend({ out: z.string(), files: z.array(z.string()), weights: z.object({ set: z.number(), slots: z.number() }).nullable() }),
  },
  /** A reid-strong-baseline / fast-reid YAML (with `_BASE_` resolved next to it) → a new graph document. */
  'config.import': {
    input: z.object({ path }).strict(),
    output: z.object({ text: z.string(), framework: z.enum(['rsb', 'fastreid']), frameworkLabel: z.string(), ignored: z.array(z.string()), warnings: z.array(z.string()) }),
  },
  /**
   * Retrieval evaluation of a run (its last checkpoint) or a graph + weights on a dataset (`data: null`:
   * the run's own). Runs in the training process; progress arrives as `eval.progress`.
   */
  'eval.run': {
    input: z
      .object({
        graph: graphSourceSchema,
        weights: weightsSourceSchema.default({ kind: 'none' }),
        data: dataSourceSchema.nullable().default(null),
        metric: z.enum(['cosine', 'euclidean']).optional(),
        reRanking: z.boolean().default(false),
        /** `auto`, `webgpu`, `onnxruntime` or a tfjs backend (as `eval --backend`). */
        backend: z.enum(BACKEND_CHOICES).default('auto'),
        jobId: jobId.optional(),
      })
      .strict(),
    output: evalMetricsSchema.extend({
      jobId: z.string(),
      backend: z.string(),
      /** The WebGPU adapter the features were computed on (webgpu only). */
      adapter: z.string().optional(),
      dataset: z.string(),
      weights: z.object({ source: z.string(), step: z.number().optional() }),
      savedToRun: z.boolean(),
      /** With savedToRun: the evaluation's record in the run (`runs.evals`); the training-time evaluation stays as it was. */
      evalId: z.string().optional(),
      /** The run folder could not be written (read-only, full disk): the metrics are complete but not kept (savedToRun false); `code` is errno-like (EROFS, ENOSPC, EACCES, …). */
      saveError: z.object({ code: z.string(), message: z.string() }).optional(),
      /** A run checkpoint's weights: the epochs they completed, and iterations into the next one. */
      epoch: z.number().optional(),
      iteration: z.number().optional(),
    }),
  },
  /** A checkpoint's tensors, and with a graph its load report (what loads, what is renamed / skipped / missing). */
  'weights.inspect': {
    input: z.object({ path, graph: graphSourceSchema.nullable().default(null), keepClassifier: z.boolean().default(false) }).strict(),
    output: z.object({
      file: z.string(),
      format: z.string(),
      wrapper: z.string(),
      count: z.number(),
      elements: z.number(),
      tensors: z.array(z.object({ key: z.string(), dtype: z.string(), shape: z.array(z.number()) })),
      report: loadReport.nullable(),
    }),
  },
} as const;

/** Progress of an evaluation: images embedded of `total` in the query / gallery stage, then ranking. */
export const evalProgressSchema = z.object({ jobId: z.string(), stage: z.enum(['loading', 'query', 'gallery', 'ranking', 'done', 'failed']), done: z.number(), total: z.number(), message: z.string().optional() });
export type EvalProgress = z.output<typeof evalProgressSchema>;
/** Progress of an export: its stages (reading weights, building the model, writing files). */
export const exportProgressSchema = z.object({ jobId: z.string(), stage: z.enum(['checking', 'weights', 'building', 'writing', 'done', 'failed']), message: z.string().optional() });
export type ExportProgress = z.output<typeof exportProgressSchema>;

export const opsEvents = {
  'eval.progress': evalProgressSchema,
  'export.progress': exportProgressSchema,
} as const;
