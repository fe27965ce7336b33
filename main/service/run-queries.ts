/**
 * `runs.queries`: one page of a run's per-query results (AP, INP, first true match, top-k gallery) from
 * the files its last evaluation wrote (main/training/engine/eval-queries.ts). A run evaluated before those
 * files existed has its per-query results recomputed once from its stored eval features with the same
 * metric and normalisation (kept in memory); one evaluated with re-ranking must be evaluated again.
 */
import { ApiError, type CallOutput, type CallParsed } from '../../core/api/contract.js';
import { evaluate } from '../training/eval/evaluate.js';
import { readEvalFeatures } from '../training/engine/eval-features.js';
import { pageQueries, readEvalQueries, type StoredQueries } from '../training/engine/eval-queries.js';
import { RANK_LIST_K } from '../training/engine/evaluate-model.js';
import type { RunDir } from '../runs/store/run-dir.js';

type Features = NonNullable<Awaited<ReturnType<typeof readEvalFeatures>>>;
interface EvalJson {
  mAP?: number;
  mINP?: number;
  reRanking?: boolean;
}

/** mAP agreement of the stored per-query file with eval.json (both are float64 means of the same APs). */
const SAME_EVAL_TOL = 1e-9;

/** The last recomputed run (old run folders): key = run folder + the eval.json numbers it belongs to. */
let recomputed: { key: string; q: StoredQueries } | null = null;

const img = (r: { path: string; pid: number; camid: number }) => ({ path: r.path, pid: r.pid, camid: r.camid });

/** The top-k (≤ the stored k) rank list of query `qi`, correct matches marked. */
export function rankListOf(feats: Features, q: StoredQueries, qi: number, k: number) {
  const query = feats.query[qi]!;
  const results = [];
  for (let t = 0; t < Math.min(k, q.k); t++) {
    const gi = q.top[qi * q.k + t]!;
    if (gi < 0) break;
    const g = feats.gallery[gi]!;
    results.push({ ...img(g), match: g.pid === query.pid, distance: q.topDistance[qi * q.k + t]! });
  }
  return results;
}

/** The features and per-query results of a run's last evaluation; E_NOT_FOUND when it has none. */
export async function runEvaluation(run: RunDir): Promise<{ feats: Features; q: StoredQueries }> {
  const feats = await readEvalFeatures(run.dir);
  const ev = await run.readJson<EvalJson>('eval.json');
  if (!feats || !ev) throw new ApiError('E_NOT_FOUND', `run ${run.dir.split(/[\\/]/).pop()} has no evaluation yet`);
  return { feats, q: await queryResults(run, feats, ev) };
}

async function queryResults(run: RunDir, feats: Features, ev: EvalJson): Promise<StoredQueries> {
  const stored = await readEvalQueries(run.dir, feats.query.length, feats.gallery.length);
  if (stored && typeof ev.mAP === 'number' && Math.abs(stored.mAP - ev.mAP) <= SAME_EVAL_TOL) return stored;
  const key = `${run.dir}\n${ev.mAP}\n${ev.mINP}`;
  if (recomputed?.key === key) return recomputed.q;
  if (ev.reRanking) throw new ApiError('E_NOT_FOUND', 'this evaluation (with re-ranking) has no per-query results: evaluate the run again (Evaluate on…) to list every query');
  const m = feats.matrices();
  const r = await evaluate(m.query, m.gallery, m.queryLabels, m.galleryLabels, { metric: feats.metric, featNorm: feats.featNorm, topK: RANK_LIST_K });
  const q: StoredQueries = { ...r.queries!, numGallery: feats.gallery.length, mAP: r.mAP, mINP: r.mINP };
  recomputed = { key, q };
  return q;
}

/** One page of `runs.queries`; `allowImages` is told the dataset images the page shows (thumbnails). */
export async function runQueriesPage(run: RunDir, i: CallParsed<'runs.queries'>, allowImages: (path: string) => void): Promise<CallOutput<'runs.queries'>> {
  const { feats, q } = await runEvaluation(run);
  const { total, indices } = pageQueries(q, i);
  const num = (v: number) => (Number.isNaN(v) ? null : v);
  let numValidQuery = 0;
  let numFailures = 0;
  for (let j = 0; j < q.ap.length; j++) {
    if (q.firstMatch[j]! >= 0) numValidQuery++;
    if (q.firstMatch[j]! > 0) numFailures++;
  }
  const items = indices.map((qi) => {
    const fi = q.firstMatchIndex[qi]!;
    return {
      index: qi,
      query: img(feats.query[qi]!),
      ap: num(q.ap[qi]!),
      inp: num(q.inp[qi]!),
      firstMatchRank: q.firstMatch[qi]! >= 0 ? q.firstMatch[qi]! + 1 : null,
      numMatches: q.numMatches[qi]!,
      firstMatch: fi >= 0 ? { ...img(feats.gallery[fi]!), distance: q.firstMatchDistance[qi]! } : null,
      results: rankListOf(feats, q, qi, i.k),
    };
  });
  for (const r of [...feats.query, ...feats.gallery]) allowImages(r.path);
  return { numQuery: q.ap.length, numValidQuery, numFailures, total, offset: i.offset, mAP: q.mAP, mINP: q.mINP, items };
}
