/** Helpers for the `eval` command: eval.json writing and a one-screen text report of an EvalResult. */
import { writeFileAtomic } from '../io/files.js';
import type { EvalResult } from '../training/eval/metrics.js';

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

/** Writes `eval.json` atomically (temp file + rename), so readers never see a partial file. */
export async function writeEvalJson(path: string, result: EvalResult, extra: Record<string, unknown> = {}): Promise<void> {
  await writeFileAtomic(path, JSON.stringify({ ...result, ...extra }, null, 2) + '\n');
}

/** Human-readable report: mAP, rank-1/5/10, mINP and the query counts. */
export function formatEvalResult(r: EvalResult): string {
  const lines = [
    `mAP      ${pct(r.mAP)}`,
    `rank-1   ${pct(r.rank1)}`,
    `rank-5   ${pct(r.rank5)}`,
    `rank-10  ${pct(r.rank10)}`,
    `mINP     ${pct(r.mINP)}`,
    `queries  ${r.numValidQuery} evaluated of ${r.numQuery} (${r.numSkippedQuery} without a cross-camera match); gallery ${r.numGallery}`,
  ];
  if (r.metric) lines.push(`distance ${r.metric}${r.reRanking ? ' + k-reciprocal re-ranking (k1 20, k2 6, λ 0.3)' : ''}`);
  if (r.seconds !== undefined) lines.push(`time     ${r.seconds.toFixed(2)} s`);
  return lines.join('\n');
}
