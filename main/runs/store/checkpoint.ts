/**
 * Checkpoints: every tensor a resumed run needs (model weights including BN running statistics, optimizer
 * moments, center-loss centers) in one binary file plus a JSON manifest with the training position
 * (epoch, iteration, LR-schedule position, sampler/RNG state) and a sequence number.
 *
 * Protocol (a run folder has one writer), safe against a crash at any step and against a second crash
 * while resuming from the first:
 *   1. `checkpoint.tmp-<random>/` gets tensors.bin, then manifest.json (each fsynced, manifest last): from
 *      here on it is a complete checkpoint, the newest by sequence number.
 *   2. the older `checkpoint.prev` is removed, `checkpoint` is renamed to `checkpoint.prev`, the temp folder
 *      is renamed to `checkpoint`, and `checkpoint.prev` and stale temp folders are removed.
 * No step removes the newest complete checkpoint. Readers take the complete candidate (`checkpoint`,
 * `checkpoint.prev`, `checkpoint.tmp-*`) with the highest sequence number; `recoverCheckpoint` (on resume)
 * moves it to `checkpoint` and removes the others, incomplete temp folders included.
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileError, readRegularFile, readTextFile, syncFolder, writeFileSynced } from '../../io/files.js';
import { fsPath } from '../../io/raw-names.js';

export const CHECKPOINT_FORMAT = 'reid-studio-checkpoint';
/**
 * 2: tensors in PyTorch layout keyed by state_dict keys (checkpoint-keys.ts, `meta.layout`); 1: tfjs slot
 * layout, still read. An older ReID Studio refuses a version-2 checkpoint as newer rather than misread it.
 */
export const CHECKPOINT_VERSION = 2;
const FINAL = 'checkpoint';
const PREV = 'checkpoint.prev';
const TMP_PREFIX = 'checkpoint.tmp-';

export interface TensorEntry {
  shape: number[];
  offset: number;
  length: number;
}

export interface CheckpointManifest<M = Record<string, unknown>> {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** Increases by one with every checkpoint of the run; the highest complete one is the latest. */
  sequence?: number;
  savedAt: string;
  tensors: Record<string, TensorEntry>;
  meta: M;
}

export interface CheckpointData<M = Record<string, unknown>> {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  meta: M;
}

export class CheckpointError extends Error {}

/** The steps of a checkpoint write, in order (names used by the test-only fault hook). */
export const CHECKPOINT_STEPS = ['partial', 'tensors', 'complete', 'prev-removed', 'moved-aside', 'renamed', 'done'] as const;
export type CheckpointStep = (typeof CHECKPOINT_STEPS)[number];

/**
 * Test-only fault hook: `REID_STUDIO_CHECKPOINT_KILL=<n>:<step>` kills this process with SIGKILL at `step`
 * of its n-th checkpoint write, so tests can crash the writer at every step of the protocol.
 */
let writes = 0;
function faultPoint(step: CheckpointStep): void {
  const spec = process.env.REID_STUDIO_CHECKPOINT_KILL;
  if (spec && spec === `${writes}:${step}`) process.kill(process.pid, 'SIGKILL');
}

interface Candidate {
  name: string;
  manifest: CheckpointManifest<unknown>;
}

/** A candidate folder's manifest when the checkpoint in it is complete (manifest valid, tensors.bin full size); else the reason. */
async function inspect(dir: string): Promise<{ manifest: CheckpointManifest<unknown> } | { error: CheckpointError }> {
  let manifest: CheckpointManifest<unknown>;
  try {
    manifest = JSON.parse(await readTextFile(join(dir, 'manifest.json'), 'json'));
  } catch (e) {
    return { error: new CheckpointError(`checkpoint manifest in ${dir} is unreadable: ${(e as Error).message}`) };
  }
  if (manifest?.format !== CHECKPOINT_FORMAT || typeof manifest.tensors !== 'object' || manifest.tensors === null) return { error: new CheckpointError(`${dir} is not a ReID Studio checkpoint`) };
  if (manifest.version > CHECKPOINT_VERSION) return { error: new CheckpointError(`${dir} was written by a newer ReID Studio (checkpoint version ${manifest.version})`) };
  const floats = Object.values(manifest.tensors).reduce((a, e) => Math.max(a, e.offset + e.length), 0);
  let size = -1;
  try {
    size = (await stat(fsPath(join(dir, 'tensors.bin')))).size;
  } catch {
    // missing: truncated below
  }
  if (size < floats * 4) return { error: new CheckpointError(`checkpoint in ${dir} is truncated (tensors.bin has ${Math.max(size, 0)} of ${floats * 4} bytes)`) };
  return { manifest };
}

async function candidateNames(runDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(fsPath(runDir));
  } catch {
    return [];
  }
  const tmps = names.filter((n) => n.startsWith(TMP_PREFIX)).sort();
  return [FINAL, PREV, ...tmps].filter((n) => names.includes(n));
}

/** All candidate folders, and the newest complete one (ties: `checkpoint` before `.prev` before temp folders). */
async function survey(runDir: string): Promise<{ names: string[]; best: Candidate | null; firstError: CheckpointError | null }> {
  const names = await candidateNames(runDir);
  let best: Candidate | null = null;
  let firstError: CheckpointError | null = null;
  for (const name of names) {
    const r = await inspect(join(runDir, name));
    if ('error' in r) {
      firstError ??= r.error;
      continue;
    }
    if (!best || (r.manifest.sequence ?? 0) > (best.manifest.sequence ?? 0)) best = { name, manifest: r.manifest };
  }
  return { names, best, firstError };
}

export async function writeCheckpoint<M>(runDir: string, data: CheckpointData<M>): Promise<void> {
  writes++;
  const entries: Record<string, TensorEntry> = {};
  let total = 0;
  for (const [name, t] of data.tensors) {
    entries[name] = { shape: t.shape, offset: total, length: t.data.length };
    total += t.data.length;
  }
  const bin = new Float32Array(total);
  for (const [name, t] of data.tensors) bin.set(t.data, entries[name]!.offset);
  const before = await survey(runDir);
  const sequence = (before.best?.manifest.sequence ?? 0) + 1;
  const manifest: CheckpointManifest<M> = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, sequence, savedAt: new Date().toISOString(), tensors: entries, meta: data.meta };
  const tmpName = `${TMP_PREFIX}${randomBytes(4).toString('hex')}`;
  const tmp = join(runDir, tmpName);
  const bytes = new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength);
  // Not recursive: a run folder deleted while training is not recreated as a stub (the write fails instead).
  await mkdir(tmp).catch((e: NodeJS.ErrnoException) => {
    // A read-only or full run folder: a FileError naming it (the user's situation, issue #25).
    throw e.code === 'ENOENT' ? new CheckpointError(`the run folder ${runDir} no longer exists (deleted while training?)`) : fileError(e, runDir);
  });
  try {
    if (process.env.REID_STUDIO_CHECKPOINT_KILL === `${writes}:partial`) {
      await writeFileSynced(join(tmp, 'tensors.bin'), bytes.subarray(0, bytes.length >> 1));
      faultPoint('partial');
    }
    await writeFileSynced(join(tmp, 'tensors.bin'), bytes);
    faultPoint('tensors');
    await writeFileSynced(join(tmp, 'manifest.json'), JSON.stringify(manifest));
    await syncFolder(tmp);
    faultPoint('complete');
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  // The temp folder is now the newest complete checkpoint: nothing below removes it.
  const final = join(runDir, FINAL);
  const prev = join(runDir, PREV);
  if (before.names.includes(FINAL)) {
    await rm(prev, { recursive: true, force: true });
    faultPoint('prev-removed');
    await rename(final, prev);
    faultPoint('moved-aside');
  }
  await rename(tmp, final);
  await syncFolder(runDir);
  faultPoint('renamed');
  await removeAllBut(runDir, FINAL);
  faultPoint('done');
}

/** Removes every candidate folder except `keep` (older checkpoints, incomplete or stale temp folders). */
async function removeAllBut(runDir: string, keep: string): Promise<void> {
  for (const n of await candidateNames(runDir)) if (n !== keep) await rm(join(runDir, n), { recursive: true, force: true });
}

async function readFrom<M>(dir: string, manifest: CheckpointManifest<M>): Promise<CheckpointData<M>> {
  let buf: Buffer;
  try {
    buf = await readRegularFile(join(dir, 'tensors.bin'), 'weights');
  } catch (e) {
    throw new CheckpointError(`checkpoint in ${dir} is unreadable: ${(e as Error).message}`);
  }
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, e] of Object.entries(manifest.tensors)) {
    if (e.offset + e.length > all.length) throw new CheckpointError(`checkpoint in ${dir} is truncated (tensor ${name})`);
    tensors.set(name, { shape: e.shape, data: all.slice(e.offset, e.offset + e.length) });
  }
  return { tensors, meta: manifest.meta };
}

/**
 * The run's latest complete checkpoint (read-only: nothing is moved), or null when it has none. Throws
 * CheckpointError when there are checkpoint folders but none is complete (truncated, foreign, newer).
 */
export async function readCheckpoint<M>(runDir: string): Promise<CheckpointData<M> | null> {
  // A running training process may rename the folder between the survey and the read: look again once.
  for (let attempt = 0; ; attempt++) {
    const { names, best, firstError } = await survey(runDir);
    if (!best) {
      if (names.some((n) => n === FINAL || n === PREV) && firstError) throw firstError;
      return null;
    }
    try {
      return await readFrom<M>(join(runDir, best.name), best.manifest as CheckpointManifest<M>);
    } catch (e) {
      if (attempt > 0 || !(e instanceof CheckpointError) || !/no such file/.test(e.message)) throw e;
    }
  }
}

/** True when the run has a complete checkpoint to resume from. */
export async function hasCheckpoint(runDir: string): Promise<boolean> {
  return (await survey(runDir)).best !== null;
}

/**
 * On resume: moves the latest complete checkpoint to `checkpoint/` (from `.prev` or a temp folder a crash
 * left behind) and removes every other checkpoint folder, incomplete temp folders included; then reads it.
 * Each step keeps the latest complete checkpoint on disk, so a crash during recovery is recovered next time.
 */
export async function recoverCheckpoint<M>(runDir: string): Promise<CheckpointData<M> | null> {
  const { names, best, firstError } = await survey(runDir);
  if (!best) {
    if (names.some((n) => n === FINAL || n === PREV) && firstError) throw firstError;
    await removeAllBut(runDir, FINAL);
    return null;
  }
  if (best.name !== FINAL) {
    if (names.includes(FINAL)) {
      if (best.name !== PREV) {
        await rm(join(runDir, PREV), { recursive: true, force: true });
        await rename(join(runDir, FINAL), join(runDir, PREV));
      } else await rm(join(runDir, FINAL), { recursive: true, force: true });
    }
    await rename(join(runDir, best.name), join(runDir, FINAL));
    await syncFolder(runDir);
  }
  await removeAllBut(runDir, FINAL);
  return readFrom<M>(join(runDir, FINAL), best.manifest as CheckpointManifest<M>);
}
