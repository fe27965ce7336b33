/**
 * Reads a reid-strong-baseline output folder (michuanhaohao/reid-strong-baseline `tools/train.py`,
 * OUTPUT_DIR) without changing it:
 *   log.txt   utils/logger.py's file handler: tools/train.py's "Running with config:" block (the merged
 *             yacs CfgNode, printed with str()), engine/trainer.py's per-LOG_PERIOD lines
 *             `Epoch[e] Iteration[i/n] Loss: l, Acc: a, Base Lr: lr` (ignite's running averages; epochs
 *             1-based, iterations 1-based within the epoch) and "Validation Results - Epoch: e" blocks
 *             (`mAP: x%`, `CMC curve, Rank-k  :x%`)
 *   <MODEL.NAME>_model_<N>.pth  ignite ModelCheckpoint of the whole model (torch.save(model)) every
 *             CHECKPOINT_PERIOD epochs; N counts the checkpointer's calls, one per epoch: epochs completed.
 * The whole-model pickles are read by main/weights' pickle reader, which never executes them.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { completeLines, readIfExists, type ExternalEval, type ExternalFolder, type ExternalStep } from './folder-common.js';

/** A log record's prefix (logging.Formatter "%(asctime)s %(name)s %(levelname)s: "). */
const RECORD = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \S+ [A-Z]+: /;
const STEP = /Epoch\[(\d+)\] Iteration\[(\d+)\/(\d+)\] Loss: ([-\d.eE+naninf]+), Acc: ([-\d.eE+naninf]+), Base Lr: ([-\d.eE+]+)/;

/** The "Running with config:" block of log.txt (the CfgNode's str()), or null. */
export function rsbConfigBlock(log: string): string | null {
  const lines = log.split('\n');
  const at = lines.findIndex((l) => RECORD.test(l) && l.endsWith('Running with config:'));
  if (at < 0) return null;
  const block: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (RECORD.test(l)) break;
    block.push(l);
  }
  return block.join('\n');
}

/** Reads `dir` as a reid-strong-baseline output folder; null when log.txt has no "Running with config" block. */
export async function readRsbFolder(dir: string, modelName: string): Promise<Omit<ExternalFolder, 'configPath'> | null> {
  const log = await readIfExists(join(dir, 'log.txt'));
  if (log === null || rsbConfigBlock(log) === null) return null;
  const { complete, torn } = completeLines(log);
  const steps: ExternalStep[] = [];
  const evals: ExternalEval[] = [];
  let skipped = 0;
  let ipe: number | null = null;
  let current: ExternalEval | null = null;
  for (const line of complete) {
    if (!RECORD.test(line)) continue;
    const msg = line.replace(RECORD, '');
    if (msg.startsWith('Epoch[')) {
      const m = STEP.exec(msg);
      const nums = m ? m.slice(1).map(Number) : [];
      if (!m || nums.some((v) => !Number.isFinite(v))) {
        skipped++;
        continue;
      }
      const [epoch, iter, iters, loss, acc, lr] = nums as [number, number, number, number, number, number];
      ipe = iters;
      steps.push({ step: (epoch - 1) * iters + iter, epoch, iter, iters, loss, acc, lr, terms: {} });
      continue;
    }
    const v = /^Validation Results - Epoch: (\d+)$/.exec(msg);
    if (v) {
      current = { epoch: Number(v[1]), step: null, source: 'log.txt' };
      evals.push(current);
      continue;
    }
    if (!current) continue;
    const map = /^mAP: ([\d.]+)%$/.exec(msg);
    if (map) current.mAP = Number(map[1]) / 100;
    const r = /^CMC curve, Rank-(\d+)\s*:([\d.]+)%$/.exec(msg);
    if (r && (r[1] === '1' || r[1] === '5' || r[1] === '10')) current[`rank${r[1]}` as 'rank1'] = Number(r[2]) / 100;
  }
  for (const e of evals) if (ipe && e.epoch !== null) e.step = e.epoch * ipe;
  // ModelCheckpoint's files: <MODEL.NAME>_model_<N>.pth, the newest is the largest N.
  let checkpoint: ExternalFolder['checkpoint'] = null;
  const re = new RegExp(`^${modelName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_model_(\\d+)\\.pth$`);
  for (const f of await readdir(dir)) {
    const m = re.exec(f);
    if (m && (!checkpoint || Number(m[1]) > checkpoint.epoch!)) checkpoint = { file: f, epoch: Number(m[1]) };
  }
  return { framework: 'rsb', steps, evals: evals.filter((e) => e.mAP !== undefined), skippedLines: skipped, tornLine: torn, itersPerEpoch: ipe, checkpoint, warnings: [] };
}
