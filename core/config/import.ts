import type { ImportResult } from './common.js';
import { FR_MARKERS, importFastreid } from './fastreid.js';
import { importRsb, RSB_MARKERS } from './rsb.js';
import { ConfigError, flatten, mergeTrees, parseYacs, type ConfigTree } from './yacs.js';

export interface ImportOptions {
  /** Where the config came from (for `_BASE_` paths and messages); POSIX or Windows separators. */
  path?: string;
  /** Reads a `_BASE_` file. Receives the path resolved against the including file's folder. */
  resolveBase?: (path: string) => string;
}

const MAX_BASE_DEPTH = 16;

function dirOf(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i < 0 ? '' : p.slice(0, i + 1);
}

/** Removes `.` segments and folds `..` into the segment before it (a path's POSIX normal form). */
function normalize(path: string): string {
  const abs = /^[/\\]/.test(path);
  const out: string[] = [];
  for (const seg of path.split(/[/\\]+/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (seg === '..' && abs) continue;
    else out.push(seg);
  }
  return (abs ? '/' : '') + out.join('/');
}

/** Joins and normalises `.`/`..` segments, as fast-reid's os.path.join(os.path.dirname(file), base). */
export function resolveRelative(from: string | undefined, rel: string): string {
  if (/^([/\\]|[A-Za-z]:[/\\])/.test(rel) || !from) return rel;
  return normalize(dirOf(from) + rel);
}

/** Loads a config with its `_BASE_` chain merged in (fastreid/config/config.py `load_yaml_with_base`). */
function loadWithBase(tree: ConfigTree, opts: ImportOptions, seen: string[], warnings: string[]): ConfigTree {
  const name = opts.path ?? 'the config';
  const base = tree._BASE_;
  if (base === undefined) return tree;
  if (typeof base !== 'string' || !base) throw new ConfigError(`${name}: _BASE_ must be a file path`);
  // A path cannot hold a NUL byte (the file system would refuse it with a runtime's own message).
  if (base.includes('\0')) throw new ConfigError('_BASE_ is not a valid file path (it holds a NUL character)');
  const basePath = resolveRelative(opts.path, base);
  if (!opts.resolveBase) throw new ConfigError(`${name} inherits from ${base} (_BASE_), which cannot be read here; import it from a file`);
  if (seen.includes(basePath)) throw new ConfigError(`_BASE_ cycle: ${[...seen, basePath].join(' → ')}`);
  if (seen.length >= MAX_BASE_DEPTH) throw new ConfigError(`${name}: _BASE_ chain deeper than ${MAX_BASE_DEPTH} files`);
  let baseText: string;
  try {
    baseText = opts.resolveBase(basePath);
  } catch (e) {
    throw new ConfigError(`cannot read _BASE_ ${basePath} (from ${name}): ${(e as Error).message}`);
  }
  const parent = loadWithBase(parseYacs(baseText, basePath, warnings), { ...opts, path: basePath }, [...seen, basePath], warnings);
  const { _BASE_: _drop, ...own } = tree;
  return mergeTrees(parent, own);
}

function detect(keys: string[], name: string): 'rsb' | 'fastreid' {
  const hit = (markers: string[]) => keys.filter((k) => markers.some((m) => (m.endsWith('.') ? k.startsWith(m) : k === m)));
  const rsb = hit(RSB_MARKERS);
  const fr = hit(FR_MARKERS);
  if (rsb.length && fr.length)
    throw new ConfigError(
      `${name} mixes reid-strong-baseline keys (${rsb.slice(0, 3).join(', ')}) and fast-reid keys (${fr.slice(0, 3).join(', ')}); neither framework would load it`,
    );
  if (rsb.length) return 'rsb';
  if (fr.length) return 'fastreid';
  throw new ConfigError(
    // Keys both frameworks have (INPUT.SIZE_TRAIN, SOLVER.BASE_LR) do not tell them apart: say so, not "neither".
    `${name} is not a reid-strong-baseline or fast-reid config: none of its keys (${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''}) is one that only one of them has (add MODEL.NAME for reid-strong-baseline or MODEL.META_ARCHITECTURE for fast-reid)`,
  );
}

/**
 * A reid-strong-baseline or fast-reid YAML config → graph document with training settings. The framework
 * is recognised from its keys. Throws ConfigError (with a message for the user) on bad input.
 */
export function importConfig(text: string, opts: ImportOptions = {}): ImportResult {
  const name = opts.path ?? 'the config';
  const yamlWarnings: string[] = [];
  const own = parseYacs(text, name, yamlWarnings);
  const flat = flatten(loadWithBase(own, opts, opts.path ? [normalize(opts.path)] : [], yamlWarnings));
  const framework = detect('_BASE_' in own ? ['_BASE_', ...flat.keys()] : [...flat.keys()], name);
  const result = framework === 'rsb' ? importRsb(flat) : importFastreid(flat);
  result.warnings.unshift(...yamlWarnings);
  return result;
}
