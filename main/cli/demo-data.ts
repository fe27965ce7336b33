import { parseArgs } from 'node:util';
import { formatDatasetSummary, loadDataset } from '../training/data/datasets.js';
import { DEMO_SIZES, writeDemoDataset, type DemoSize } from '../training/data/demo.js';
import { CliError } from './errors.js';
import { parseWholeNumber } from './numbers.js';

/** `demo-data --out DIR [--size tiny|small|medium] [--seed N] [--json]`: writes the synthetic Market-layout dataset. */
export async function demoDataCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, size: { type: 'string', default: 'small' }, seed: { type: 'string', default: '0' }, json: { type: 'boolean' } },
  });
  if (!values.out) throw new CliError('demo-data needs --out DIR');
  const size = values.size as DemoSize;
  if (!(size in DEMO_SIZES)) throw new CliError(`--size must be one of ${Object.keys(DEMO_SIZES).join(', ')} (got "${values.size}")`);
  const seed = parseWholeNumber('seed', values.seed ?? '0', 0, 0xffffffff);
  let summary;
  try {
    summary = await writeDemoDataset(values.out, size, seed);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const loaded = await loadDataset('market1501', values.out);
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...summary, root: loaded.root, summary: loaded.summary, junkDropped: loaded.problems.junkDropped }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`demo dataset (${size}, seed ${seed}, ${summary.cameras} cameras) written\n${formatDatasetSummary(loaded)}\n`);
}
