import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { EXPORT_FORMATS, WEIGHT_FORMATS } from '../../core/api/ops-contract.js';
import { ExportError } from '../export/errors.js';
import { withRunSettings } from '../export/weights-source.js';
import { fsPath } from '../io/raw-names.js';
import { isExportFormat, runExport } from '../service/export.js';
import { CHECKPOINT_OPTION, runCheckpointPath, runGraphOf } from './checkpoint-arg.js';
import { CliError } from './errors.js';
import { GRAPH_OPTIONS, resolveGraph } from './graph-args.js';

/** `export [GRAPH.json | --preset NAME …] --format F --out PATH [--weights FILE|RUN_DIR] [--layout rsb|fastreid] [--fastreid-stem] [--gpus N] [--machines M] [--json]`: the service's export (main/service/export.ts). */
export async function exportCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...GRAPH_OPTIONS, format: { type: 'string' }, out: { type: 'string' }, 'fastreid-stem': { type: 'boolean' }, json: { type: 'boolean' }, weights: { type: 'string' }, layout: { type: 'string' }, gpus: { type: 'string' }, machines: { type: 'string' }, ...CHECKPOINT_OPTION },
  });
  if (positionals.length > 1) throw new CliError(`export takes one graph file (got ${positionals.length})`);
  const formats = Object.keys(EXPORT_FORMATS);
  if (!values.format) throw new CliError(`--format is required (one of ${formats.join(', ')})`);
  const format = values.format;
  if (!isExportFormat(format)) throw new CliError(`unknown --format "${format}" (choose one of ${formats.join(', ')})`);
  if (!values.out) throw new CliError('--out PATH is required');
  if (values.weights && !EXPORT_FORMATS[format].weights) {
    // A run folder's config or graph: its graph.json is the document to export (the weights play no part).
    const runGraph = existsSync(fsPath(join(values.weights, 'graph.json'))) ? join(values.weights, 'graph.json') : undefined;
    const hint = runGraph && positionals.length === 0 ? `; for the run's ${format}: reid-studio export ${runGraph} --format ${format} --out ${values.out}` : '';
    throw new CliError(`--weights applies to --format ${WEIGHT_FORMATS.join(', ')}${hint}`);
  }
  if (values.checkpoint !== undefined && !values.weights) throw new CliError('--checkpoint applies to --weights RUN_DIR (a training run folder)');
  const weights = values.weights === undefined ? undefined : runCheckpointPath(values.weights, values.checkpoint);
  if (values.layout !== undefined && format !== 'pytorch') throw new CliError('--layout rsb|fastreid applies to --format pytorch');
  if (values.layout !== undefined && values.layout !== 'rsb' && values.layout !== 'fastreid') throw new CliError(`unknown --layout "${values.layout}" (choose rsb or fastreid)`);
  const isJob = format === 'fastreid-job' || format === 'rsb-job';
  if ((values.gpus !== undefined || values.machines !== undefined) && !isJob) throw new CliError('--gpus and --machines apply to --format fastreid-job and rsb-job');
  const count = (v: string | undefined, flag: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1024) throw new CliError(`${flag} takes a whole number from 1 to 1024 (got "${v}")`);
    return Number(v);
  };
  const gpus = count(values.gpus, '--gpus');
  const machines = count(values.machines, '--machines');
  const graphPath = positionals[0] ?? (values.preset || !weights ? undefined : runGraphOf(weights));
  // A run's graph.json (given, or the one beside --weights RUN_DIR): configs and jobs take the run's settings.json.
  const runDir = graphPath && basename(graphPath) === 'graph.json' && existsSync(fsPath(join(dirname(graphPath), 'run.json'))) ? dirname(graphPath) : undefined;
  const doc = await withRunSettings(resolveGraph(graphPath, values), runDir, format);
  const refuse = (reasons: string[]): never => {
    if (values.json) process.stdout.write(JSON.stringify({ ok: false, format, reasons }, null, 2) + '\n');
    throw new CliError(`cannot export to ${format}: ${reasons.join('; ')}`);
  };
  let r;
  try {
    r = await runExport({ format, doc, weights, fastreidStem: !!values['fastreid-stem'], ...(values.layout ? { layout: values.layout as 'rsb' | 'fastreid' } : {}), ...(gpus ? { gpus } : {}), ...(machines ? { machines } : {}) }, values.out);
  } catch (e) {
    if (!(e instanceof ExportError)) throw e;
    // Model formats report every problem (weights, target folder, layout) as a refusal; text files only fail to write.
    if (EXPORT_FORMATS[format].weights) return refuse([e.message]);
    throw new CliError(e.message);
  }
  if (!r.ok) return refuse(r.refusals);
  if (values.json) {
    process.stdout.write(JSON.stringify({ ok: true, format, out: values.out, warnings: r.warnings }, null, 2) + '\n');
    return;
  }
  // A job folder names the files it holds: its weights file only when --weights gave weights (main/export/job.ts).
  const what = format === 'fastreid-job' || format === 'rsb-job' ? `${EXPORT_FORMATS[format].label}: ${r.files.join(', ')}` : EXPORT_FORMATS[format].description;
  process.stdout.write(`wrote ${values.out} (${what})\n`);
  for (const w of r.warnings) process.stdout.write(`note: ${w}\n`);
}
