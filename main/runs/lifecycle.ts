/**
 * The run's use cases, called by the service (main/service/training.ts, in the app) and the CLI
 * (main/cli/train.ts) alike, so a run is created, checked and resumed one way:
 *   createRun         a new run in the data folder's runs: a unique folder and its run.json (the service)
 *   openNewRunAt      `train --out DIR`: DIR locked for this process, refused when it already holds a run
 *   readResumePlan    what a resume needs (graph, settings, dataset, engine), or why it cannot resume
 *   trainInRun        trains holding the folder's lock (acquired here unless the caller holds it)
 *   createImportedRun a run made from a framework's output folder (external/import-run.ts), written under its lock
 * The one writer of a run folder is the process holding its lock (store/lock.ts).
 */
import { existsSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTrainingSettings, type TrainingSettings } from '../../core/index.js';
import { makeFolders, readTextFile } from '../io/files.js';
import type { EngineChoice } from '../onnx/engine.js';
import { train, type TrainOptions } from '../training/engine/trainer.js';
import type { DataSourceArgs } from '../training/sources.js';
import { DataMovedError, runDataSource, type RunDataset } from './run-data.js';
import { hasCheckpoint, unreadableCheckpoint } from './store/checkpoint.js';
import { acquireRunLock, checkRunFolderName, readRunLock, RunLockedError, withRunLock, type RunLock } from './store/lock.js';
import { createRunFolder, RunDir, type RunInfo } from './store/run-dir.js';

/** A run that cannot be started or resumed as asked. `code` is the API error code the service answers with. */
export class RunStateError extends Error {
  constructor(
    message: string,
    readonly code: 'E_BAD_REQUEST' | 'E_NOT_FOUND' = 'E_BAD_REQUEST',
  ) {
    super(message);
  }
}

const initialInfo = (id: string, name: string): RunInfo => {
  const now = new Date().toISOString();
  return { id, name, status: 'running', created: now, updated: now };
};

/**
 * A new run in `runsDir`: a folder no other run has (two runs of one name in one second get two ids) and its
 * run.json, status `running` (the training process takes the folder's lock when it starts). `name`: the run's
 * display name (default: its id).
 */
export async function createRun(runsDir: string, name?: string): Promise<{ id: string; dir: string }> {
  const { id, dir } = await createRunFolder(runsDir, name ?? 'run');
  await new RunDir(dir).writeJson('run.json', initialInfo(id, name ?? id));
  return { id, dir };
}

/**
 * A new run imported from outside (issue 21): a unique folder in `runsDir`, filled by `fill` while this process
 * holds its lock (so the Runs list never sees it half written as another writer's); `fill` writes run.json last.
 * A failing `fill` removes the folder again (it holds only what `fill` wrote).
 */
export async function createImportedRun<T>(runsDir: string, name: string, fill: (run: RunDir, id: string) => Promise<T>, now?: Date): Promise<{ id: string; dir: string; result: T }> {
  const { id, dir } = await createRunFolder(runsDir, name, now);
  try {
    return { id, dir, result: await withRunLock(dir, 'import', () => fill(new RunDir(dir), id)) };
  } catch (e) {
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A run folder taken for a new run; `createdFolder`: this process made the folder (it goes again if training writes nothing). */
export interface OpenedRun {
  lock: RunLock;
  createdFolder: boolean;
}

/**
 * `train --out DIR` for a new run: DIR (created if missing) is locked for this process, then checked — a run
 * that failed before its first checkpoint starts again there (it holds only what the app wrote); any other
 * run is refused (resume it, or choose another folder). Throws RunLockedError while another process writes it.
 * run.json is written by the trainer once the weights and the graph are accepted (RunDir.updateInfo).
 */
export async function openNewRunAt(dir: string, opts: { createdFolder?: boolean } = {}): Promise<OpenedRun> {
  checkRunFolderName(dir);
  const createdFolder = opts.createdFolder ?? !existsSync(dir);
  await makeFolders(dir);
  let lock: RunLock | undefined;
  try {
    lock = await acquireRunLock(dir, 'train');
    const run = new RunDir(dir);
    if (existsSync(join(dir, 'run.json'))) {
      const info = await run.readJson<RunInfo>('run.json');
      const checkpointed = await hasCheckpoint(dir);
      if (info?.status === 'failed' && !checkpointed) await run.clearUncheckpointed();
      else if (!checkpointed) throw new RunStateError(`${dir} holds a run (${info?.status ?? 'unknown status'}) without a checkpoint: delete the folder or choose another --out`);
      else throw new RunStateError(`${dir} already holds a run; use --resume ${dir} to continue it, or choose another --out`);
    }
    return { lock, createdFolder };
  } catch (e) {
    await lock?.release();
    // Only the empty folder this call made goes (a full disk refusing the lock file leaves nothing behind).
    if (createdFolder) await rmdir(dir).catch(() => undefined);
    throw e;
  }
}

/** The settings.json fields a resumed run's trajectory follows (every settings.json the app writes has them). */
const RESUME_SETTINGS = ['epochs', 'batch', 'optimizer', 'schedule'] as const;

export interface ResumePlan {
  info: RunInfo & { dataset?: RunDataset };
  /** graph.json's text (the document trained, classifier sized to the dataset). */
  doc: string;
  settings: TrainingSettings;
  data: DataSourceArgs;
  /** The engine the run trained on, when run.json names it. */
  backend?: EngineChoice;
}

/**
 * What resuming the run in `dir` needs, or RunStateError saying why it cannot resume (RunLockedError while
 * another live process writes it) (`label` names the run
 * in messages: its folder for the CLI, "run <id>" for the app; `app`: advice for the app rather than the CLI).
 */
export async function readResumePlan(dir: string, opts: { label?: string; app?: boolean; relocating?: boolean; dataDir?: string } = {}): Promise<ResumePlan> {
  const label = opts.label ?? dir;
  const run = new RunDir(dir);
  const info = await run.readJson<RunInfo & { dataset?: RunDataset }>('run.json');
  // A run another process still writes is its writer's: say so before anything about its state.
  const lock = info ? await readRunLock(dir) : null;
  if (lock?.live) throw new RunLockedError(dir, lock.holder);
  if (!info) throw new RunStateError(existsSync(dir) ? `${label} is not a ReID Studio run folder (no run.json / graph.json)` : `${label} does not exist (no such run folder)`, 'E_NOT_FOUND');
  const origin = (info as { external?: { framework?: string; source?: string } }).external;
  if (info.status === 'external' || origin?.framework) throw new RunStateError(`${label} was imported from ${origin?.framework ?? 'another framework'} (${origin?.source ?? 'outside the app'}): it trains there, not here — resume it with that framework's own trainer`);
  if (info.status === 'completed') throw new RunStateError(`${label} already completed; start a new run instead`);
  // A checkpoint that is there but damaged (truncated tensors.bin, broken manifest) is not "no checkpoint yet".
  const damaged = existsSync(join(dir, 'graph.json')) ? await unreadableCheckpoint(dir) : null;
  if (damaged) throw new RunStateError(`${label} cannot resume: ${damaged.message}`);
  if (!existsSync(join(dir, 'graph.json')) || !(await hasCheckpoint(dir)))
    throw new RunStateError(`${label} holds a run that ${info.status === 'failed' ? 'failed' : 'stopped'} before its first checkpoint: start it again${opts.app ? ' instead' : info.status === 'failed' ? ` with --out ${dir}` : ' after deleting the folder'}`);
  // settings.json is the run's recipe as trained (the app writes it whole): a missing or damaged one must not resume
  // with the defaults in its place, a different run from here on (a silent wrong answer).
  const raw = await run.readJson<Record<string, unknown>>('settings.json');
  const lost = RESUME_SETTINGS.filter((k) => raw === null || typeof raw !== 'object' || Array.isArray(raw) || !(k in raw));
  if (lost.length) throw new RunStateError(`${label} cannot resume: its settings.json is ${raw === null ? 'missing or not valid JSON' : `damaged (no ${lost.join(', ')})`}, so the run's own training settings are lost`);
  const settings = parseTrainingSettings(raw);
  if (!settings.ok) throw new RunStateError(`${label}: ${settings.message}`);
  if (!info.dataset) throw new RunStateError(`${label} does not say which dataset it trained on`);
  const doc = await readTextFile(join(dir, 'graph.json'), 'document');
  // `relocating`: the caller opens the dataset's new folder (train --resume RUN --data NEWDIR) and checks it.
  let data: DataSourceArgs;
  try {
    data = opts.relocating
      ? { data: info.dataset.root, layout: info.dataset.kind as DataSourceArgs['layout'] }
      : runDataSource(info.dataset, { how: opts.app ? `resume it from the command line with reid-studio train --resume ${dir} --data NEWDIR` : `point the run at its new place with --resume ${dir} --data NEWDIR`, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  } catch (e) {
    if (e instanceof DataMovedError) throw new RunStateError(`${label}: ${e.message}`);
    throw e;
  }
  return { info, doc, settings: settings.settings, data, ...(typeof info.backend === 'string' ? { backend: info.backend as EngineChoice } : {}) };
}

/**
 * Trains in `o.runDir` holding its lock: `opened` when the caller took it (openNewRunAt), else acquired here
 * (RunLockedError when held). A folder openNewRunAt created is removed again when training failed before
 * writing anything into it (refused weights, a graph that cannot train): only an empty folder is removed.
 */
export async function trainInRun(o: TrainOptions, opened?: OpenedRun): Promise<Awaited<ReturnType<typeof train>>> {
  const lock = opened?.lock ?? (await acquireRunLock(o.runDir, o.resume ? 'resume' : 'train'));
  try {
    return await train(o);
  } catch (e) {
    await lock.release();
    if (opened?.createdFolder) await rmdir(o.runDir).catch(() => undefined);
    throw e;
  } finally {
    await lock.release();
  }
}
