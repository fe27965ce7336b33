/**
 * Reads a fast-reid output folder (JDAI-CV/fast-reid `tools/train_net.py`, OUTPUT_DIR) without changing it:
 *   config.yaml      cfg.dump() of the merged config (fastreid/engine/defaults.py default_setup)
 *   metrics.json     one JSON object per line (fastreid/utils/events.py JSONWriter): `iteration` (0-based),
 *                    each `loss_*` of the model's loss_dict, `total_loss`, `lr`, `time`, `cls_accuracy`, and
 *                    on the iteration after an epoch's evaluation its `Rank-1/5/10`, `mAP`, `mINP` (percent)
 *   log.txt          CommonMetricPrinter lines `epoch/iter: E/I` and the evaluation tables
 *                    (fastreid/evaluation/testing.py print_csv_format, tabulate "pipe")
 *   last_checkpoint  the newest checkpoint's file name (fastreid/utils/checkpoint.py tag_last_checkpoint)
 *   model_XXXX.pth   `{'model', 'optimizer', 'scheduler' | 'lr_sched', 'epoch' | 'iteration', …}` after epoch XXXX
 *                    (0-based; hooks.PeriodicCheckpointer), model_final.pth after the last epoch.
 * Iterations → epochs as fast-reid counts them: iteration i (0-based) is in epoch ⌊i / ipe⌋ (0-based), with
 * ipe = len(train set) // IMS_PER_BATCH (defaults.py), recovered from the first evaluation line (the
 * evaluation after epoch EVAL_PERIOD − 1 is stored at iteration EVAL_PERIOD·ipe − 1) or from log.txt's
 * `epoch/iter` pairs. A torn last line (the trainer is still writing) is left for the next read.
 */
import { join } from 'node:path';
import { completeLines, readIfExists, type ExternalEval, type ExternalFolder, type ExternalStep } from './folder-common.js';
import { lossTermByFastreidDictKey } from './loss-names.js';

const EVAL_KEYS: Record<string, 'rank1' | 'rank5' | 'rank10' | 'mAP' | 'mINP'> = { 'Rank-1': 'rank1', 'Rank-5': 'rank5', 'Rank-10': 'rank10', mAP: 'mAP', mINP: 'mINP' };

/** `epoch/iter: E/I` pairs of CommonMetricPrinter lines (fastreid/utils/events.py). */
function epochIterPairs(log: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const m of log.matchAll(/epoch\/iter: (\d+)\/(\d+)/g)) out.push([Number(m[1]), Number(m[2])]);
  return out;
}

/** The evaluation tables of log.txt, in order: {column → value}; values in percent. */
function logEvalTables(log: string): Array<Record<string, number>> {
  const lines = log.split('\n');
  const out: Array<Record<string, number>> = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.includes('Evaluation results in csv format')) continue;
    const cells = (s: string | undefined) => (s ?? '').trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
    const head = cells(lines[i + 1]);
    let j = i + 2;
    if (/^[|:\s-]+$/.test(lines[j] ?? '')) j++;
    const row = cells(lines[j]);
    if (head[0] !== 'Dataset' || row.length !== head.length) continue;
    const rec: Record<string, number> = {};
    head.forEach((h, k) => {
      const v = Number(row[k]);
      if (k > 0 && Number.isFinite(v)) rec[h] = v;
    });
    out.push(rec);
  }
  return out;
}

/**
 * Iterations per epoch: from the first evaluation line and EVAL_PERIOD when there is one, else the tightest
 * integer the log's `epoch/iter` pairs allow (E·ipe ≤ I < (E+1)·ipe). Null when neither says.
 */
function itersPerEpoch(firstEvalIteration: number | undefined, evalPeriod: number, pairs: Array<[number, number]>): { ipe: number | null; exact: boolean } {
  if (firstEvalIteration !== undefined && evalPeriod > 0 && (firstEvalIteration + 1) % evalPeriod === 0) return { ipe: (firstEvalIteration + 1) / evalPeriod, exact: true };
  let lo = 1;
  let hi = Infinity;
  for (const [e, i] of pairs) {
    lo = Math.max(lo, Math.ceil((i + 1) / (e + 1)));
    if (e > 0) hi = Math.min(hi, Math.floor(i / e));
  }
  if (!pairs.length) return { ipe: null, exact: false };
  return { ipe: lo, exact: lo === hi };
}

/** Reads `dir` as a fast-reid output folder; null when it holds neither config.yaml nor metrics.json. */
export async function readFastreidFolder(dir: string, config: { evalPeriod: number; maxEpoch: number }): Promise<Omit<ExternalFolder, 'configPath'> | null> {
  const metricsText = await readIfExists(join(dir, 'metrics.json'));
  const log = (await readIfExists(join(dir, 'log.txt'))) ?? '';
  const lines = metricsText === null ? { complete: [], torn: false } : completeLines(metricsText);
  const records: Array<Record<string, unknown>> = [];
  let skipped = 0;
  for (const line of lines.complete) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as unknown;
      if (r && typeof r === 'object' && typeof (r as { iteration?: unknown }).iteration === 'number') records.push(r as Record<string, unknown>);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  const firstEval = records.find((r) => typeof r.mAP === 'number');
  const pairs = epochIterPairs(log);
  const { ipe, exact } = itersPerEpoch(firstEval?.iteration as number | undefined, config.evalPeriod, pairs);
  const warnings: string[] = [];
  if (ipe === null && records.length) warnings.push('iterations per epoch could not be recovered (no evaluation line, no epoch/iter lines in log.txt): epochs are not shown');
  else if (ipe !== null && !exact) warnings.push(`iterations per epoch recovered from log.txt as at least ${ipe} (not exact)`);

  const steps: ExternalStep[] = [];
  const evals: ExternalEval[] = [];
  for (const r of records) {
    const it = r.iteration as number;
    const epoch0 = ipe ? Math.floor(it / ipe) : undefined;
    const losses = Object.entries(r).filter(([k, v]) => k.startsWith('loss_') && typeof v === 'number') as Array<[string, number]>;
    if (losses.length) {
      const terms: Record<string, number> = {};
      for (const [k, v] of losses) {
        const t = lossTermByFastreidDictKey(k);
        if (t) terms[t] = v;
      }
      const total = typeof r.total_loss === 'number' ? r.total_loss : losses.reduce((a, [, v]) => a + v, 0);
      steps.push({
        step: it + 1,
        ...(epoch0 !== undefined ? { epoch: epoch0 + 1, iter: (it % ipe!) + 1, iters: ipe! } : {}),
        loss: total,
        ...(typeof r.cls_accuracy === 'number' ? { acc: r.cls_accuracy } : {}),
        ...(typeof r.lr === 'number' ? { lr: r.lr } : {}),
        ...(typeof r.time === 'number' ? { seconds: r.time } : {}),
        ...(typeof r.eta_seconds === 'number' ? { eta: r.eta_seconds } : {}),
        terms,
        lossDict: Object.fromEntries(losses),
      });
    }
    if (typeof r.mAP === 'number') {
      const e: ExternalEval = { step: it + 1, epoch: ipe ? Math.round((it + 1) / ipe) : null, source: 'metrics.json' } as ExternalEval;
      for (const [k, id] of Object.entries(EVAL_KEYS)) if (typeof r[k] === 'number') e[id] = (r[k] as number) / 100;
      evals.push(e);
    }
  }
  // fast-reid's JSONWriter drops scalars put at an iteration it already wrote: the evaluation after the last
  // epoch (EvalHook.after_train, at the last iteration) reaches log.txt only. Log tables beyond the
  // metrics.json evaluations are the later scheduled evaluations: epochs EVAL_PERIOD, 2·EVAL_PERIOD, …, MAX_EPOCH.
  const tables = logEvalTables(log);
  const schedule: number[] = [];
  for (let e = config.evalPeriod; config.evalPeriod > 0 && e < config.maxEpoch; e += config.evalPeriod) schedule.push(e);
  schedule.push(config.maxEpoch);
  for (let k = evals.length; k < tables.length && k < schedule.length; k++) {
    const t = tables[k]!;
    if (typeof t.mAP !== 'number') continue;
    const e: ExternalEval = { step: ipe ? schedule[k]! * ipe : null, epoch: schedule[k]!, source: 'log.txt' } as ExternalEval;
    for (const [key, id] of Object.entries(EVAL_KEYS)) if (typeof t[key] === 'number') e[id] = t[key]! / 100;
    evals.push(e);
  }
  const lastCheckpoint = (await readIfExists(join(dir, 'last_checkpoint')))?.trim() || null;
  if (metricsText === null && !lastCheckpoint && !log) return null;
  return { framework: 'fastreid', steps, evals, skippedLines: skipped, tornLine: lines.torn, itersPerEpoch: ipe, checkpoint: lastCheckpoint ? { file: lastCheckpoint, epoch: checkpointEpoch(lastCheckpoint, config.maxEpoch) } : null, warnings };
}

/** Epochs completed by a checkpoint file of fast-reid's PeriodicCheckpointer (model_XXXX: after epoch XXXX, 0-based). */
export function checkpointEpoch(file: string, maxEpoch: number): number | null {
  if (/^model_final\.pth$/.test(file)) return maxEpoch;
  const m = /^model_(\d+)\.pth$/.exec(file);
  return m ? Number(m[1]) + 1 : null;
}
