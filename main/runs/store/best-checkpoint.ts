/**
 * The run's best checkpoint by mAP, beside its last one: `best/checkpoint/` in the run folder, written with the
 * same crash-safe protocol as the last checkpoint (checkpoint.ts), holding the model weights only (what
 * evaluation, export and activation maps read; resume always continues from the last checkpoint). Kept as
 * fast-reid's `PeriodicCheckpointer` keeps `model_best.pth` (fastreid/utils/checkpoint.py: saved when the
 * evaluation's metric exceeds the best so far, strictly). Porting note: fast-reid's metric is (mAP + rank-1) / 2
 * (fastreid/evaluation/reid_evaluation.py); here the best is by mAP, as issue #23 asks, rank-1 recorded beside.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { Layer } from '../../../core/index.js';
import { encodeWeights, type CheckpointMeta } from './checkpoint-keys.js';

/** The folder (inside the run folder) whose checkpoint is the best one. */
export const BEST_DIR = 'best';

/** Which of a run's checkpoints: the last written, or the best by mAP. */
export type RunCheckpointChoice = 'last' | 'best';
export const RUN_CHECKPOINT_CHOICES: readonly RunCheckpointChoice[] = ['last', 'best'];

export interface BestInfo {
  mAP: number;
  rank1: number;
  /** The epoch evaluated (1-based, completed) and the optimizer step. */
  epoch: number;
  step: number;
}

type BestMeta = Partial<CheckpointMeta> & { best?: BestInfo };

/** The folder readCheckpoint / resolveWeights read for `which` of the run in `runDir`. */
export function checkpointFolder(runDir: string, which: RunCheckpointChoice = 'last'): string {
  return which === 'best' ? join(runDir, BEST_DIR) : runDir;
}

/** The best checkpoint's record, or null when the run has none (no evaluation during training yet). */
export async function readBestInfo(runDir: string): Promise<BestInfo | null> {
  const saved = await readCheckpoint<BestMeta>(join(runDir, BEST_DIR)).catch(() => null);
  return saved?.meta.best ?? null;
}

/**
 * Writes `weights` (PyTorch layout by state_dict key of `layers`: an engine's `weightValues()`) as the best checkpoint when `info.mAP` exceeds
 * the stored best's (or there is none), in the run checkpoint's PyTorch layout (checkpoint-keys.ts
 * encodeWeights). Returns whether it did. The position in the meta decodes as the
 * evaluated epoch's end (checkpoint-keys.ts decodeRunWeights: `epoch`, iteration 0).
 */
export async function keepBestCheckpoint(runDir: string, layers: readonly Layer[], weights: Map<string, Float32Array>, info: BestInfo, previous: BestInfo | null): Promise<boolean> {
  if (previous && !(info.mAP > previous.mAP)) return false;
  const dir = join(runDir, BEST_DIR);
  // Not recursive: a run folder deleted while training is not recreated (writeCheckpoint then fails).
  await mkdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const { tensors, weightKeys, layout } = encodeWeights(layers, weights);
  const meta: BestMeta = { layout, weightKeys, step: info.step, epoch: info.epoch + 1, batch: 0, best: info };
  await writeCheckpoint(dir, { tensors, meta });
  return true;
}
