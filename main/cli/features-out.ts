/**
 * Feature files written by `embed --out`, chosen by extension:
 * - `.npy`: float32 N×D in NumPy's own format (version 1.0 header, C order, little endian), with the file
 *   list next to it in `<out>.files.txt` (one path per line, row order) — `np.load` reads it as is.
 * - `.safetensors`: one F32 tensor `features` [N, D]; the file list, backend and dimension in the header's
 *   `__metadata__` (JSON-encoded strings, as the format requires).
 * - `.json`: `{ files, features, dim, backend, load, backendReport }` — the README contract. Built as
 *   bytes row by row, so it is not bounded by the JavaScript string limit (~12k 2048-d rows failed before).
 */
import { extname } from 'node:path';
import { writeFileAtomic } from '../io/files.js';
import { fsPath } from '../io/raw-names.js';
import { writeCheckpoint } from '../weights/index.js';
import { CliError } from './errors.js';

export const FEATURE_FORMATS = { '.npy': 'npy', '.safetensors': 'safetensors', '.json': 'json' } as const;
export type FeatureFormat = (typeof FEATURE_FORMATS)[keyof typeof FEATURE_FORMATS];

/** The format for an --out path, or a one-line error naming the accepted extensions. */
export function featureFormat(out: string): FeatureFormat {
  const f = FEATURE_FORMATS[extname(out).toLowerCase() as keyof typeof FEATURE_FORMATS];
  if (!f) throw new CliError(`--out must end in ${Object.keys(FEATURE_FORMATS).join(', ')} (got "${out}")`);
  return f;
}

/** NumPy .npy v1.0 bytes of a float32 matrix [rows, dim] (format: numpy/lib/format.py). */
export function npyBytes(data: Float32Array, rows: number, dim: number): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces and '\n' to a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

export interface FeatureSet {
  files: string[];
  /** Row-major float32 [files.length, dim]. */
  data: Float32Array;
  dim: number;
  /** Extra top-level fields of the JSON format (backend, load report, …). */
  extra: Record<string, unknown>;
}

/** Writes `set` to `out` in the format its extension names (atomically); returns the paths written. */
export async function writeFeatures(out: string, set: FeatureSet): Promise<string[]> {
  const { files, data, dim } = set;
  const format = featureFormat(out);
  if (format === 'npy') {
    await writeFileAtomic(out, npyBytes(data, files.length, dim));
    const list = `${out}.files.txt`;
    // A name that is not valid UTF-8 is written as its own bytes (main/io/raw-names.ts), as `ls` would list it.
    await writeFileAtomic(list, files.map((f) => Buffer.concat([Buffer.from(fsPath(f)), Buffer.from('\n')])));
    return [out, list];
  }
  if (format === 'safetensors') {
    const metadata = { files: JSON.stringify(files), dim: String(dim), ...Object.fromEntries(Object.entries(set.extra).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])) };
    await writeCheckpoint(out, new Map([['features', { shape: [files.length, dim], data }]]), { format: 'safetensors', metadata });
    return [out];
  }
  const parts: Buffer[] = [Buffer.from(`{"files":${JSON.stringify(files)},"features":[`)];
  for (let i = 0; i < files.length; i++) {
    const row = Array.from(data.subarray(i * dim, (i + 1) * dim));
    parts.push(Buffer.from((i ? ',' : '') + JSON.stringify(row)));
  }
  const rest = JSON.stringify({ dim, ...set.extra });
  parts.push(Buffer.from(`],${rest.slice(1)}`));
  await writeFileAtomic(out, Buffer.concat(parts));
  return [out];
}
