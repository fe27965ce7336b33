/**
 * What a framework's output folder holds, as the importer needs it (framework readers: fastreid-folder.ts,
 * rsb-folder.ts). Losses and metrics are the framework's numbers, unchanged except percent → fraction.
 */
import { FileError, readTextFile } from '../../io/files.js';

export type ExternalFramework = 'fastreid' | 'rsb';
export const FRAMEWORK_LABELS: Record<ExternalFramework, string> = { fastreid: 'fast-reid', rsb: 'reid-strong-baseline' };

/** One logged training iteration. `step` counts iterations from 1; `epoch` (1-based) and `iter` (1-based in the epoch) as the framework counts them. */
export interface ExternalStep {
  step: number;
  epoch?: number;
  iter?: number;
  iters?: number;
  loss: number;
  acc?: number;
  lr?: number;
  seconds?: number;
  /** The framework's own estimate of the time left (fast-reid `eta_seconds`). */
  eta?: number;
  /** Loss terms by the app's term ids (core/training/losses.ts LOSS_TERM_IDS). */
  terms: Record<string, number>;
  /** The framework's own names (fast-reid's loss_dict keys), as logged. */
  lossDict?: Record<string, number>;
}

/** One evaluation: metrics as fractions; `epoch`: epochs completed by the evaluated weights. */
export interface ExternalEval {
  step: number | null;
  epoch: number | null;
  mAP?: number;
  rank1?: number;
  rank5?: number;
  rank10?: number;
  mINP?: number;
  /** Which file the numbers were read from. */
  source: string;
}

export interface ExternalFolder {
  framework: ExternalFramework;
  /** The config file read (fast-reid: config.yaml; RSB: the "Running with config" block of log.txt). */
  configPath: string;
  steps: ExternalStep[];
  evals: ExternalEval[];
  /** Complete lines that could not be read (skipped). */
  skippedLines: number;
  /** The last line was incomplete (still being written): left for the next read. */
  tornLine: boolean;
  itersPerEpoch: number | null;
  /** The newest checkpoint file (name inside the folder) and the epochs its weights completed. */
  checkpoint: { file: string; epoch: number | null } | null;
  warnings: string[];
}

/** The text of `path`, or null when it does not exist. Other read errors throw FileError. */
export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readTextFile(path, 'json');
  } catch (e) {
    if (e instanceof FileError && e.code === 'ENOENT') return null;
    throw e;
  }
}

/** Lines of a file being appended to: the last one counts only when it ends with a newline. */
export function completeLines(text: string): { complete: string[]; torn: boolean } {
  const parts = text.split('\n');
  const last = parts.pop()!;
  return { complete: parts, torn: last.trim().length > 0 };
}
