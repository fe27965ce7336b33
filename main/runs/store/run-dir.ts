/**
 * A run folder: everything about one training run, readable without the app.
 *   run.json        id, name, status, timestamps, backend, dataset, loss, micro-batch plan
 *   graph.json      the document trained (the graph snapshot, classifier sized to the dataset)
 *   settings.json   the training settings snapshot
 *   metrics.jsonl   one JSON object per logged step / epoch / evaluation
 *   checkpoint/     the latest checkpoint (see checkpoint.ts)
 *   eval.json       the last evaluation (mAP, rank1/5/10 as fractions, CMC curve)
 *   load-report.json  pretrained-weights load report, when weights were given
 *   train.log       human-readable log
 *   evals/          one record per evaluation after training ("Evaluate on…", `eval RUN_DIR`): see eval-records.ts
 *   run.lock        while a process writes the folder: which one (see lock.ts)
 * Every file here has one writer at a time: the process holding run.lock.
 */
import { appendFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isRunId } from '../../../core/api/training-contract.js';
import { createError, makeFolders, readTextFile, writeFileAtomic } from '../../io/files.js';

/** `external`: a run imported from a framework's output folder (main/runs/external). */
export type RunStatus = 'running' | 'paused' | 'stopped' | 'completed' | 'failed' | 'external';

export interface RunInfo {
  id: string;
  name: string;
  status: RunStatus;
  created: string;
  updated: string;
  backend?: string;
  message?: string;
  [k: string]: unknown;
}

export class RunIdError extends Error {}

/** The run folder disappeared while a process wrote it (deleted from outside): the writer stops, nothing is recreated. */
export class RunGoneError extends Error {
  constructor(readonly dir: string) {
    super(`the run folder ${dir} no longer exists (deleted while it was written)`);
  }
}

const gone = (dir: string) => (e: NodeJS.ErrnoException) => {
  throw e.code === 'ENOENT' ? new RunGoneError(dir) : e;
};

/** A run.json that names a run: status and creation time present (a folder without them is not listed or served). */
export function isRunInfo(v: unknown): v is RunInfo {
  const o = v as Partial<RunInfo> | null;
  return !!o && typeof o === 'object' && typeof o.status === 'string' && typeof o.created === 'string';
}

/**
 * The folder of run `id` inside `root`. Throws RunIdError for an id that is not one plain folder name
 * (`.`, `..`, a path, a hidden name): no operation on a run ever leaves the runs folder.
 */
export function runFolder(root: string, id: string): string {
  const dir = resolve(root, id);
  if (!isRunId(id) || dirname(dir) !== resolve(root)) throw new RunIdError(`invalid run id "${id.slice(0, 120)}"`);
  return dir;
}

export function newRunId(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${name.replace(/[^\w.-]+/g, '_').slice(0, 40)}`;
}

/**
 * Creates a new run folder in `root` with an id no other run has: `newRunId(name)`, then `-2`, `-3`, … —
 * mkdir (not recursive) fails for an existing folder, so two creations in the same second never share one.
 */
export async function createRunFolder(root: string, name: string, now = new Date()): Promise<{ id: string; dir: string }> {
  await makeFolders(root);
  const base = newRunId(name, now);
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    const dir = runFolder(root, id);
    try {
      await mkdir(dir);
      return { id, dir };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n > 10_000) throw createError(e, dir);
    }
  }
}

export class RunDir {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await makeFolders(this.dir);
  }

  /** Throws RunGoneError when the folder no longer exists. */
  async writeJson(name: string, value: unknown): Promise<void> {
    // writeFileAtomic creates missing folders: a run folder deleted from outside must not come back as a stub.
    await stat(this.dir).catch(gone(this.dir));
    await writeFileAtomic(join(this.dir, name), JSON.stringify(value, null, 2) + '\n').catch(gone(this.dir));
  }

  async readJson<T>(name: string): Promise<T | null> {
    try {
      return JSON.parse(await readTextFile(join(this.dir, name), 'json')) as T;
    } catch {
      return null;
    }
  }

  async updateInfo(patch: Partial<RunInfo>): Promise<RunInfo> {
    const now = new Date().toISOString();
    const id = this.dir.split(/[\\/]/).pop()!;
    // The first write of a run made outside the app's runs (`train --out DIR`) names it after its folder.
    const cur = (await this.readJson<RunInfo>('run.json')) ?? ({ id, name: id, created: now } as RunInfo);
    const next = { ...cur, ...patch, updated: now } as RunInfo;
    await this.writeJson('run.json', next);
    return next;
  }

  async metric(record: Record<string, unknown>): Promise<void> {
    await appendFile(join(this.dir, 'metrics.jsonl'), JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n').catch(gone(this.dir));
  }

  async log(line: string): Promise<void> {
    await appendFile(join(this.dir, 'train.log'), `${new Date().toISOString()} ${line}\n`).catch(gone(this.dir));
  }

  /** run.json when it names a run (isRunInfo), with the folder name as id; null otherwise. */
  async info(): Promise<RunInfo | null> {
    const info = await this.readJson<RunInfo>('run.json');
    return isRunInfo(info) ? { ...info, id: this.dir.split(/[\\/]/).pop()!, name: typeof info.name === 'string' ? info.name : this.dir.split(/[\\/]/).pop()! } : null;
  }

  /** metrics.jsonl records; a torn last line (crash mid-append) is ignored. */
  async metrics(): Promise<Record<string, unknown>[]> {
    let text = '';
    try {
      text = await readFile(join(this.dir, 'metrics.jsonl'), 'utf8');
    } catch {
      return [];
    }
    const out: Record<string, unknown>[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // torn write
      }
    }
    return out;
  }

  /**
   * Before a run that failed without a checkpoint starts again in its folder: its metric records go (the new
   * run counts from step 0) and its status becomes `running` again; the log keeps the failure. Only files
   * this class writes are touched.
   */
  async clearUncheckpointed(): Promise<void> {
    await writeFileAtomic(join(this.dir, 'metrics.jsonl'), '');
    await this.updateInfo({ status: 'running', message: undefined });
    await this.log('starting again after a failure before the first checkpoint');
  }

  /** On resume: drop step records newer than the checkpoint, so curves have no duplicated steps. */
  async truncateMetrics(maxStep: number): Promise<void> {
    const kept = (await this.metrics()).filter((m) => typeof m.step !== 'number' || (m.step as number) <= maxStep);
    await writeFileAtomic(join(this.dir, 'metrics.jsonl'), kept.map((m) => JSON.stringify(m)).join('\n') + (kept.length ? '\n' : ''));
  }
}

export async function listRuns(root: string): Promise<RunInfo[]> {
  let names: string[] = [];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const runs: RunInfo[] = [];
  for (const n of names) {
    // The folder name is the id (a run.json copied with its folder, or edited, cannot point elsewhere).
    if (!isRunId(n)) continue;
    const info = await new RunDir(join(root, n)).info();
    if (info) runs.push(info);
  }
  return runs.sort((a, b) => (a.created < b.created ? 1 : -1));
}
