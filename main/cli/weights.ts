import { parseArgs } from 'node:util';
import { analyze } from '../../core/index.js';
import { CheckpointError, numelOf, planLoad, readCheckpoint, type Checkpoint, type LoadReport } from '../weights/index.js';
import { CliError } from './errors.js';
import { GRAPH_OPTIONS, resolveGraph } from './graph-args.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const shape = (s: number[]) => `[${s.join(', ')}]`;

async function load(file: string): Promise<Checkpoint> {
  try {
    return await readCheckpoint(file);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CliError(e.message.includes(file) ? e.message : `${file}: ${e.message}`);
    throw e;
  }
}

function listText(file: string, c: Checkpoint): string {
  const rows = [...c.tensors].map(([k, t]) => [k, t.dtype, shape(t.shape), fmt(numelOf(t.shape))]);
  const head = ['key', 'dtype', 'shape', 'elements'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => (i === 3 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ').trimEnd();
  const total = [...c.tensors.values()].reduce((a, t) => a + numelOf(t.shape), 0);
  return [
    `${file}: ${c.format}${c.wrapper ? ` (state dict under "${c.wrapper}")` : ''}`,
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `tensors:  ${fmt(c.tensors.size)}`,
    `elements: ${fmt(total)}`,
  ].join('\n');
}

function reportText(file: string, r: LoadReport): string {
  const c = r.counts;
  const out = [
    `${file}: ${r.format}${r.wrapper ? ` (state dict under "${r.wrapper}")` : ''}, ${r.layout} layout`,
    `graph slots:  ${c.slots}`,
    `loaded:       ${c.loaded}${c.renamed ? ` (${c.renamed} renamed)` : ''}`,
    `mismatched:   ${c.mismatched} (shape differs: initialised)`,
    `missing:      ${c.missing} (not in the file: initialised)`,
    `skipped:      ${c.skipped} of ${c.tensors} checkpoint tensors`,
  ];
  if (r.groups.length) {
    out.push('', 'layouts matched:');
    for (const g of r.groups)
      out.push(`  ${g.label}${g.stripped ? ` under "${g.stripped}"` : ''} (${g.keys} keys) -> ${g.to}: ${g.loaded} loaded${g.skipped ? `, ${g.skipped} skipped` : ''}${g.mismatched ? `, ${g.mismatched} shape mismatches` : ''}`);
  }
  if (r.source) {
    out.push('', `model in the file: ${r.source.description}`);
    for (const m of r.sourceMismatch ?? []) out.push(`  NOT THIS GRAPH: ${m} (embed / eval refuse; --source-model builds the checkpoint's own model)`);
  }
  if (r.preprocessing) {
    const p = r.preprocessing;
    out.push('', `input normalisation in the file (${p.source}): mean [${p.pixelMean.join(', ')}], std [${p.pixelStd.join(', ')}]${p.scale === 255 ? ' on 0-255 pixels' : ''}`);
  }
  if (r.nonFinite.length) {
    out.push('', 'NON-FINITE or INVALID tensors (not loaded; training, embed and eval refuse this file):');
    for (const b of r.nonFinite) out.push(`  ${b.source}: ${b.nan} NaN, ${b.posInf} +Inf, ${b.negInf} -Inf${b.negative ? `, ${b.negative} negative variances` : ''} of ${b.elements}`);
  }
  if (r.renamed.length) {
    out.push('', 'renamed (examples):');
    for (const x of r.renamed.slice(0, 3)) out.push(`  ${x.from} -> ${x.to}`);
  }
  if (r.mismatched.length) {
    out.push('', 'shape mismatches (initialised):');
    for (const m of r.mismatched) out.push(`  ${m.key} ${shape(m.expected)} <- ${m.source} ${shape(m.got)}`);
  }
  if (r.missing.length) {
    out.push('', 'missing (initialised):');
    for (const m of r.missing) out.push(`  ${m.key} (${m.init})`);
  }
  if (r.skipped.length) {
    out.push('', 'skipped:');
    const byReason = new Map<string, string[]>();
    for (const s of r.skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.key]);
    for (const [reason, keys] of byReason) out.push(`  ${keys.length} × ${reason}: ${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''}`);
  }
  return out.join('\n');
}

/**
 * `weights FILE` lists a checkpoint's tensors; with a graph (`GRAPH.json` or `--preset NAME …`) it prints
 * the load report instead, without touching tfjs. JSON fields are a script contract: add, never rename.
 */
export async function weightsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...GRAPH_OPTIONS, 'keep-classifier': { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const [file, graphFile, ...extra] = positionals;
  if (!file) throw new CliError('usage: reid-studio weights FILE [GRAPH.json | --preset NAME …] [--keep-classifier] [--json]');
  if (extra.length) throw new CliError(`unexpected argument "${extra[0]}"`);
  const graphFlags = Object.keys(GRAPH_OPTIONS).filter((k) => values[k as keyof typeof values] !== undefined);
  const withGraph = graphFile !== undefined || graphFlags.length > 0;
  if (values['keep-classifier'] && !withGraph) throw new CliError('--keep-classifier needs a graph (GRAPH.json or --preset NAME)');
  // Resolve the graph first: a bad preset option should not wait for a large file to be read.
  const doc = withGraph ? resolveGraph(graphFile, values, { requireValid: true }) : undefined;
  const ckpt = await load(file);
  if (!doc) {
    if (values.json) {
      const tensors = [...ckpt.tensors].map(([key, t]) => ({ key, dtype: t.dtype, shape: t.shape }));
      const elements = [...ckpt.tensors.values()].reduce((a, t) => a + numelOf(t.shape), 0);
      process.stdout.write(JSON.stringify({ file, format: ckpt.format, wrapper: ckpt.wrapper ?? '', count: tensors.length, elements, tensors }, null, 2) + '\n');
    } else process.stdout.write(listText(file, ckpt) + '\n');
    return;
  }
  const { report } = planLoad(analyze(doc.graph).layers, ckpt, { keepClassifier: !!values['keep-classifier'] });
  if (values.json) process.stdout.write(JSON.stringify({ file, ...report }, null, 2) + '\n');
  else process.stdout.write(reportText(file, report) + '\n');
}
