/**
 * `--checkpoint best|last` of the commands that take a run folder's weights (eval, embed, actmap, export): the
 * run's last checkpoint (default) or its best by mAP, `RUN_DIR/best` (main/runs/store/best-checkpoint.ts),
 * which every weights reader takes as a run folder's checkpoint.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsPath } from '../io/raw-names.js';
import { BEST_DIR, RUN_CHECKPOINT_CHOICES, checkpointFolder, type RunCheckpointChoice } from '../runs/store/best-checkpoint.js';
import { CliError } from './errors.js';

export const CHECKPOINT_OPTION = { checkpoint: { type: 'string' } } as const;

/** The weights path for `--checkpoint` applied to the run folder `runDir`; one-line CliError for a bad value, a path that is not a run folder, or `best` of a run that has no best checkpoint yet. */
export function runCheckpointPath(runDir: string, checkpoint: string | undefined): string {
  if (checkpoint === undefined) return runDir;
  if (!RUN_CHECKPOINT_CHOICES.includes(checkpoint as RunCheckpointChoice)) throw new CliError(`--checkpoint must be one of ${RUN_CHECKPOINT_CHOICES.join(', ')} (got "${checkpoint}")`);
  let isDir = false;
  try {
    isDir = statSync(runDir).isDirectory();
  } catch {
    isDir = false;
  }
  const notRun = `--checkpoint applies to a training run folder; ${runDir} is not one`;
  if (!isDir) throw new CliError(notRun);
  if (checkpoint === 'best' && !existsSync(join(runDir, BEST_DIR))) {
    // run.json marks a run folder (main/runs/store); without it the folder is something else (its checkpoint/, a download).
    if (!existsSync(join(runDir, 'run.json'))) throw new CliError(notRun);
    throw new CliError(`${runDir} has no best checkpoint yet: ${BEST_DIR}/ is kept once a training-time evaluation has run (train --eval-period N); --checkpoint last reads its last checkpoint`);
  }
  return checkpointFolder(runDir, checkpoint as RunCheckpointChoice);
}

/** The run's graph.json when `weights` is a run folder (or its best/ checkpoint folder): `embed` / `actmap` / `export --weights RUN_DIR` use the run's model, not the default preset. */
export function runGraphOf(weights: string): string | undefined {
  const dirs = [weights, ...(basename(weights) === BEST_DIR ? [dirname(weights)] : [])];
  const found = dirs.map((d) => join(d, 'graph.json')).find((g) => existsSync(fsPath(g)));
  // A run folder (run.json or checkpoint/) that lost its graph.json: the default preset in its place would be a
  // model the checkpoint was not trained as (a misleading shape mismatch, or worse, a fit by chance).
  if (!found && existsSync(fsPath(weights)) && ['run.json', 'checkpoint'].some((f) => existsSync(fsPath(join(weights, f)))))
    throw new CliError(`${weights} is a run folder without its graph.json, so its model is unknown: name the graph it trained (GRAPH.json or --preset NAME …)`);
  return found;
}
