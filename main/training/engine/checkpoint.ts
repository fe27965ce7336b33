/**
 * Checkpoints: every tensor a resumed run needs (model weights including BN running statistics, optimizer
 * moments, center-loss centers) in one binary file plus a JSON manifest with the training position
 * (epoch, iteration, LR-schedule position, sampler/RNG state). Written atomically as a folder:
 * `checkpoint.tmp-*` is filled and fsynced, then renamed over `checkpoint`; the previous one is kept as
 * `checkpoint.prev` until the rename succeeded. A crash at any moment leaves a complete checkpoint.
 */
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../../io/files.js';

export const CHECKPOINT_FORMAT = 'reid-studio-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface TensorEntry {
  shape: number[];
  offset: number;
  length: number;
}

export interface CheckpointManifest<M = Record<string, unknown>> {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  savedAt: string;
  tensors: Record<string, TensorEntry>;
  meta: M;
}

export interface CheckpointData<M = Record<string, unknown>> {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  meta: M;
}

export class CheckpointError extends Error {}

export async function writeCheckpoint<M>(runDir: string, data: CheckpointData<M>): Promise<void> {
  const entries: Record<string, TensorEntry> = {};
  let total = 0;
  for (const [name, t] of data.tensors) {
    entries[name] = { shape: t.shape, offset: total, length: t.data.length };
    total += t.data.length;
  }
  const bin = new Float32Array(total);
  for (const [name, t] of data.tensors) bin.set(t.data, entries[name]!.offset);
  const manifest: CheckpointManifest<M> = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, savedAt: new Date().toISOString(), tensors: entries, meta: data.meta };
  const tmp = join(runDir, `checkpoint.tmp-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    await writeFileAtomic(join(tmp, 'tensors.bin'), new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength));
    await writeFileAtomic(join(tmp, 'manifest.json'), JSON.stringify(manifest));
    const final = join(runDir, 'checkpoint');
    const prev = join(runDir, 'checkpoint.prev');
    await rm(prev, { recursive: true, force: true });
    if (await exists(final)) await rename(final, prev);
    await rename(tmp, final);
    await rm(prev, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function readFrom<M>(dir: string): Promise<CheckpointData<M>> {
  let manifest: CheckpointManifest<M>;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch (e) {
    throw new CheckpointError(`checkpoint manifest in ${dir} is unreadable: ${(e as Error).message}`);
  }
  if (manifest.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${dir} is not a ReID Studio checkpoint`);
  if (manifest.version > CHECKPOINT_VERSION) throw new CheckpointError(`${dir} was written by a newer ReID Studio (checkpoint version ${manifest.version})`);
  const buf = await readFile(join(dir, 'tensors.bin'));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, e] of Object.entries(manifest.tensors)) {
    if (e.offset + e.length > all.length) throw new CheckpointError(`checkpoint in ${dir} is truncated (tensor ${name})`);
    tensors.set(name, { shape: e.shape, data: all.slice(e.offset, e.offset + e.length) });
  }
  return { tensors, meta: manifest.meta };
}

/** The run's latest complete checkpoint, or null when it has none yet. */
export async function readCheckpoint<M>(runDir: string): Promise<CheckpointData<M> | null> {
  for (const name of ['checkpoint', 'checkpoint.prev']) {
    const dir = join(runDir, name);
    if (await exists(join(dir, 'manifest.json'))) return readFrom<M>(dir);
  }
  return null;
}
