import { pyLiteral } from './pyliteral.js';
import { loadPyYaml, YamlError } from './pyyaml.js';

export { pyLiteral } from './pyliteral.js';

/**
 * Reading and writing YACS configs (the config system of reid-strong-baseline and fast-reid).
 *
 * Reading mirrors what YACS does with a file: PyYAML `safe_load` (YAML 1.1, so bare `yes`/`no`/`on`
 * are booleans), then every *string* value goes through Python's `ast.literal_eval`, falling back to
 * the raw string when that fails (yacs `CfgNode._decode_cfg_value`). That is how `('market1501')`
 * becomes the string market1501 and `("CrossEntropyLoss", "TripletLoss",)` a tuple.
 *
 * Writing is typed: yacs refuses a value whose type differs from the default's ("Type mismatch",
 * `_check_and_coerce_cfg_value_type`; only str↔unicode and list↔tuple are coerced). So floats are always
 * written with a decimal point (PyYAML reads `1` as int and `1e-05` as a string), strings are quoted
 * (PyYAML would read a bare `yes` as a boolean) and tuples are written as quoted Python literals.
 */

export class ConfigError extends Error {}

export type YacsValue =
  | { t: 'str'; v: string }
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'ints'; v: number[] }
  | { t: 'floats'; v: number[] }
  | { t: 'strs'; v: string[] }
  /** A Python tuple of strings, written as a quoted literal that yacs literal_evals. */
  | { t: 'tuple'; v: string[] };

export interface YacsTree {
  [key: string]: YacsValue | YacsTree;
}

export const str = (v: string): YacsValue => ({ t: 'str', v });
export const int = (v: number): YacsValue => ({ t: 'int', v });
export const float = (v: number): YacsValue => ({ t: 'float', v });
export const bool = (v: boolean): YacsValue => ({ t: 'bool', v });
export const ints = (v: number[]): YacsValue => ({ t: 'ints', v });
export const floats = (v: number[]): YacsValue => ({ t: 'floats', v });
export const strs = (v: string[]): YacsValue => ({ t: 'strs', v });
export const tuple = (v: string[]): YacsValue => ({ t: 'tuple', v });

function isValue(x: YacsValue | YacsTree): x is YacsValue {
  return typeof (x as YacsValue).t === 'string' && 'v' in x && Object.keys(x).length === 2;
}

/** A float PyYAML 1.1 reads as a float: it needs a '.', and an exponent needs a sign. */
export function formatFloat(x: number): string {
  if (!Number.isFinite(x)) throw new ConfigError(`cannot write ${x} as a config value`);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return `${x}.0`;
  let s = String(x);
  const m = /^(-?\d+)(\.\d+)?e([+-]?)(\d+)$/.exec(s);
  if (m) s = `${m[1]}${m[2] ?? '.0'}e${m[3] || '+'}${m[4]}`;
  return s;
}

function formatInt(x: number): string {
  if (!Number.isInteger(x)) throw new ConfigError(`${x} is not a whole number`);
  return String(x);
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const pyStr = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function formatValue(v: YacsValue): string {
  switch (v.t) {
    case 'str':
      return quote(v.v);
    case 'int':
      return formatInt(v.v);
    case 'float':
      return formatFloat(v.v);
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'ints':
      return `[${v.v.map(formatInt).join(', ')}]`;
    case 'floats':
      return `[${v.v.map(formatFloat).join(', ')}]`;
    case 'strs':
      return `[${v.v.map(quote).join(', ')}]`;
    case 'tuple':
      return quote(`(${v.v.map(pyStr).join(', ')},)`);
  }
}

/**
 * Block-style YAML, two-space indent, keys in insertion order. `notes` (dotted key → text) become
 * `# TO FILL IN: …` comment lines above their key: what the user must edit before the framework trains.
 */
export function emitYacs(tree: YacsTree, header: string[] = [], notes: Record<string, string> = {}): string {
  const lines = header.map((h) => (h ? `# ${h}` : '#'));
  const walk = (t: YacsTree, indent: string, prefix: string) => {
    for (const [k, v] of Object.entries(t)) {
      const key = prefix + k;
      const note = notes[key];
      if (note !== undefined) lines.push(`${indent}# TO FILL IN: ${note.replace(/[\r\n]+/g, ' ')}`);
      if (isValue(v)) lines.push(`${indent}${k}: ${formatValue(v)}`);
      else {
        lines.push(`${indent}${k}:`);
        walk(v, indent + '  ', `${key}.`);
      }
    }
  };
  walk(tree, '', '');
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------
// Reading

export type ConfigValue = string | number | boolean | null | ConfigValue[];
export interface ConfigTree {
  [key: string]: ConfigValue | ConfigTree;
}

export function isTree(x: unknown): x is ConfigTree {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * yacs `_merge_a_into_b` → `_decode_cfg_value`: every *leaf* string is literal_eval'd (kept when it is not
 * a literal); list elements are left as YAML gave them, as yacs leaves them.
 */
function decode(x: unknown, path: string): ConfigValue | ConfigTree {
  if (typeof x === 'string') {
    const lit = pyLiteral(x);
    return lit === undefined ? x : (lit as ConfigValue);
  }
  if (typeof x === 'number' || typeof x === 'boolean' || x === null) return x;
  if (Array.isArray(x)) return x as ConfigValue[];
  if (isTree(x)) {
    const out: ConfigTree = {};
    for (const [k, v] of Object.entries(x)) out[k] = decode(v, path ? `${path}.${k}` : k);
    return out;
  }
  throw new ConfigError(`${path || 'the config'}: unsupported YAML value`);
}

/**
 * Parses YAML text as yacs would see it (PyYAML safe_load, then literal_eval of string leaves).
 * Repeated keys keep the last value and add a message to `warnings`. Throws ConfigError (one line).
 */
export function parseYacs(text: string, name = 'the config', warnings: string[] = []): ConfigTree {
  let raw: unknown;
  // Warnings quote keys: kept back until the file has proved to be a config (never quote another file).
  const own: string[] = [];
  try {
    raw = loadPyYaml(text, (w) => own.push(`${name}: ${w}`));
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    // The parser's first line only (its later lines quote the file), and never a tag's text.
    if (/tag/i.test(e.message)) throw new ConfigError(`${name} is not valid YAML for yacs (it loads with yaml.safe_load): Unresolved tag`);
    throw new ConfigError(`${name} is not valid YAML: ${e.message.split('\n')[0]!.replace(/:\s*$/, '')}`);
  }
  if (raw === null || raw === undefined) throw new ConfigError(`${name} is empty`);
  if (!isTree(raw) || !hasConfigKeys(raw, 0)) throw new ConfigError(`${name} is not a YAML mapping of config keys`);
  warnings.push(...own);
  return decode(raw, '') as ConfigTree;
}

/**
 * yacs keys are Python attribute names (`cfg.MODEL.NAME`): a mapping whose keys are not (a password file's
 * `root:$6$…::`, prose) is some other file, refused without quoting it (issue #25).
 */
function hasConfigKeys(x: ConfigTree, depth: number): boolean {
  if (depth > 64) return false;
  for (const [k, v] of Object.entries(x)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return false;
    if (isTree(v) && !hasConfigKeys(v as ConfigTree, depth + 1)) return false;
  }
  return true;
}

/** Flattens to dotted keys → leaf values (lists are leaves). */
export function flatten(tree: ConfigTree, prefix = ''): Map<string, ConfigValue> {
  const out = new Map<string, ConfigValue>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isTree(v)) for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
    else out.set(key, v);
  }
  return out;
}

/** Deep merge, `over` wins (fast-reid `_BASE_` semantics: the child file overrides its base). */
export function mergeTrees(base: ConfigTree, over: ConfigTree): ConfigTree {
  const out: ConfigTree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isTree(b) && isTree(v) ? mergeTrees(b, v) : v;
  }
  return out;
}
