import { parseArgs } from 'node:util';
import { serializeDocument, type GraphDoc } from '../../core/index.js';
import { exportFastreidYaml, exportRsbYaml, withFastreidStem } from '../../core/config/index.js';
import { writeFileAtomic } from '../io/files.js';
import { CliError } from './errors.js';
import { GRAPH_OPTIONS, resolveGraph } from './graph-args.js';

export type ExportOutcome = { ok: true; data: string | Uint8Array; warnings: string[] } | { ok: true; written: true; warnings: string[] } | { ok: false; reasons: string[] };

/**
 * An export format. `export` turns a document into the bytes written to --out, or refuses with the reasons
 * the format cannot express the graph (never an approximation). New formats (pytorch, tfjs) add an entry.
 */
export interface Exporter {
  description: string;
  /** Usual file extension, for the help text. */
  extension: string;
  export(doc: GraphDoc, target: { out: string; weights?: string; layout?: string }): ExportOutcome | Promise<ExportOutcome>;
}

const fromConfig = (r: ReturnType<typeof exportRsbYaml>): ExportOutcome => (r.ok ? { ok: true, data: r.text, warnings: r.warnings } : r);

/** Format → exporter. Scripts depend on these names: add freely, never rename. */
export const EXPORTERS: Record<string, Exporter> = {
  graph: { description: 'the graph document itself (versioned JSON)', extension: '.json', export: (doc) => ({ ok: true, data: serializeDocument(doc), warnings: [] }) },
  'rsb-yaml': { description: 'reid-strong-baseline YACS config', extension: '.yml', export: (doc) => fromConfig(exportRsbYaml(doc)) },
  'fastreid-yaml': { description: 'fast-reid YACS config', extension: '.yml', export: (doc) => fromConfig(exportFastreidYaml(doc)) },
  // Folder formats (main/export): they write --out themselves ({ written: true }); --weights FILE|RUN_DIR.
  pytorch: { description: 'PyTorch: folder with model.py (plain torch) + model.pth (state_dict, RSB keys)', extension: '/', export: async (doc, t) => (await import('../export/cli.js')).exportModelFolder('pytorch', doc, t) },
  tfjs: { description: 'TensorFlow.js: folder with model.json + weight shards + reid-studio-layers.js', extension: '/', export: async (doc, t) => (await import('../export/cli.js')).exportModelFolder('tfjs', doc, t) },
  onnx: { description: 'ONNX: one .onnx file (opset 17, dynamic batch, eval feature; preprocessing in its metadata)', extension: '.onnx', export: async (doc, t) => (await import('../export/cli.js')).exportModelFolder('onnx', doc, t) },
};

export async function exportCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...GRAPH_OPTIONS, format: { type: 'string' }, out: { type: 'string' }, 'fastreid-stem': { type: 'boolean' }, json: { type: 'boolean' }, weights: { type: 'string' }, layout: { type: 'string' } },
  });
  if (positionals.length > 1) throw new CliError(`export takes one graph file (got ${positionals.length})`);
  const formats = Object.keys(EXPORTERS);
  if (!values.format) throw new CliError(`--format is required (one of ${formats.join(', ')})`);
  const exporter = EXPORTERS[values.format];
  if (!exporter) throw new CliError(`unknown --format "${values.format}" (choose one of ${formats.join(', ')})`);
  if (!values.out) throw new CliError('--out PATH is required');
  if (values.weights && !['pytorch', 'tfjs', 'onnx'].includes(values.format)) throw new CliError('--weights applies to --format pytorch and tfjs, and to onnx');
  if (values.layout !== undefined && values.format !== 'pytorch') throw new CliError('--layout rsb|fastreid applies to --format pytorch');
  if (values.layout !== undefined && values.layout !== 'rsb' && values.layout !== 'fastreid') throw new CliError(`unknown --layout "${values.layout}" (choose rsb or fastreid)`);
  let doc = resolveGraph(positionals[0], values);
  const notes: string[] = [];
  if (values['fastreid-stem']) {
    doc = withFastreidStem(doc);
    notes.push("the stem was converted to fast-reid's (ReLU, max pool 3×3/2 padding 0 ceil_mode): the exported model differs from the graph's stem");
  }
  const r = await exporter.export(doc, { out: values.out, weights: values.weights, layout: values.layout });
  if (!r.ok) {
    if (values.json) process.stdout.write(JSON.stringify({ ok: false, format: values.format, reasons: r.reasons }, null, 2) + '\n');
    throw new CliError(`cannot export to ${values.format}: ${r.reasons.join('; ')}`);
  }
  try {
    if (!('written' in r)) await writeFileAtomic(values.out, r.data);
  } catch (e) {
    throw new CliError(`cannot write ${values.out}: ${(e as Error).message}`);
  }
  const warnings = [...notes, ...r.warnings];
  if (values.json) {
    process.stdout.write(JSON.stringify({ ok: true, format: values.format, out: values.out, warnings }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`wrote ${values.out} (${exporter.description})\n`);
  for (const w of warnings) process.stdout.write(`note: ${w}\n`);
}
