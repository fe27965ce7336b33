/**
 * A training job as the service hands it to the training process: everything needed to start or resume
 * a run, as plain JSON.
 */
import { parseDocument, parseTrainingSettings, type TrainingSettings } from '../../core/index.js';
import type { EngineChoice } from '../onnx/engine.js';
import type { TrainControl, TrainEvent } from '../training/engine/trainer.js';
import { trainInRun } from './lifecycle.js';
import { evalSettings, runDataset } from './evaluate.js';
import { evaluateRun, EvalWeightsError, type EvalRunResult } from '../training/engine/evaluate-run.js';
import { openDataSource, type DataSourceArgs } from '../training/sources.js';

export interface TrainJob {
  runDir: string;
  /** The document text (graph + training block). */
  doc: string;
  settings: TrainingSettings;
  data: DataSourceArgs;
  /** A tfjs backend, `onnxruntime` or `auto`. */
  backend?: EngineChoice;
  weights?: string;
  resume?: boolean;
  microBatch?: number;
  checkpointEverySteps?: number;
}

/** An evaluation as the service hands it to the training process (`eval.run`). */
export interface EvalJob {
  doc: string;
  /** A run folder: its settings and dataset are the defaults, its checkpoint the weights unless `weights`. */
  runDir?: string;
  weights?: string;
  /** null: the run's own dataset. */
  data: DataSourceArgs | null;
  metric?: 'cosine' | 'euclidean';
  reRanking: boolean;
  /** A tfjs backend, `webgpu`, `onnxruntime` or `auto`. */
  backend?: EngineChoice;
  saveToRun: boolean;
}

export type EvalJobResult = Omit<EvalRunResult, 'queryFiles' | 'galleryFiles'>;

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'eval-progress'; stage: 'loading' | 'query' | 'gallery' | 'ranking'; done: number; total: number }
  | { type: 'eval-finished'; result: EvalJobResult }
  | { type: 'event'; event: TrainEvent }
  | { type: 'finished'; status: 'completed' | 'stopped' | 'paused'; eval: unknown }
  /** `code`: the error's stable code when it has one (E_OUT_OF_MEMORY, E_DATASET_*, E_MALFORMED_CHECKPOINT, …). */
  | { type: 'failed'; message: string; code?: string };

export async function runJob(job: TrainJob, control: TrainControl, onEvent: (e: TrainEvent) => void) {
  const doc = parseDocument(job.doc);
  const parsed = parseTrainingSettings(job.settings);
  if (!parsed.ok) throw new Error(parsed.message);
  const dataset = await openDataSource({ ...job.data, k: parsed.settings.batch.k });
  return trainInRun({
    doc,
    settings: parsed.settings,
    dataset,
    runDir: job.runDir,
    ...(job.backend ? { backend: job.backend } : {}),
    ...(job.weights ? { weights: job.weights } : {}),
    ...(job.resume ? { resume: true } : {}),
    ...(job.microBatch ? { microBatch: job.microBatch } : {}),
    ...(job.checkpointEverySteps ? { checkpointEverySteps: job.checkpointEverySteps } : {}),
    control,
    onEvent,
  });
}

/** Runs an evaluation job: settings and dataset from the run folder unless the job overrides them. */
export async function runEvalJob(job: EvalJob, onProgress: (p: { stage: 'loading' | 'query' | 'gallery' | 'ranking'; done: number; total: number }) => void): Promise<EvalJobResult> {
  const doc = parseDocument(job.doc);
  const settings = await evalSettings(doc, job.runDir, { ...(job.metric ? { metric: job.metric } : {}), reRanking: job.reRanking });
  const data = job.data ?? (job.runDir ? await runDataset(job.runDir, { how: "choose the dataset's new folder for this evaluation (its Dataset field), or point the run at it with reid-studio train --resume RUN_DIR --data NEWDIR" }) : null);
  if (!data) throw new Error('choose a dataset: the run does not say which dataset it trained on');
  onProgress({ stage: 'loading', done: 0, total: 1 });
  const dataset = await openDataSource({ ...data, k: settings.batch.k });
  const { queryFiles: _q, galleryFiles: _g, ...result } = await evaluateRun({
    doc,
    settings,
    dataset,
    saveToRun: job.saveToRun,
    onProgress,
    ...(job.weights ? { weights: job.weights } : {}),
    ...(job.runDir ? { runDir: job.runDir } : {}),
    ...(job.backend ? { backend: job.backend } : {}),
  }).catch((e: Error) => {
    // Name the weights file in the message: the UI shows it without the path the user chose.
    throw e instanceof EvalWeightsError && job.weights && !e.message.includes(job.weights) ? new EvalWeightsError(`${job.weights}: ${e.message}`, e.code) : e;
  });
  return result;
}
