/**
 * A training job as the service hands it to the training process: everything needed to start or resume
 * a run, as plain JSON.
 */
import { parseDocument, parseTrainingSettings, type TrainingSettings } from '../../core/index.js';
import type { BackendChoice } from '../tfjs/index.js';
import { train, type TrainControl, type TrainEvent } from './engine/trainer.js';
import { openDataSource, type DataSourceArgs } from './sources.js';

export interface TrainJob {
  runDir: string;
  /** The document text (graph + training block). */
  doc: string;
  settings: TrainingSettings;
  data: DataSourceArgs;
  backend?: BackendChoice;
  weights?: string;
  resume?: boolean;
  microBatch?: number;
  checkpointEverySteps?: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'event'; event: TrainEvent }
  | { type: 'finished'; status: 'completed' | 'stopped' | 'paused'; eval: unknown }
  | { type: 'failed'; message: string };

export async function runJob(job: TrainJob, control: TrainControl, onEvent: (e: TrainEvent) => void) {
  const doc = parseDocument(job.doc);
  const parsed = parseTrainingSettings(job.settings);
  if (!parsed.ok) throw new Error(parsed.message);
  const dataset = await openDataSource({ ...job.data, k: parsed.settings.batch.k });
  return train({
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
