import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { applyCommand, counted, getKind, LOSS_TERMS, parseTrainingSettings, setParams, type GraphDoc, type TrainingSettings } from '../../core/index.js';
import { settingsProblems, type SettingsProblem } from '../../core/training/validate.js';
import { BackendError } from '../tfjs/index.js';
import { DATASET_LAYOUT_IDS } from '../../core/config/datasets.js';
import { parseEngineChoice } from '../onnx/engine.js';
import { DatasetError, formatDatasetSummary, type LoadedDataset } from '../training/data/datasets.js';
import { LossConfigError } from '../training/losses/index.js';
import { CheckpointError, NonFiniteWeightsError } from '../weights/index.js';
import { createRunFolder } from '../runs/store/run-dir.js';
import { acquireRunLock, RunLockedError } from '../runs/store/lock.js';
import { openNewRunAt, readResumePlan, RunStateError, trainInRun, type OpenedRun } from '../runs/lifecycle.js';
import { datasetDifference, relocateRunData, type RunDataset } from '../runs/run-data.js';
import { OutOfMemoryError, TrainError, type TrainControl, type TrainEvent } from '../training/engine/trainer.js';
import { openDataSource, type DataSourceArgs } from '../training/sources.js';
import { CliError } from './errors.js';
import { EXIT, exitAfterDrain } from './exit.js';
import { parseProgressMode, PROGRESS_OPTION, type ProgressMode } from './progress.js';
import { GRAPH_OPTIONS, parseInputSize, readGraphFile, resolveGraph } from './graph-args.js';
import { parseDecimal, parseWholeNumber } from './numbers.js';

export const DATA_OPTIONS = {
  demo: { type: 'boolean' },
  'demo-size': { type: 'string' },
  data: { type: 'string' },
  layout: { type: 'string' },
} as const;

export function dataArgs(v: { demo?: boolean; 'demo-size'?: string; data?: string; layout?: string }, k?: number): DataSourceArgs {
  const size = v['demo-size'];
  if (size !== undefined && !['tiny', 'small', 'medium'].includes(size)) throw new CliError(`--demo-size must be one of tiny, small, medium (got "${size}")`);
  const layout = v.layout;
  if (layout !== undefined && !(DATASET_LAYOUT_IDS as readonly string[]).includes(layout)) throw new CliError(`--layout must be one of ${DATASET_LAYOUT_IDS.join(', ')} (got "${layout}")`);
  return { demo: v.demo, demoSize: size as DataSourceArgs['demoSize'], data: v.data, layout: layout as DataSourceArgs['layout'], k };
}

export async function loadData(a: DataSourceArgs): Promise<LoadedDataset> {
  try {
    return await openDataSource(a);
  } catch (e) {
    if (e instanceof DatasetError) throw new CliError(e.message);
    throw e;
  }
}

/** The input node takes the size (`--input HxW` on a graph file; presets take it at build time). */
export function withInputSize(doc: GraphDoc, hw: [number, number]): GraphDoc {
  const ids = doc.graph.nodes.filter((n) => getKind(n.kind)?.imageInput).map((n) => n.id);
  return applyCommand(doc, setParams(ids, { height: hw[0], width: hw[1] }));
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

/** Images per second with one decimal, or two significant digits below 1 (a software adapter's 0.04 img/s is not "0.0"). */
function fmtRate(r: number): string {
  return r > 0 && r < 1 ? r.toPrecision(2) : r.toFixed(1);
}

/** Progress rendering: a redrawn bar on a terminal, plain lines otherwise (logs, pipes). */
export function progressPrinter(stream: NodeJS.WriteStream, mode: ProgressMode | boolean): (e: TrainEvent) => void {
  const m: ProgressMode = mode === true ? 'json' : mode === false ? 'auto' : mode;
  const json = m === 'json';
  const tty = m === 'bar' || (m === 'auto' && !!stream.isTTY);
  return (e) => {
    if (m === 'none') return;
    if (json) return void stream.write(JSON.stringify(e) + '\n');
    if (e.type === 'step') {
      const terms = LOSS_TERMS.flatMap((t) => {
        const v = e[t.id];
        return v === undefined ? [] : [`${t.short} ${v.toFixed(t.digits)}`];
      }).join(' ');
      const text = `epoch ${e.epoch} ${e.iter}/${e.iters}  loss ${e.loss.toFixed(4)} (${terms})  acc ${(e.acc * 100).toFixed(1)}%  lr ${e.lr.toExponential(2)}  ${fmtRate(e.imgPerSec)} img/s  ETA ${fmtTime(e.etaSeconds)}`;
      if (tty) {
        const width = 20;
        const done = Math.round((e.iter / e.iters) * width);
        stream.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${text}\x1b[K`);
      } else stream.write(text + '\n');
      return;
    }
    if (tty) stream.write('\n');
    if (e.type === 'start') stream.write(`training on ${e.backend}: ${e.loss}; ${e.microBatchReason}; ${counted(e.numClasses, 'identity', 'identities')}; run folder ${e.runDir}${e.resumedFromStep !== undefined ? `; resumed from step ${e.resumedFromStep}` : ''}\n`);
    if (e.type === 'epoch') stream.write(`epoch ${e.epoch} done: loss ${e.loss.toFixed(4)}, ID accuracy ${(e.acc * 100).toFixed(1)}%, ${e.seconds.toFixed(1)} s\n`);
    if (e.type === 'eval') stream.write(`evaluation after epoch ${e.epoch}: mAP ${(e.mAP * 100).toFixed(1)}%  rank-1 ${(e.rank1 * 100).toFixed(1)}%  rank-5 ${(e.rank5 * 100).toFixed(1)}%  rank-10 ${(e.rank10 * 100).toFixed(1)}%\n`);
    if (e.type === 'done') stream.write(`run ${e.status} at step ${e.step}\n`);
  };
}

/** train's flags that set what a run is (its graph, dataset, settings): fixed once it started, so refused with --resume. */
const RESUME_FIXED_FLAGS = [...(Object.keys(GRAPH_OPTIONS) as (keyof typeof GRAPH_OPTIONS)[]), ...(Object.keys(DATA_OPTIONS) as (keyof typeof DATA_OPTIONS)[]), 'epochs', 'batch', 'lr', 'weights', 'out', 'eval-period', 'warmup-epochs', 'seed'] as const;

/** `train [GRAPH.json | --preset NAME …] (--demo | --data DIR) [--epochs N] [--batch P,K] [--input HxW] [--weights FILE|RUN_DIR] [--out RUN_DIR] [--backend NAME]`, or `train --resume RUN_DIR`. */
export async function trainCommand(argv: string[]): Promise<void> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...GRAPH_OPTIONS,
      ...DATA_OPTIONS,
      epochs: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      weights: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
      resume: { type: 'string' },
      'micro-batch': { type: 'string' },
      'eval-period': { type: 'string' },
      'warmup-epochs': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      ...PROGRESS_OPTION,
    },
  });
  const progressMode = parseProgressMode(v.progress);
  const int = (flag: string, s: string | undefined, min = 1): number | undefined => {
    if (s === undefined) return undefined;
    return parseWholeNumber(flag, s, min);
  };
  // Every flag is checked before the run folder is taken: a refused flag leaves no folder and no run.lock behind.
  const microBatch = int('micro-batch', v['micro-batch']);
  let backend;
  try {
    backend = parseEngineChoice(v.backend);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  let doc: GraphDoc;
  let settings: TrainingSettings;
  let runDir: string;
  let dataset: LoadedDataset;
  let runName = '';
  /** The run's recorded dataset when `--resume --data NEWDIR` moves it (written once the run's lock is held). */
  let relocated: RunDataset | undefined;
  const resume = v.resume !== undefined;
  if (resume) {
    // The run continues with its own graph, dataset and settings (graph.json, run.json, settings.json): a flag
    // that would change them is refused rather than silently ignored (`--resume R --epochs 10` does not extend R).
    // --data NEWDIR (with --layout) points the run at its dataset's new folder: the same dataset, checked below.
    const fixed = [...positionals.slice(0, 1), ...RESUME_FIXED_FLAGS.filter((f) => v[f] !== undefined && f !== 'data' && (f !== 'layout' || v.data !== undefined)).map((f) => `--${f}`)];
    if (fixed.length) throw new CliError(`--resume continues the run with its own graph, data and settings: ${fixed.join(', ')} cannot change them (with --resume only --data NEWDIR (its dataset's new folder), --backend, --micro-batch, --progress and --json apply)`);
    runDir = resolve(v.resume!);
    let plan;
    try {
      plan = await readResumePlan(runDir, { relocating: v.data !== undefined });
    } catch (e) {
      if (e instanceof RunStateError || e instanceof RunLockedError) throw new CliError(e.message);
      throw e;
    }
    doc = readGraphFile(join(runDir, 'graph.json'));
    settings = plan.settings;
    if (v.data !== undefined) {
      dataset = await loadData(dataArgs({ data: v.data, layout: v.layout ?? plan.data.layout }, settings.batch.k));
      const from = plan.info.dataset!;
      const differs = datasetDifference(from, dataset);
      if (differs) throw new CliError(`--data ${v.data} is not the dataset ${runDir} trained on (${from.root}): ${differs}`);
      if (dataset.root !== from.root) relocated = from;
    } else dataset = await loadData({ ...plan.data, k: settings.batch.k });
  } else {
    doc = resolveGraph(positionals[0], positionals[0] ? { ...v, input: undefined } : v, { requireValid: true });
    if (positionals[0] && v.input) doc = withInputSize(doc, parseInputSize(v.input));
    const parsed = parseTrainingSettings(doc.training ?? {});
    if (!parsed.ok) throw new CliError(parsed.message);
    settings = parsed.settings;
    const epochs = int('epochs', v.epochs);
    if (epochs) settings.epochs = epochs;
    if (v.batch !== undefined) {
      const m = /^(\d+),(\d+)$/.exec(v.batch);
      if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new CliError(`--batch must be P,K — identities per batch and images per identity, e.g. 16,4 (got "${v.batch}")`);
      settings.batch = { p: Number(m[1]), k: Number(m[2]) };
    }
    if (v.lr !== undefined) {
      const lr = parseDecimal(v.lr);
      if (!(lr > 0 && lr < 10)) throw new CliError(`--lr must be a positive number (got "${v.lr}")`);
      settings.optimizer.baseLr = lr;
    }
    const wu = int('warmup-epochs', v['warmup-epochs'], 0);
    if (wu !== undefined) {
      settings.schedule.warmupEpochs = wu;
      settings.schedule.warmup = wu > 0;
    }
    const ep = int('eval-period', v['eval-period']);
    if (ep) settings.evalPeriod = ep;
    const seed = int('seed', v.seed, 0);
    if (seed !== undefined) settings.seed = seed;
    dataset = await loadData(dataArgs(v, settings.batch.k));
    const name = v.preset ?? (positionals[0] ? positionals[0].replace(/^.*[\\/]/, '').replace(/\.json$/, '') : 'resnet50');
    // Without --out: a new folder under ./runs, created (with an id no other run has) once everything is checked.
    runDir = v.out ? resolve(v.out) : '';
    runName = name;
  }
  // What the app's setup panel shows before Train (core/training/validate.ts): errors refuse, warnings print.
  const flagOf: Record<string, string> = { 'batch.p': '--batch P,K', 'batch.k': '--batch P,K', 'schedule.warmupEpochs': '--warmup-epochs', evalPeriod: '--eval-period', 'schedule.steps': '--epochs' };
  const problems = settingsProblems(settings, { trainIdentities: dataset.numClasses });
  const withFlag = (p: SettingsProblem) => `${p.message}${flagOf[p.field] ? ` (${flagOf[p.field]})` : ''}`;
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new CliError(errors.map(withFlag).join('; '));
  // Warnings print once training starts (after the weights and the graph were accepted, so a refusal stays one line).
  const warnings = problems.filter((p) => p.severity === 'warning').map((w) => `warning: ${withFlag(w)}\n`);
  // The trainer sizes the classifier to the training identities (fast-reid NUM_CLASSES 0, RSB build_model(cfg, num_classes)).
  const numClassesFlag = v['num-classes'] === undefined ? undefined : Number(v['num-classes']);
  if (numClassesFlag !== undefined && numClassesFlag !== dataset.numClasses) warnings.push(`note: --num-classes ${numClassesFlag} is not used: the classifier is sized to the training set's ${dataset.numClasses} identities, as fast-reid and reid-strong-baseline size it from the data\n`);
  // The dataset summary opens the progress text once training starts (after the weights and the graph were
  // accepted, so a refusal stays one line); JSON progress and --progress none get events only.
  const printer = progressPrinter(process.stderr, progressMode);
  let summarized = progressMode === 'json' || progressMode === 'none';
  const onEvent = (e: TrainEvent) => {
    // Text progress only: `--progress json` keeps stderr one JSON object per line, `none` keeps it quiet.
    if (e.type === 'start' && progressMode !== 'json' && progressMode !== 'none') process.stderr.write(warnings.splice(0).join(''));
    if (e.type === 'start' && !summarized) {
      summarized = true;
      process.stderr.write(formatDatasetSummary(dataset) + '\n');
    }
    printer(e);
  };
  // The run folder is this process's from here on (one writer per run folder): a second writer is refused.
  let opened: OpenedRun;
  try {
    if (resume) {
      opened = { lock: await acquireRunLock(runDir, 'resume'), createdFolder: false };
      if (relocated) {
        await relocateRunData(runDir, relocated, dataset);
        process.stderr.write(`data moved: ${runDir} now trains on ${dataset.root} (was ${relocated.root})\n`);
      }
    }
    else if (runDir) opened = await openNewRunAt(runDir);
    else {
      runDir = (await createRunFolder(resolve('runs'), runName)).dir;
      opened = await openNewRunAt(runDir, { createdFolder: true });
    }
  } catch (e) {
    if (e instanceof RunStateError || e instanceof RunLockedError) throw new CliError(e.message);
    throw e;
  }
  const control: TrainControl = {};
  const onSigint = () => {
    if (control.request) return void exitAfterDrain(EXIT.interrupted);
    control.request = 'stop';
    process.stderr.write('\nstopping after this step or evaluation batch (checkpointing); press Ctrl-C again to abort\n');
  };
  // SIGTERM (timeout, kill, docker stop, a job scheduler) stops as Ctrl-C does: the step's work is checkpointed, not lost.
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const r = await trainInRun({ doc, settings, dataset, runDir, backend, resume, weights: v.weights, microBatch, control, onEvent }, opened);
    if (v.json) process.stdout.write(JSON.stringify({ runDir, status: r.status, eval: r.eval ?? null }, null, 2) + '\n');
    else if (r.status !== 'completed') process.stderr.write(`resume with: reid-studio train --resume ${runDir}\n`);
    // Stopped by Ctrl-C: a checkpoint was written, but the work is not done — `train && eval` must not go on.
    if (r.status !== 'completed' && control.request) process.exitCode = EXIT.interrupted;
  } catch (e) {
    if (e instanceof NonFiniteWeightsError || e instanceof OutOfMemoryError) throw new CliError(`${e.message} (${e.code})`);
    if (e instanceof TrainError || e instanceof LossConfigError || e instanceof DatasetError || e instanceof CheckpointError || e instanceof BackendError) throw new CliError(e.message);
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
