/**
 * The evaluation use case's defaults, one way for the CLI's `eval` and the app's `eval.run` (runs/jobs.ts):
 * a run folder's evaluation takes the run's settings (settings.json) and, unless another dataset is given, the
 * dataset it trained on (run.json `dataset`); a graph without a run takes the document's training block.
 */
import { parseTrainingSettings, type GraphDoc, type TrainingSettings } from '../../core/index.js';
import { documentFramework, withEvalMetric } from '../../core/config/index.js';
import type { DataSourceArgs } from '../training/sources.js';
import { RunStateError } from './lifecycle.js';
import { DataMovedError, runDataSource, type RunDataset } from './run-data.js';
import { RunDir } from './store/run-dir.js';

/**
 * The evaluation settings: the run's (or the document's), with `metric` and `reRanking` when given. A metric
 * given here follows the document's framework (core/config/conventions.ts `withEvalMetric`: fast-reid's
 * euclidean does not L2-normalise, reid-strong-baseline's keeps its FEAT_NORM). RunStateError when the stored
 * settings do not parse.
 */
export async function evalSettings(doc: GraphDoc, runDir: string | undefined, o: { metric?: 'cosine' | 'euclidean'; reRanking?: boolean } = {}): Promise<TrainingSettings> {
  const parsed = parseTrainingSettings(runDir ? await new RunDir(runDir).readJson('settings.json') : (doc.training ?? {}));
  if (!parsed.ok) throw new RunStateError(parsed.message);
  const settings = parsed.settings;
  if (o.metric) settings.test = withEvalMetric(settings.test, o.metric, documentFramework(doc));
  if (o.reRanking !== undefined) settings.test.reRanking = o.reRanking;
  return settings;
}

/**
 * The dataset the run in `runDir` trained on, as a data source (run-data.ts runDataSource: its folder, or its demo
 * generated again); null when run.json does not say. RunStateError when its folder is gone, saying `how` this
 * command points the evaluation at the folder's new place.
 */
export async function runDataset(runDir: string, o: { how: string; dataDir?: string }): Promise<DataSourceArgs | null> {
  const info = await new RunDir(runDir).readJson<{ dataset?: RunDataset }>('run.json');
  if (!info?.dataset) return null;
  try {
    return runDataSource(info.dataset, o);
  } catch (e) {
    if (e instanceof DataMovedError) throw new RunStateError(e.message);
    throw e;
  }
}
