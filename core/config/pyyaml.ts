import { isAlias, isMap, isScalar, isSeq, parseDocument, visit, type Alias, type Document, type Node } from 'yaml';

/**
 * YAML read exactly as PyYAML's `yaml.safe_load` reads it — what yacs (and so reid-strong-baseline and
 * fast-reid) sees. The `yaml` package parses the text (YAML 1.1 syntax, failsafe schema: every scalar a
 * string); the scalars are then resolved and constructed here with PyYAML 6's SafeLoader rules
 * (yaml/resolver.py implicit resolvers, yaml/constructor.py SafeConstructor):
 *  - booleans are yes/no/true/false/on/off in three casings only (`y`, `n` stay strings);
 *  - ints: `0b…`, `0…` octal, `0x…`, decimal, and sexagesimal `1:30` (= 90), `_` ignored;
 *  - floats need a `.` and a *signed* exponent (`1.0e-4`), `.5` but not `-.5`; `1e-4` stays a string;
 *    `.inf` / `.nan`; sexagesimal `1:30.5`;
 *  - null: `~`, `null`, empty; dates (`2001-12-14`) are timestamps, which yacs refuses;
 *  - a repeated mapping key keeps the LAST value (SafeConstructor.construct_mapping assigns in order);
 *    that is reported through `warn`, since it is almost always a hand edit gone wrong;
 *  - merge keys `<<` (a mapping or a list of mappings; explicit keys win, then the first listed mapping);
 *  - tags other than the standard scalar / seq / map ones are refused (safe_load has no constructor).
 * Porting note: PyYAML distinguishes int and float; here both are JS numbers (`resolvePlain` keeps the tag).
 *
 * Bounds: at most MAX_CONFIG_CHARS of text, MAX_NODES constructed values (alias expansion included, so a
 * "billion laughs" file fails fast) and MAX_DEPTH nesting levels. Every failure is a YamlError.
 */

export class YamlError extends Error {}

/** Largest config text accepted: real RSB / FR configs are a few KB, and parsing is ~10 s per MiB here. */
export const MAX_CONFIG_CHARS = 64 << 10;
/** Most values one config may construct, counting each alias expansion again. */
export const MAX_NODES = 100_000;
/** Deepest nesting of mappings / sequences. */
export const MAX_DEPTH = 64;

export type PyTag = 'str' | 'int' | 'float' | 'bool' | 'null' | 'timestamp' | 'value' | 'merge';
export type PyScalar = string | number | boolean | null;
export type PyValue = PyScalar | PyValue[] | { [k: string]: PyValue };

// yaml/resolver.py, Resolver implicit resolvers (in PyYAML's order).
const BOOL_RE = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const FLOAT_RE =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT_RE = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const NULL_RE = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP_RE =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;

/** The tag PyYAML's implicit resolver gives a plain (unquoted) scalar. */
export function resolvePlainTag(text: string): PyTag {
  if (BOOL_RE.test(text)) return 'bool';
  if (FLOAT_RE.test(text)) return 'float';
  if (INT_RE.test(text)) return 'int';
  if (text === '<<') return 'merge';
  if (NULL_RE.test(text)) return 'null';
  if (TIMESTAMP_RE.test(text)) return 'timestamp';
  if (text === '=') return 'value';
  return 'str';
}

const sexagesimal = (digits: string[]): number => digits.reduce((acc, d) => acc * 60 + Number(d), 0);

/** SafeConstructor.construct_yaml_int. */
function constructInt(text: string): number {
  let v = text.replace(/_/g, '');
  let sign = 1;
  if (v[0] === '-') sign = -1;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  let n: number;
  if (v === '0') n = 0;
  else if (v.startsWith('0b')) n = parseInt(v.slice(2), 2);
  else if (v.startsWith('0x')) n = parseInt(v.slice(2), 16);
  else if (v[0] === '0') n = parseInt(v, 8);
  else if (v.includes(':')) n = sexagesimal(v.split(':'));
  else n = Number(v);
  if (!Number.isFinite(n)) throw new YamlError(`${text} is not an integer`);
  return n === 0 ? 0 : sign * n; // Python ints have no -0
}

/** SafeConstructor.construct_yaml_float. */
function constructFloat(text: string): number {
  let v = text.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (v[0] === '-') sign = -1;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  if (v === '.inf') return sign * Infinity;
  if (v === '.nan') return NaN;
  if (v.includes(':')) return sign * sexagesimal(v.split(':'));
  const n = Number(v);
  if (Number.isNaN(n)) throw new YamlError(`${text} is not a float`);
  return sign * n;
}

/** A scalar of the given tag as PyYAML constructs it (timestamps and `=` are refused: yacs cannot hold them). */
export function constructScalar(tag: PyTag, text: string): PyScalar {
  switch (tag) {
    case 'bool':
      if (!BOOL_RE.test(text)) throw new YamlError(`${text} is not a boolean`);
      return /^(?:yes|true|on)$/i.test(text);
    case 'int':
      return constructInt(text);
    case 'float':
      return constructFloat(text);
    case 'null':
      return null;
    case 'str':
    case 'merge':
      return text;
    case 'timestamp':
      throw new YamlError(`${text} is a date, which yacs does not accept as a config value; quote it`);
    case 'value':
      throw new YamlError(`could not determine a constructor for the tag 'tag:yaml.org,2002:value' (a bare '='); quote it`);
  }
}

/** A plain scalar resolved and constructed as PyYAML does (`{tag, value}`). */
export function resolvePlain(text: string): { tag: PyTag; value: PyScalar } {
  const tag = resolvePlainTag(text);
  return { tag, value: constructScalar(tag, text) };
}

const STD = 'tag:yaml.org,2002:';
const EXPLICIT: Record<string, PyTag> = { str: 'str', int: 'int', float: 'float', bool: 'bool', null: 'null' };

function describeKey(v: PyValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

class Builder {
  private count = 0;
  /** Each alias's target: the last node with its anchor before it (one pass; `Alias.resolve` walks the whole document per call). */
  private targets = new Map<Alias, Node>();
  constructor(
    doc: Document,
    private warn: (msg: string) => void,
  ) {
    const anchors = new Map<string, Node>();
    visit(doc, {
      Node: (_key, node) => {
        if (isAlias(node)) {
          const target = anchors.get(node.source);
          if (target) this.targets.set(node, target);
        } else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
  }

  private resolve(alias: Alias): Node {
    const target = this.targets.get(alias);
    if (!target) throw new YamlError(`unknown alias *${alias.source}`);
    return target;
  }

  private tick(): void {
    if (++this.count > MAX_NODES) throw new YamlError(`more than ${MAX_NODES} values after expanding aliases (anchors * repeated too often)`);
  }

  private tagOf(node: Node): string | undefined {
    const t = node.tag;
    if (t === undefined || t === '!') return t;
    if (t.startsWith(STD)) {
      const short = t.slice(STD.length);
      if (short in EXPLICIT || short === 'seq' || short === 'map') return short;
      return `!!${short}`;
    }
    return t;
  }

  build(node: Node | null | undefined, depth: number, path: string): PyValue {
    this.tick();
    if (depth > MAX_DEPTH) throw new YamlError(`nested more than ${MAX_DEPTH} levels deep`);
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return this.build(this.resolve(node), depth + 1, path);
    const tag = this.tagOf(node);
    if (isScalar(node)) {
      const text = node.value === null || node.value === undefined ? '' : String(node.value);
      if (tag !== undefined && tag !== '!' && !(tag in EXPLICIT)) throw new YamlError(`Unresolved tag: ${tag}${path ? ` (at ${path})` : ''}`);
      if (tag !== undefined && tag !== '!') return constructScalar(EXPLICIT[tag]!, text);
      if (node.type !== 'PLAIN' || tag === '!') return text;
      return constructScalar(resolvePlainTag(text), text);
    }
    if (isSeq(node)) {
      if (tag !== undefined && tag !== 'seq') throw new YamlError(`Unresolved tag: ${tag}${path ? ` (at ${path})` : ''}`);
      return node.items.map((it, i) => this.build(it as Node, depth + 1, `${path}[${i}]`));
    }
    if (isMap(node)) {
      if (tag !== undefined && tag !== 'map') throw new YamlError(`Unresolved tag: ${tag}${path ? ` (at ${path})` : ''}`);
      return this.mapping(node, depth, path);
    }
    throw new YamlError(`unsupported YAML node${path ? ` at ${path}` : ''}`);
  }

  /** SafeConstructor.flatten_mapping + construct_mapping: merged entries first, own keys override in order. */
  private entries(node: Node, depth: number, path: string): { merged: [string, PyValue][]; own: [string, PyValue][] } {
    if (!isMap(node)) throw new YamlError(`expected a mapping for merging${path ? ` at ${path}` : ''}`);
    const merged: [string, PyValue][] = [];
    const own: [string, PyValue][] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      if (isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.tag === undefined && keyNode.value === '<<') {
        let value = pair.value as Node | null;
        if (isAlias(value)) value = this.resolve(value);
        const subs = isSeq(value) ? value.items.map((it) => (isAlias(it) ? this.resolve(it) : (it as Node))) : [value];
        // PyYAML reverses the list: with later entries overriding earlier ones, the first listed mapping wins.
        for (const sub of [...subs].reverse()) {
          if (!sub) throw new YamlError(`expected a mapping or list of mappings for merging${path ? ` at ${path}` : ''}`);
          this.tick();
          const e = this.entries(sub, depth + 1, path);
          merged.push(...e.merged, ...e.own);
        }
        continue;
      }
      const key = this.build(keyNode, depth + 1, path);
      if (key === '__proto__') throw new YamlError(`__proto__${path ? ` under ${path}` : ''} is not a config key`);
      if (typeof key !== 'string')
        throw new YamlError(`the key ${describeKey(key)}${path ? ` under ${path}` : ''} is read by YAML as ${key === null ? 'null' : `a ${Array.isArray(key) ? 'list' : typeof key}`}; config keys are names (quote it)`);
      own.push([key, this.build(pair.value as Node | null, depth + 1, path ? `${path}.${key}` : key)]);
    }
    return { merged, own };
  }

  private mapping(node: Node, depth: number, path: string): { [k: string]: PyValue } {
    const { merged, own } = this.entries(node, depth, path);
    const out: { [k: string]: PyValue } = Object.create(null);
    for (const [k, v] of merged) out[k] = v;
    const seen = new Set<string>();
    for (const [k, v] of own) {
      const full = path ? `${path}.${k}` : k;
      if (seen.has(k)) this.warn(`${full} appears more than once; as in PyYAML (yacs), only the last one counts`);
      seen.add(k);
      out[k] = v;
    }
    // Plain objects with the keys in order (PyYAML dicts keep insertion order).
    return { ...out };
  }
}

/**
 * Loads one YAML document as PyYAML `safe_load` does. Returns null for an empty document.
 * Throws YamlError (one line) for malformed YAML, unsupported tags or exceeded bounds.
 */
export function loadPyYaml(text: string, warn: (msg: string) => void = () => {}): PyValue {
  if (text.length > MAX_CONFIG_CHARS) throw new YamlError(`larger than ${MAX_CONFIG_CHARS >> 10} KiB; a config is a few KB`);
  if (flowDepth(text) > MAX_DEPTH) throw new YamlError(`nested more than ${MAX_DEPTH} levels deep`);
  let doc: Document;
  try {
    doc = parseDocument(text, { version: '1.1', schema: 'failsafe', uniqueKeys: false, merge: false, prettyErrors: false, logLevel: 'silent' });
  } catch (e) {
    throw new YamlError(oneLine(e));
  }
  const problem = doc.errors[0];
  if (problem) throw new YamlError(oneLine(problem));
  try {
    return new Builder(doc, warn).build(doc.contents as Node | null, 0, '');
  } catch (e) {
    if (e instanceof YamlError) throw e;
    if (e instanceof RangeError) throw new YamlError(`nested too deeply`);
    throw e;
  }
}

/** Deepest `[` / `{` nesting outside quotes and comments (a cheap bound checked before the parser runs). */
function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\n' && quote === "'") quote = '';
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]!))) quote = c;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return max;
}

const oneLine = (e: unknown): string => ((e as Error)?.message ?? String(e)).split('\n')[0]!.trim();
