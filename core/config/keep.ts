import type { TrainingSettings } from '../training/settings.js';
import type { ConfigReader } from './common.js';
import { bool, ConfigError, float, floats, int, ints, str, strs, type ConfigValue, type YacsTree, type YacsValue } from './yacs.js';

/**
 * Config keys the app does not model, kept as the imported config set them and written back when the
 * document is exported to the same framework (issue #22: "Keys the app does not model but the framework
 * uses must come back as they came in": SOLVER.AMP.ENABLED, CUDNN_BENCHMARK, TEST.IMS_PER_BATCH, …).
 * They live in the training settings at `framework.keys.<framework>` (dotted key → value, sorted by key).
 *
 * A key is kept when the framework's yacs would give it a value (the file's, merged over defaults.py)
 * other than what the exporter writes for a document built in the app: its `neutral` value, or the
 * framework default for keys the exporter does not write. Keys the exporter derives from the document
 * (`docKeys`: the graph, the modelled training settings) are never kept: the document's value wins.
 */
export interface KeepRules {
  /** The framework's defaults (defaults.py) as flattened dotted keys. */
  defaults: Record<string, ConfigValue>;
  /** Keys the exporter writes from the document. */
  docKeys: ReadonlySet<string>;
  /**
   * Keys whose defaults.py value is a Python float with a whole value (yacs refuses an int there,
   * "Type mismatch"); lists whose elements are floats. Every other whole number is written as an int.
   */
  floatKeys: ReadonlySet<string>;
}

export type KeptKeys = Record<string, ConfigValue>;

function same(a: ConfigValue | undefined, b: ConfigValue | undefined): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

/**
 * The keys to keep from an imported config: those the file (after `_BASE_` merging) sets, plus those the
 * importer reported as not modelled, whose value differs from `neutral[key]` (what the exporter writes
 * when the document has no kept value) or else the framework default. `extra` adds keys the importer models
 * only approximately (e.g. fast-reid WARMUP_ITERS that are no whole number of epochs), each written back
 * under the exporter's own condition.
 */
export function keptKeys(r: ConfigReader, rules: KeepRules, neutral: Record<string, ConfigValue>, extra: KeptKeys = {}): KeptKeys | undefined {
  const out: KeptKeys = { ...extra };
  for (const key of new Set([...r.keys(), ...r.notModelledKeys()])) {
    if (rules.docKeys.has(key) || !(key in rules.defaults)) continue;
    const v = r.raw(key);
    if (v === undefined || v === null) continue;
    if (!same(v, key in neutral ? neutral[key] : rules.defaults[key])) out[key] = v;
  }
  const keys = Object.keys(out).sort();
  return keys.length ? Object.fromEntries(keys.map((k) => [k, out[k]!])) : undefined;
}

/** A kept value with the Python type yacs expects for `key` (the default's type). */
function typed(key: string, v: ConfigValue, rules: KeepRules): YacsValue {
  const floaty = rules.floatKeys.has(key);
  if (typeof v === 'string') return str(v);
  if (typeof v === 'boolean') return bool(v);
  if (typeof v === 'number') return floaty || !Number.isInteger(v) ? float(v) : int(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return strs(v as string[]);
    if (v.every((x) => typeof x === 'number')) return floaty || v.some((x) => !Number.isInteger(x)) ? floats(v as number[]) : ints(v as number[]);
  }
  throw new ConfigError(`${key}: the kept value ${JSON.stringify(v)} cannot be written back`);
}

/**
 * Writes kept keys into an export tree (over what the exporter wrote there). `skip` names the kept keys
 * whose condition does not hold for the document any more. Returns the keys written.
 */
export function writeKept(tree: YacsTree, kept: KeptKeys | undefined, rules: KeepRules, skip: ReadonlySet<string> = new Set()): string[] {
  const written: string[] = [];
  for (const [key, v] of Object.entries(kept ?? {})) {
    if (skip.has(key) || !(key in rules.defaults) || v === null) continue;
    const parts = key.split('.');
    let node = tree;
    for (const p of parts.slice(0, -1)) {
      const next = node[p];
      if (next === undefined || 't' in next) node[p] = {};
      node = node[p] as YacsTree;
    }
    node[parts[parts.length - 1]!] = typed(key, v, rules);
    written.push(key);
  }
  return written;
}

/** The import's note for kept keys. */
export function keptImportNote(kept: KeptKeys | undefined): string[] {
  return kept ? [`kept for export as the config sets them: ${Object.keys(kept).join(', ')}`] : [];
}

/** The export's note for kept keys. */
export function keptNote(written: string[]): string[] {
  return written.length ? [`written as the imported config set them (not modelled by ReID Studio): ${written.join(', ')}`] : [];
}

/** The kept keys of a document for a framework. */
export function keptOf(s: TrainingSettings, framework: 'rsb' | 'fastreid'): KeptKeys | undefined {
  return s.framework?.keys?.[framework] as KeptKeys | undefined;
}
