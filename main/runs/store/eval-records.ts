/**
 * Every evaluation of a run after training — "Evaluate on…", `eval RUN_DIR [--data …]`, `eval.run` — is its own
 * record in the run folder; none replaces another, and none replaces the training-time evaluation (eval.json,
 * the run's headline). Layout:
 *   evals/<id>/record.json        the record (format below), written last
 *   evals/<id>/eval-features.*    the features and per-query results of that evaluation (its rank lists)
 *   evals/<id>/eval-queries.*
 * A record is published atomically: written in `evals/.tmp-<id>/`, then renamed to `evals/<id>/` (a folder
 * without record.json — a crash before the rename — is never listed). Ids sort by time: `<UTC yyyymmdd-hhmmss>-<8 hex>`.
 * Record format (`reid-studio-eval-record`, version 1), documented in README ("Evaluation records"):
 *   id, time (ISO), dataset { root, kind, numQuery, numGallery }, split ('query/gallery'), inDomain (the run's
 *   own training dataset), metric, featNorm, reRanking, epoch / iteration / step of the weights (when a run
 *   checkpoint's), weights { source, … }, backend, adapter?, engine, results { mAP, rank1, rank5, rank10, mINP,
 *   cmc, numQuery, numGallery, numValidQuery, numSkippedQuery, seconds? }.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EvalRecordData } from '../../../core/api/training-contract.js';
import { fileError, readTextFile, syncFolder, writeFileAtomic } from '../../io/files.js';
import { fsPath } from '../../io/raw-names.js';

export const EVAL_RECORD_FORMAT = 'reid-studio-eval-record';
export const EVAL_RECORD_VERSION = 1;
const EVALS = 'evals';
const ID_PATTERN = /^\d{8}-\d{6}-[0-9a-f]{8}$/;

/** A record as the API contract describes it (core/api/training-contract.ts `evalRecordSchema`). */
export type EvalRecord = EvalRecordData;

export type NewEvalRecord = Omit<EvalRecord, 'format' | 'version' | 'id' | 'time'>;

export class EvalRecordError extends Error {}

function newId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/**
 * Appends one evaluation record to the run folder `runDir` (which must exist: a record never creates a run).
 * `writeFiles(dir)` writes the evaluation's feature files into the record's folder before it is published.
 * Throws EvalRecordError when the run folder is gone, FileError (main/io/files.ts) when it cannot be written
 * (read-only, full disk, no permission); nothing is left behind then.
 */
export async function appendEvalRecord(runDir: string, rec: NewEvalRecord, writeFiles?: (dir: string) => Promise<void>, now = new Date()): Promise<EvalRecord> {
  const root = join(runDir, EVALS);
  try {
    await mkdir(fsPath(root));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EvalRecordError(`the run folder ${runDir} no longer exists`);
    if (code !== 'EEXIST') throw fileError(e, root);
  }
  const id = newId(now);
  const record: EvalRecord = { format: EVAL_RECORD_FORMAT, version: EVAL_RECORD_VERSION, id, time: now.toISOString(), ...rec };
  const tmp = join(root, `.tmp-${id}`);
  try {
    await mkdir(fsPath(tmp));
  } catch (e) {
    throw fileError(e, tmp);
  }
  try {
    await writeFiles?.(tmp);
    await writeFileAtomic(join(tmp, 'record.json'), JSON.stringify(record, null, 2) + '\n');
    await rename(fsPath(tmp), fsPath(join(root, id))).catch((e: unknown) => {
      throw fileError(e, join(root, id));
    });
    await syncFolder(root);
  } catch (e) {
    await rm(fsPath(tmp), { recursive: true, force: true });
    throw e;
  }
  return record;
}

/** The folder of record `id` of the run (for its rank lists); EvalRecordError for an id that is not a record's. */
export function evalRecordDir(runDir: string, id: string): string {
  if (!ID_PATTERN.test(id)) throw new EvalRecordError(`invalid evaluation id "${id.slice(0, 60)}"`);
  return join(runDir, EVALS, id);
}

/** The run's evaluation records, oldest first. Unreadable or foreign record files are skipped (never an error). */
export async function listEvalRecords(runDir: string): Promise<EvalRecord[]> {
  let names: string[];
  try {
    names = await readdir(fsPath(join(runDir, EVALS)));
  } catch {
    return [];
  }
  const out: EvalRecord[] = [];
  for (const n of names.filter((x) => ID_PATTERN.test(x)).sort()) {
    const r = await readEvalRecord(runDir, n);
    if (r) out.push(r);
  }
  return out;
}

/** Record `id`, or null when there is none (or it is not a record this version reads). */
export async function readEvalRecord(runDir: string, id: string): Promise<EvalRecord | null> {
  try {
    const r = JSON.parse(await readTextFile(join(evalRecordDir(runDir, id), 'record.json'), 'json')) as EvalRecord;
    return r?.format === EVAL_RECORD_FORMAT && r.version <= EVAL_RECORD_VERSION && r.id === id && typeof r.results?.mAP === 'number' ? r : null;
  } catch {
    return null;
  }
}
