/**
 * Config import, once for every host: a reid-strong-baseline / fast-reid YAML file (with its `_BASE_` chain
 * read from disk, relative to the including file as fast-reid's `load_yaml_with_base` does) → a graph
 * document with training settings, plus the keys ReID Studio does not model.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, importConfig, type ImportResult } from '../../core/config/index.js';

/** A config that cannot be read or imported; the message names the file and is for the user. */
export class ConfigImportError extends Error {}

/** YACS configs are a few KB; anything this large is not one (and is not read into memory). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

function readText(path: string, what: string): string {
  try {
    if (statSync(path).size > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MB, not a YAML config`);
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message}`);
  }
}

/** Reads and imports `file`. Throws ConfigImportError for an unreadable file or a config that is not RSB / FR. */
export function importConfigFile(file: string): ImportResult {
  let text: string;
  try {
    text = readText(file, 'config');
  } catch (e) {
    throw new ConfigImportError((e as Error).message);
  }
  try {
    return importConfig(text, { path: file, resolveBase: (p) => readText(p, '_BASE_') });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigImportError(`${file}: ${e.message}`);
    throw e;
  }
}
