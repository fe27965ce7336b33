import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { GraphDoc } from '../../core/index.js';
import { parseEngineChoice } from '../onnx/engine.js';
import { BackendError } from '../tfjs/index.js';
import { evaluateRun, EvalWeightsError } from '../training/engine/evaluate-run.js';
import { evalSettings, runDataset } from '../runs/evaluate.js';
import { RunStateError } from '../runs/lifecycle.js';
import { BEST_DIR } from '../runs/store/best-checkpoint.js';
import { CHECKPOINT_OPTION, runCheckpointPath, runGraphOf } from './checkpoint-arg.js';
import { CliError, fileErrorCliCode } from './errors.js';
import { fsPath } from '../io/raw-names.js';
import { GRAPH_OPTIONS, readGraphFile, resolveGraph } from './graph-args.js';
import { parseProgressMode, progressReporter, PROGRESS_OPTION } from './progress.js';
import { DATA_OPTIONS, dataArgs, loadData } from './train.js';
import { NonFiniteFeaturesError } from '../training/eval/finite.js';
import { demoSizeOf } from '../training/sources.js';

/**
 * `eval [RUN_DIR | GRAPH.json | --preset NAME …] [--weights FILE] (--demo | --data DIR) [--rerank] [--json]`.
 * A run folder evaluates its last checkpoint (on its own dataset unless one is given); a graph or preset
 * without weights evaluates the freshly initialised model — the "before training" baseline.
 */
export async function evalCommand(argv: string[]): Promise<void> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...GRAPH_OPTIONS, ...DATA_OPTIONS, weights: { type: 'string' }, rerank: { type: 'boolean' }, metric: { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' }, ...CHECKPOINT_OPTION, ...PROGRESS_OPTION },
  });
  const progress = progressReporter(parseProgressMode(v.progress));
  let backendChoice;
  try {
    backendChoice = parseEngineChoice(v.backend);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const target = positionals[0];
  const isRun = !!target && existsSync(fsPath(target)) && statSync(fsPath(target)).isDirectory();
  let doc: GraphDoc;
  let runDir: string | undefined;
  if (isRun) {
    runDir = resolve(target);
    if (!existsSync(fsPath(join(runDir, 'graph.json')))) {
      // RUN_DIR/best (the best checkpoint's folder) is a weights path, not a run: name the command that evaluates it.
      const parent = dirname(runDir);
      const hint = basename(runDir) === BEST_DIR && existsSync(fsPath(join(parent, 'graph.json'))) ? `; for the run's best checkpoint: eval ${parent} --checkpoint best` : '';
      throw new CliError(`${runDir} is not a ReID Studio run folder (no graph.json)${hint}`);
    }
    doc = readGraphFile(join(runDir, 'graph.json'));
  } else {
    // --weights RUN_DIR (or RUN_DIR/best) with no GRAPH.json / --preset: the run's own graph, as embed and export.
    doc = resolveGraph(target ?? (v.preset || !v.weights ? undefined : runGraphOf(resolve(v.weights))), v, { requireValid: true });
  }
  // --checkpoint best: the run's best checkpoint by mAP (of --weights RUN_DIR, else of the run evaluated).
  if (v.checkpoint !== undefined && !v.weights && !runDir) throw new CliError('--checkpoint applies to a training run folder (eval RUN_DIR or --weights RUN_DIR)');
  let weightsPath = v.weights ? resolve(v.weights) : undefined;
  if (v.checkpoint !== undefined) {
    const chosen = runCheckpointPath(weightsPath ?? runDir!, v.checkpoint);
    if (weightsPath || chosen !== runDir) weightsPath = chosen;
  }
  if (v.metric !== undefined && v.metric !== 'cosine' && v.metric !== 'euclidean') throw new CliError(`--metric must be cosine or euclidean (got "${v.metric}")`);
  let settings;
  try {
    settings = await evalSettings(doc, runDir, { ...(v.metric ? { metric: v.metric as 'cosine' | 'euclidean' } : {}), ...(v.rerank ? { reRanking: true } : {}) });
  } catch (e) {
    if (e instanceof RunStateError) throw new CliError(e.message);
    throw e;
  }
  let data = dataArgs(v, settings.batch.k);
  let own;
  try {
    own = runDir ? await runDataset(runDir, { how: `give its new place with eval ${runDir} --data NEWDIR (train --resume ${runDir} --data NEWDIR records it in the run)` }) : null;
  } catch (e) {
    // Only when the run's own dataset is the one evaluated: --data / --demo choose another.
    if (!(e instanceof RunStateError)) throw e;
    if (!data.demo && !data.data) throw new CliError(`${runDir}: ${e.message}`);
  }
  if (runDir && !data.demo && !data.data) {
    if (!own) throw new CliError(`${runDir} does not say which dataset it trained on; give --demo or --data DIR`);
    data = own;
  }
  // --demo without --demo-size on a run trained on the demo: the run's size (its demo folder, settings.json), not the default.
  if (runDir && data.demo && v['demo-size'] === undefined) {
    const size = (own?.data ? demoSizeOf(own.data) : own?.demoSize) ?? (settings.dataset.kind === 'demo' ? settings.dataset.demoSize : undefined);
    if (size) data = { ...data, demoSize: size };
  }
  const dataset = await loadData(data);
  let result;
  try {
    result = await evaluateRun({
      doc,
      settings,
      dataset,
      backend: backendChoice,
      saveToRun: !!runDir,
      ...(weightsPath ? { weights: weightsPath } : {}),
      ...(runDir ? { runDir } : {}),
      onProgress: (p) => progress.update(p.stage, p.done, p.total, p.stage === 'ranking' ? 'steps' : 'images'),
      onEngine: (d) => void (!v.json && process.stderr.write(`reid-studio: ${d}\n`)),
    });
  } catch (e) {
    if (e instanceof EvalWeightsError || e instanceof BackendError) throw new CliError(e.message);
    if (e instanceof NonFiniteFeaturesError) throw new CliError(`${e.message} (${e.code})`);
    throw e;
  } finally {
    progress.end();
  }
  const r = result;
  if (v.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else
    process.stdout.write(
      `mAP ${(r.mAP * 100).toFixed(2)}%  rank-1 ${(r.rank1 * 100).toFixed(2)}%  rank-5 ${(r.rank5 * 100).toFixed(2)}%  rank-10 ${(r.rank10 * 100).toFixed(2)}%  (${r.numValidQuery} queries × ${r.numGallery} gallery, ${r.metric}${r.metric === 'euclidean' ? (r.featNorm ? ' on L2-normalised features (reid-strong-baseline TEST.FEAT_NORM)' : ' on raw features (fast-reid)') : ''}${r.reRanking ? ', re-ranked' : ''}; weights: ${r.weights.source})\n`,
    );
  // A run folder that cannot be written (read-only, full disk): the metrics are on stdout above, complete;
  // only the record was not kept, which is an error (exit 2), never a silent success.
  if (r.saveError) throw new CliError(`${r.saveError.message}: the evaluation was not kept in the run (the metrics above are complete) (${fileErrorCliCode(r.saveError.code)})`);
}
