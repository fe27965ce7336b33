/**
 * Per-query results of a run's last evaluation, kept next to its eval features so the UI can page
 * through the rank list of every query (AP, INP, rank of the first true match, the k nearest gallery
 * images) without re-ranking:
 *   eval-queries.json  { format, version, k, numQuery, numGallery, mAP, mINP, ap[], inp[], firstMatch[],
 *                        firstMatchIndex[], firstMatchDistance[], numMatches[] } (null for a skipped query)
 *   eval-queries.bin   int32 top[Q·k] (gallery indices, −1 pads) then float32 distance[Q·k]
 * Written by the evaluation that also wrote eval.json, from the same distance matrix (main/training/eval/metrics.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/files.js';
import type { QueryResults } from '../eval/evaluate.js';

export const EVAL_QUERIES_FORMAT = 'reid-studio-eval-queries';
const VERSION = 1;

interface Header {
  format: typeof EVAL_QUERIES_FORMAT;
  version: number;
  k: number;
  numQuery: number;
  numGallery: number;
  /** Mean of `ap` over the valid queries (= the evaluation's mAP): tells a stale file from the current one. */
  mAP: number;
  mINP: number;
  ap: (number | null)[];
  inp: (number | null)[];
  firstMatch: number[];
  firstMatchIndex: number[];
  firstMatchDistance: (number | null)[];
  numMatches: number[];
}

/** Mean over the valid (non-NaN) entries. */
function validMean(a: Float64Array): number {
  let s = 0;
  let n = 0;
  for (const v of a) {
    if (Number.isNaN(v)) continue;
    s += v;
    n++;
  }
  return n ? s / n : NaN;
}

export async function writeEvalQueries(runDir: string, q: QueryResults, numGallery: number): Promise<void> {
  const nullable = (a: Float64Array | Float32Array) => Array.from(a, (v) => (Number.isNaN(v) ? null : v));
  const header: Header = {
    format: EVAL_QUERIES_FORMAT,
    version: VERSION,
    k: q.k,
    numQuery: q.ap.length,
    numGallery,
    mAP: validMean(q.ap),
    mINP: validMean(q.inp),
    ap: nullable(q.ap),
    inp: nullable(q.inp),
    firstMatch: Array.from(q.firstMatch),
    firstMatchIndex: Array.from(q.firstMatchIndex),
    firstMatchDistance: nullable(q.firstMatchDistance),
    numMatches: Array.from(q.numMatches),
  };
  await writeFileAtomic(join(runDir, 'eval-queries.bin'), [new Uint8Array(q.top.buffer, q.top.byteOffset, q.top.byteLength), new Uint8Array(q.topDistance.buffer, q.topDistance.byteOffset, q.topDistance.byteLength)]);
  await writeFileAtomic(join(runDir, 'eval-queries.json'), JSON.stringify(header));
}

/** The stored per-query results with the mAP / mINP they average to; null when absent or not consistent. */
export type StoredQueries = QueryResults & { numGallery: number; mAP: number; mINP: number };

export async function readEvalQueries(runDir: string, numQuery: number, numGallery: number): Promise<StoredQueries | null> {
  let h: Header;
  let buf: Buffer;
  try {
    h = JSON.parse(await readFile(join(runDir, 'eval-queries.json'), 'utf8')) as Header;
    buf = await readFile(join(runDir, 'eval-queries.bin'));
  } catch {
    return null;
  }
  const Q = h.numQuery;
  if (h.format !== EVAL_QUERIES_FORMAT || h.version !== VERSION || Q !== numQuery || h.numGallery !== numGallery || !Number.isInteger(h.k) || h.k < 0) return null;
  if (buf.byteLength !== Q * h.k * 8 || [h.ap, h.inp, h.firstMatch, h.firstMatchIndex, h.firstMatchDistance, h.numMatches].some((a) => !Array.isArray(a) || a.length !== Q)) return null;
  const copy = Uint8Array.from(buf);
  const top = new Int32Array(copy.buffer, 0, Q * h.k);
  if (top.some((g) => g < -1 || g >= numGallery)) return null;
  const num = (a: (number | null)[]) => Float64Array.from(a, (v) => (v === null ? NaN : v));
  return {
    k: h.k,
    ap: num(h.ap),
    inp: num(h.inp),
    firstMatch: Int32Array.from(h.firstMatch),
    firstMatchIndex: Int32Array.from(h.firstMatchIndex),
    firstMatchDistance: Float32Array.from(num(h.firstMatchDistance)),
    numMatches: Int32Array.from(h.numMatches),
    top,
    topDistance: new Float32Array(copy.buffer, Q * h.k * 4, Q * h.k),
    numGallery,
    mAP: h.mAP,
    mINP: h.mINP,
  };
}

export type QuerySort = 'query' | 'ap-asc' | 'ap-desc';
/** 'first': queries whose rank-1 is wrong come first; 'only': only those. */
export type FailureFilter = 'all' | 'first' | 'only';

/** A query whose rank-1 gallery image is not a true match (a valid query: it has one further down). */
export const isFailure = (q: QueryResults, i: number): boolean => q.firstMatch[i]! > 0;

/**
 * The query indices of one page: ordered by query index or by AP (ties by query index; skipped queries,
 * which have no AP, last), failures first or only when asked. `total` counts the filtered list.
 */
export function pageQueries(q: QueryResults, o: { offset: number; limit: number; sort: QuerySort; failures: FailureFilter }): { total: number; indices: number[] } {
  let idx = Array.from(q.ap, (_, i) => i);
  if (o.sort !== 'query') {
    const sign = o.sort === 'ap-asc' ? 1 : -1;
    idx.sort((a, b) => {
      const x = q.ap[a]!;
      const y = q.ap[b]!;
      if (Number.isNaN(x) || Number.isNaN(y)) return Number(Number.isNaN(x)) - Number(Number.isNaN(y)) || a - b;
      return sign * (x - y) || a - b;
    });
  }
  if (o.failures === 'only') idx = idx.filter((i) => isFailure(q, i));
  else if (o.failures === 'first') idx = [...idx.filter((i) => isFailure(q, i)), ...idx.filter((i) => !isFailure(q, i))];
  return { total: idx.length, indices: idx.slice(o.offset, o.offset + o.limit) };
}
