/**
 * Benchmark (not a test): `npm run bench -- cli` (or `npx tsx bench/cli.ts [--json]`).
 *
 * Start-up of the built CLI as users run it (`node bin/reid-studio.js`, what `npx reid-studio` starts):
 * wall time and peak resident memory of `--version`, `--help` and `export --help`, next to a bare
 * `node -e 0` measured in the same run (the machine is shared: compare within one run). Issue 22's bound:
 * `--version` / `--help` under 300 ms. Median and max of RUNS runs each; peak RSS from /usr/bin/time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RUNS = 15;
const BIN = fileURLToPath(new URL('../bin/reid-studio.js', import.meta.url));
const json = process.argv.includes('--json');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

function once(args: string[]): { ms: number; rssMB: number | null } {
  const t0 = process.hrtime.bigint();
  const r = TIME ? spawnSync(TIME, ['-f', '%M', process.execPath, ...args], { encoding: 'utf8' }) : spawnSync(process.execPath, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const kb = TIME ? Number(r.stderr.trim().split('\n').pop()) : NaN;
  return { ms, rssMB: Number.isFinite(kb) ? +(kb / 1024).toFixed(1) : null };
}

const cases: [string, string[]][] = [
  ['node -e 0 (baseline)', ['-e', '0']],
  ['reid-studio --version', [BIN, '--version']],
  ['reid-studio --help', [BIN, '--help']],
  ['reid-studio export --help', [BIN, 'export', '--help']],
  ['reid-studio presets', [BIN, 'presets']],
];
const rows = cases.map(([name, args]) => {
  once(args); // warm the file cache
  const runs = Array.from({ length: RUNS }, () => once(args));
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
  return { name, medianMs: +ms[Math.floor(RUNS / 2)]!.toFixed(1), maxMs: +ms[RUNS - 1]!.toFixed(1), peakRssMB: runs[0]!.rssMB };
});
if (json) console.log(JSON.stringify({ runs: RUNS, rows }, null, 2));
else {
  console.log(`CLI start-up, ${RUNS} runs each (median / max wall ms, peak RSS MB)`);
  for (const r of rows) console.log(`  ${r.name.padEnd(28)} ${String(r.medianMs).padStart(7)} ms  ${String(r.maxMs).padStart(7)} ms  ${r.peakRssMB ?? '?'} MB`);
}
