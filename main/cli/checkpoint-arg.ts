/**
 * `--checkpoint best|last` of the commands that take a run folder's weights (eval, embed, actmap, export): the
 * run's last checkpoint (default) or its best by mAP, `RUN_DIR/best` (main/runs/store/best-checkpoint.ts),
 * which every weights reader takes as a run folder's checkpoint.
 */
import { statSync } from 'node:fs';
import { RUN_CHECKPOINT_CHOICES, checkpointFolder, type RunCheckpointChoice } from '../runs/store/best-checkpoint.js';
import { CliError } from './errors.js';

export const CHECKPOINT_OPTION = { checkpoint: { type: 'string' } } as const;

/** The weights path for `--checkpoint` applied to the run folder `runDir`; one-line CliError for a bad value or a path that is not a folder. */
export function runCheckpointPath(runDir: string, checkpoint: string | undefined): string {
  if (checkpoint === undefined) return runDir;
  if (!RUN_CHECKPOINT_CHOICES.includes(checkpoint as RunCheckpointChoice)) throw new CliError(`--checkpoint must be one of ${RUN_CHECKPOINT_CHOICES.join(', ')} (got "${checkpoint}")`);
  let isDir = false;
  try {
    isDir = statSync(runDir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new CliError(`--checkpoint applies to a training run folder; ${runDir} is not one`);
  return checkpointFolder(runDir, checkpoint as RunCheckpointChoice);
}
