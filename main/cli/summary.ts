import { parseArgs } from 'node:util';
import { summarize, type SummaryRow } from '../../core/index.js';
import { GRAPH_OPTIONS, resolveGraph } from './graph-args.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const shapeText = (s: SummaryRow['outputShape']) =>
  s === null ? '-' : Array.isArray(s) ? `[${s.join(', ')}]` : Object.entries(s).map(([k, v]) => `${k} [${v.join(', ')}]`).join(' ');

export function summaryCommand(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...GRAPH_OPTIONS, expand: { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const doc = resolveGraph(positionals[0], values, { requireValid: true });
  const s = summarize(doc.graph, { expand: !!values.expand });
  if (values.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return;
  }
  const rows = s.nodes.map((r) => [r.name, r.kind, shapeText(r.outputShape), fmt(r.params), r.trainable ? 'yes' : r.params ? 'frozen' : '-']);
  const head = ['name', 'kind', 'output shape', 'params', 'trainable'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ''];
  out.push(`total params:     ${fmt(s.totalParams)}`);
  out.push(`trainable params: ${fmt(s.trainableParams)}`);
  out.push(`feature dim:      ${s.featureDim ?? '-'}`);
  out.push(`feature map:      ${s.featureMap ? s.featureMap.join('×') : '-'}`);
  out.push(`multiply-adds:    ${(s.macs / 1e9).toFixed(2)} G per image`);
  for (const d of s.diagnostics) out.push(`${d.severity}: [${d.code}] ${d.message}`);
  process.stdout.write(out.join('\n') + '\n');
}
