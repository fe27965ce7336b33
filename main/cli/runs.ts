import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { ExternalImportError, importTrainingFolder } from '../runs/external/import-run.js';
import { defaultDataDir } from '../io/paths.js';
import { CliError } from './errors.js';

/**
 * `runs import DIR [--name NAME] [--data DATASET_DIR] [--data-dir DIR] [--json]`: a fast-reid or
 * reid-strong-baseline output folder becomes a run in the data folder's runs (main/runs/external/import-run.ts).
 * `--json` prints {runId, runDir, framework, source, steps, evals, skippedLines, checkpoint, ignored, warnings}.
 */
export async function runsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new CliError('runs needs a subcommand: runs import DIR [--json] (the runs themselves are folders: train --out RUN_DIR, eval RUN_DIR)');
  if (sub !== 'import') throw new CliError(`runs: unknown subcommand "${sub}" (runs import DIR [--json])`);
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { name: { type: 'string' }, data: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new CliError('runs import takes one folder: runs import DIR [--json]');
  const runsDir = join(values['data-dir'] ?? defaultDataDir(), 'runs');
  let r;
  try {
    r = await importTrainingFolder(positionals[0]!, runsDir, { ...(values.name ? { name: values.name } : {}), ...(values.data ? { data: values.data } : {}) });
  } catch (e) {
    if (e instanceof ExternalImportError) throw new CliError(e.message);
    throw e;
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return;
  }
  process.stdout.write(`imported ${r.frameworkLabel} run ${r.runId} (${r.runDir}): ${r.steps} logged iterations, ${r.evals} evaluations, ${r.checkpoint ? `weights from ${r.checkpoint.file}` : 'no checkpoint'}\n`);
  for (const w of r.warnings) process.stdout.write(`note: ${w}\n`);
  if (r.ignored.length) process.stdout.write(`note: config keys not modelled: ${r.ignored.join(', ')}\n`);
}
