/**
 * `runs.compareQueries`: two runs' last evaluations on the same query / gallery images, query by query —
 * "what did IBN-a fix, and what did it break?". Per query: AP in run A and B (the same per-query APs whose
 * means are the runs' mAPs), ΔAP = B − A, the rank of the first true match in each, and both top-k lists.
 */
import { ApiError, type CallOutput, type CallParsed } from '../../core/api/contract.js';
import type { RunDir } from '../runs/store/run-dir.js';
import { rankListOf, runEvaluation } from './run-queries.js';

type Evaluation = Awaited<ReturnType<typeof runEvaluation>>;

/** Refuses two evaluations of different query / gallery lists (a per-query comparison would be meaningless). */
function checkSameEvaluation(a: Evaluation, b: Evaluation, names: [string, string]): void {
  const same = (x: { path: string; pid: number; camid: number }[], y: { path: string; pid: number; camid: number }[]) =>
    x.length === y.length && x.every((r, i) => r.path === y[i]!.path && r.pid === y[i]!.pid && r.camid === y[i]!.camid);
  if (!same(a.feats.query, b.feats.query) || !same(a.feats.gallery, b.feats.gallery))
    throw new ApiError(
      'E_BAD_REQUEST',
      `runs ${names[0]} and ${names[1]} were last evaluated on different query / gallery images (${a.feats.query.length} × ${a.feats.gallery.length} vs ${b.feats.query.length} × ${b.feats.gallery.length}): evaluate both on the same dataset (Evaluate on…) to compare them query by query`,
    );
}

export async function compareQueriesPage(runs: [RunDir, RunDir], i: CallParsed<'runs.compareQueries'>, allowImages: (path: string) => void): Promise<CallOutput<'runs.compareQueries'>> {
  const a = await runEvaluation(runs[0]);
  const b = await runEvaluation(runs[1]);
  checkSameEvaluation(a, b, i.runIds);
  const Q = a.q.ap.length;
  const valid: number[] = [];
  const diff = new Float64Array(Q);
  const counts = { improved: 0, regressed: 0, unchanged: 0, bothFail: 0 };
  const bothFail = (qi: number) => a.q.firstMatch[qi]! > 0 && b.q.firstMatch[qi]! > 0;
  for (let qi = 0; qi < Q; qi++) {
    const x = a.q.ap[qi]!;
    const y = b.q.ap[qi]!;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    valid.push(qi);
    diff[qi] = y - x;
    if (y > x) counts.improved++;
    else if (y < x) counts.regressed++;
    else counts.unchanged++;
    if (bothFail(qi)) counts.bothFail++;
  }
  let idx = valid;
  if (i.filter === 'improved') idx = idx.filter((qi) => diff[qi]! > 0);
  else if (i.filter === 'regressed') idx = idx.filter((qi) => diff[qi]! < 0);
  else if (i.filter === 'both-fail') idx = idx.filter(bothFail);
  if (i.sort !== 'query') {
    const sign = i.sort === 'diff-asc' ? 1 : -1;
    idx = [...idx].sort((p, q) => sign * (diff[p]! - diff[q]!) || p - q);
  }
  const items = idx.slice(i.offset, i.offset + i.limit).map((qi) => {
    const r = a.feats.query[qi]!;
    return {
      index: qi,
      query: { path: r.path, pid: r.pid, camid: r.camid },
      ap: [a.q.ap[qi]!, b.q.ap[qi]!] as [number, number],
      diff: diff[qi]!,
      firstMatchRank: [a.q.firstMatch[qi]! + 1, b.q.firstMatch[qi]! + 1] as [number, number],
      results: [rankListOf(a.feats, a.q, qi, i.k), rankListOf(b.feats, b.q, qi, i.k)] as [ReturnType<typeof rankListOf>, ReturnType<typeof rankListOf>],
    };
  });
  for (const f of [a.feats, b.feats]) for (const r of [...f.query, ...f.gallery]) allowImages(r.path);
  return { numQuery: Q, numValidQuery: valid.length, counts, mAP: [a.q.mAP, b.q.mAP], total: idx.length, offset: i.offset, items };
}
