/**
 * Config import, once for every host: a reid-strong-baseline / fast-reid YAML file (with its `_BASE_` chain
 * read from disk, relative to the including file as fast-reid's `load_yaml_with_base` does) → a graph
 * document with training settings, plus the keys ReID Studio does not model.
 */
import { ConfigError, importConfig, type ImportResult } from '../../core/config/index.js';
import { FileError, readTextFileSync } from '../io/files.js';

/** A config that cannot be read or imported; the message names the file and is for the user. */
export class ConfigImportError extends Error {}

/** Reads a config (or a `_BASE_`): regular files only, size-capped (main/io/files.ts; a FIFO would block). */
function readText(path: string, what: string): string {
  try {
    return readTextFileSync(path, 'config');
  } catch (e) {
    throw new Error(`cannot read ${what} ${(e as Error).message}`);
  }
}

/** A `_BASE_` file's text; throws an Error whose message is the reason alone (e.g. "no such file or folder"). */
function readBase(path: string): string {
  try {
    return readTextFileSync(path, 'config');
  } catch (e) {
    throw new Error(e instanceof FileError ? e.reason : (e as Error).message);
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
    // core/config/import.ts names the _BASE_ and its includer ("cannot read _BASE_ X (from Y): …"): the reason only here.
    return importConfig(text, { path: file, resolveBase: readBase });
  } catch (e) {
    // Most of core's messages already name the file ("X is not valid YAML"): it is said once.
    if (e instanceof ConfigError) throw new ConfigImportError(e.message.includes(file) ? e.message : `${file}: ${e.message}`);
    throw e;
  }
}
