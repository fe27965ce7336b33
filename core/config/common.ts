import type { GraphDoc } from '../graph/types.js';
import { parseTrainingSettings, trainingSettingsSchema, type TrainingSettings } from '../training/settings.js';
import { datasetByKind, datasetByName, datasetLayout, type KnownDataset } from './datasets.js';
import { ConfigError, type ConfigValue } from './yacs.js';

export type ExportResult = { ok: true; text: string; warnings: string[] } | { ok: false; reasons: string[] };

export type ConfigFramework = 'rsb' | 'fastreid';

export interface ImportResult {
  doc: GraphDoc;
  /** Dotted keys present in the config (after `_BASE_` merging) that the app does not model. */
  ignored: string[];
  warnings: string[];
  framework: ConfigFramework;
}

export const FRAMEWORK_LABEL: Record<ConfigFramework, string> = { rsb: 'reid-strong-baseline', fastreid: 'fast-reid' };

/** The document's training settings; `explicit` is false when the document has no training block. */
export function readSettings(doc: GraphDoc): { ok: true; settings: TrainingSettings; explicit: boolean } | { ok: false; reason: string } {
  const r = parseTrainingSettings(doc.training);
  if (!r.ok) return { ok: false, reason: r.message };
  return { ok: true, settings: r.settings, explicit: doc.training !== undefined };
}

/** The dataset a config names for these settings. */
export function datasetOf(
  s: TrainingSettings,
  explicit: boolean,
): { name: string; known?: KnownDataset; fallback?: boolean } | { reason: string } {
  const byKind = datasetByKind(s.dataset.kind);
  if (byKind) return { name: byKind.rsb ?? byKind.fastreid ?? byKind.kind, known: byKind };
  const named = s.framework?.datasetName;
  if (named) {
    const known = datasetByName(named);
    return known ? { name: known.rsb ?? known.fastreid ?? known.kind, known } : { name: named };
  }
  // No training block at all: the frameworks' own default dataset (Market-1501 in both defaults.py).
  if (!explicit) return { name: 'market1501', known: datasetByKind('market1501')!, fallback: true };
  return {
    reason:
      s.dataset.kind === 'demo' || s.dataset.kind === 'class_folders'
        ? `the training dataset is ${s.dataset.kind === 'demo' ? 'the built-in demo dataset' : 'a class-folder dataset'}, which the framework cannot load; choose a dataset the frameworks know in the training settings (Market-1501, DukeMTMC-reID, MSMT17, CUHK03; fast-reid also VeRi-776, VehicleID, VeRi-Wild) or set framework.datasetName`
        : `the config cannot name the ${datasetLayout(s.dataset.kind)?.label ?? s.dataset.kind} dataset yet: set framework.datasetName to the framework's name for it (e.g. veri, cuhk03, msmt17)`,
  };
}

/** DATASETS.NAMES written when the run's dataset is one no framework loads: fails fast there until edited. */
export const DATASET_PLACEHOLDER = 'YOUR_DATASET';

/** The YAML note for a dataset the framework cannot load (the demo set or class folders). */
export function datasetNote(s: TrainingSettings, framework: string, examples: string, root: string): string {
  const what = s.dataset.kind === 'demo' ? "the app's built-in demo dataset" : 'a class-folder dataset';
  return `the run trained on ${what}, which ${framework} cannot load: replace ${DATASET_PLACEHOLDER} with your dataset (e.g. ${examples}) and ${root}; the classifier is sized from its training identities`;
}

/** Validates settings assembled by an importer; a bad value becomes a ConfigError naming the field. */
export function finishSettings(raw: Record<string, unknown>): TrainingSettings {
  const r = trainingSettingsSchema.safeParse(raw);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new ConfigError(`the config gives an invalid training setting ${i.path.join('.')}: ${i.message}`);
}

const show = (v: ConfigValue | undefined) => JSON.stringify(v);

/**
 * Typed access to a flattened config with the framework's defaults underneath (yacs merges a file over
 * defaults.py). Every key read as *modelled* is marked used; whatever is left in the file is "ignored".
 */
export class ConfigReader {
  private used = new Set<string>();
  private unmodelled = new Set<string>();
  readonly warnings: string[] = [];

  constructor(
    private flat: Map<string, ConfigValue>,
    private defaults: Record<string, ConfigValue>,
  ) {}

  has(key: string): boolean {
    return this.flat.has(key);
  }

  raw(key: string): ConfigValue | undefined {
    return this.flat.has(key) ? this.flat.get(key) : this.defaults[key];
  }

  /** Marks keys as modelled. */
  use(...keys: string[]): void {
    for (const k of keys) this.used.add(k);
  }

  /** Un-marks a key read for context only: it is reported as ignored. */
  drop(key: string): void {
    this.used.delete(key);
  }

  /** A key the app does not model although the config sets it to something that matters. */
  notModelled(key: string, why: string): void {
    this.used.delete(key);
    this.unmodelled.add(key);
    this.warnings.push(why);
  }

  /** Keys reported through `notModelled` (set in the file or read from the defaults). */
  notModelledKeys(): string[] {
    return [...this.unmodelled];
  }

  private bad(key: string, expected: string): never {
    throw new ConfigError(`${key} must be ${expected} (got ${show(this.raw(key))})`);
  }

  str<T extends string>(key: string, allowed?: readonly T[]): T {
    const v = this.raw(key);
    this.use(key);
    if (typeof v !== 'string') return this.bad(key, allowed ? `one of ${allowed.map((a) => `'${a}'`).join(', ')}` : 'a string');
    if (allowed && !allowed.includes(v as T)) return this.bad(key, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
    return v as T;
  }

  num(key: string, o: { int?: boolean; min?: number; max?: number } = {}): number {
    const v = this.raw(key);
    this.use(key);
    const what = `${o.int ? 'a whole number' : 'a number'}${o.min !== undefined ? ` ≥ ${o.min}` : ''}${o.max !== undefined ? ` ≤ ${o.max}` : ''}`;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.bad(key, what);
    if ((o.int && !Number.isInteger(v)) || (o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) return this.bad(key, what);
    return v;
  }

  bool(key: string): boolean {
    const v = this.raw(key);
    this.use(key);
    if (typeof v !== 'boolean') return this.bad(key, 'True or False');
    return v;
  }

  /** RSB-style 'yes'/'no' ('on'/'off') strings; PyYAML turns unquoted yes/no/on/off into booleans. */
  flag(key: string, on: string, off: string): boolean {
    const v = this.raw(key);
    this.use(key);
    if (typeof v === 'boolean' && this.flat.has(key))
      this.warnings.push(`${key} is an unquoted ${v ? `${on}` : `${off}`}, which PyYAML reads as a boolean: the framework's yacs would stop with "Type mismatch"; quote it ('${v ? on : off}')`);
    if (v === on || v === true) return true;
    if (v === off || v === false) return false;
    return this.bad(key, `'${on}' or '${off}'`);
  }

  ints(key: string, o: { length?: number; min?: number } = {}): number[] {
    const v = this.raw(key);
    this.use(key);
    const what = `a list of${o.length ? ` ${o.length}` : ''} whole numbers${o.min !== undefined ? ` ≥ ${o.min}` : ''}`;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || (o.min !== undefined && x < o.min)))
      return this.bad(key, what);
    if (o.length !== undefined && v.length !== o.length) return this.bad(key, what);
    return v as number[];
  }

  /** A string or a list/tuple of strings. */
  strList(key: string): string[] {
    const v = this.raw(key);
    this.use(key);
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    return this.bad(key, 'a string or a list of strings');
  }

  /** Keys present in the file that were not read as modelled, in file order. */
  ignored(): string[] {
    return [...this.flat.keys()].filter((k) => !this.used.has(k));
  }

  keys(): string[] {
    return [...this.flat.keys()];
  }

  /**
   * `INPUT.SIZE_TRAIN` as [height, width] in pixels (both frameworks' order), each side 8…2048; a different
   * `INPUT.SIZE_TEST` is noted as not modelled, since the graph has one input size. Throws ConfigError out of range.
   */
  inputSize(): [number, number] {
    const size = this.ints('INPUT.SIZE_TRAIN', { length: 2, min: 8 }) as [number, number];
    if (size.some((x) => x > 2048)) throw new ConfigError(`INPUT.SIZE_TRAIN ${JSON.stringify(size)}: the app takes image sides up to 2048`);
    const sizeTest = this.ints('INPUT.SIZE_TEST', { length: 2, min: 8 });
    if (!sameNumbers(size, sizeTest))
      this.notModelled('INPUT.SIZE_TEST', `INPUT.SIZE_TEST ${JSON.stringify(sizeTest)} differs from SIZE_TRAIN; the graph has one input size (${size.join('x')})`);
    return size;
  }
}

export function sameNumbers(a: readonly number[], b: readonly number[], tol = 1e-6): boolean {
  return a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)));
}
