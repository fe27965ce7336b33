// Checks a release build against .github/release-budgets.yml: the installers' sizes for one OS, and the
// smoke test's metrics.json files (test/electron/smoke.electron.ts: launch → drawn canvas, memory after the
// preset loads). Prints a table (and adds it to the job summary in GitHub Actions); exit 1 when a budget is
// exceeded, an installer the OS should have is missing, or a metric is absent.
//   npx tsx scripts/release/budgets.ts --os linux|win|mac --installers DIR [--metrics FILE]...
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { annotate, installerFiles, isMain, ROOT, summary } from './common.js';
import type { ReleaseOs } from './dist.js';

export const BUDGETS_FILE = `${ROOT}.github/release-budgets.yml`;

export interface Budgets {
  /** Per OS, per electron-builder target: the largest installer file allowed, MiB. */
  installerMiB: Record<ReleaseOs, Record<string, number>>;
  /** Per OS: main process created → first frame after the canvas drew the start document's blocks, ms. */
  launchToCanvasMs: Record<ReleaseOs, number>;
  /** Per OS: working set of all the app's processes after the smoke preset loaded, MiB. */
  memoryAfterPresetMiB: Record<ReleaseOs, number>;
}

export function readBudgets(text = readFileSync(BUDGETS_FILE, 'utf8')): Budgets {
  return YAML.parse(text) as Budgets;
}

/** The electron-builder target an installer file belongs to, by its extension. */
export function targetOf(file: string): string | null {
  const ext = /\.(AppImage|deb|exe|dmg|zip)$/.exec(file)?.[1];
  return ext ? ({ AppImage: 'AppImage', deb: 'deb', exe: 'nsis', dmg: 'dmg', zip: 'zip' } as Record<string, string>)[ext]! : null;
}

export interface Row {
  what: string;
  value: number;
  budget: number;
  unit: string;
  ok: boolean;
}

export interface BudgetReport {
  rows: Row[];
  /** Problems that are not a number over its budget (a missing installer or metric). */
  problems: string[];
}

const MiB = 1024 * 1024;

/** Compares installer sizes (bytes, by file) and smoke metrics with the budgets of `os`. */
export function checkBudgets(os: ReleaseOs, budgets: Budgets, installers: { file: string; bytes: number }[], metrics: { name: string; data: Record<string, unknown> }[]): BudgetReport {
  const rows: Row[] = [];
  const problems: string[] = [];
  const sizes = budgets.installerMiB[os];
  if (!sizes) problems.push(`${BUDGETS_FILE}: no installerMiB for ${os}`);
  for (const [target, budget] of Object.entries(sizes ?? {})) {
    const files = installers.filter((i) => targetOf(i.file) === target);
    if (!files.length) problems.push(`no ${target} installer was built`);
    for (const f of files) {
      const value = Math.round((f.bytes / MiB) * 10) / 10;
      rows.push({ what: basename(f.file), value, budget, unit: 'MiB', ok: value <= budget });
    }
  }
  for (const f of installers) if (!targetOf(f.file) || !(targetOf(f.file)! in (sizes ?? {}))) problems.push(`${basename(f.file)} has no size budget for ${os}`);
  for (const { name, data } of metrics) {
    for (const [key, unit] of [['launchToCanvasMs', 'ms'], ['memoryAfterPresetMiB', 'MiB']] as const) {
      const value = data[key];
      const budget = budgets[key][os];
      if (typeof value !== 'number' || !Number.isFinite(value)) problems.push(`${name}: ${key} is missing (the smoke test did not get that far)`);
      else rows.push({ what: `${name}: ${key}`, value, budget, unit, ok: value <= budget });
    }
  }
  return { rows, problems };
}

export function reportMarkdown(os: ReleaseOs, report: BudgetReport): string {
  const lines = [`### Release budgets (${os})`, '', '| what | measured | budget | |', '|---|---:|---:|---|'];
  for (const r of report.rows) lines.push(`| ${r.what} | ${r.value} ${r.unit} | ${r.budget} ${r.unit} | ${r.ok ? 'ok' : '**over**'} |`);
  for (const p of report.problems) lines.push(`| ${p} | | | **missing** |`);
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { os: { type: 'string' }, installers: { type: 'string' }, metrics: { type: 'string', multiple: true } } });
  const os = values.os as ReleaseOs;
  if (!['linux', 'win', 'mac'].includes(os) || !values.installers) {
    console.error('usage: npx tsx scripts/release/budgets.ts --os linux|win|mac --installers DIR [--metrics FILE]...');
    process.exit(2);
  }
  const installers = installerFiles(values.installers).map((file) => ({ file, bytes: statSync(file).size }));
  const metrics = (values.metrics ?? []).map((name) => {
    try {
      return { name, data: JSON.parse(readFileSync(name, 'utf8')) as Record<string, unknown> };
    } catch (e) {
      return { name, data: { error: String(e) } };
    }
  });
  const report = checkBudgets(os, readBudgets(), installers, metrics);
  const md = reportMarkdown(os, report);
  console.log(md);
  summary(md);
  for (const r of report.rows.filter((x) => !x.ok)) annotate('error', `${r.what}: ${r.value} ${r.unit} is over its budget of ${r.budget} ${r.unit} (.github/release-budgets.yml)`);
  for (const p of report.problems) annotate('error', p);
  process.exit(report.rows.every((r) => r.ok) && !report.problems.length ? 0 : 1);
}
