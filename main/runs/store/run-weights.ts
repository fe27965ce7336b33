/**
 * The one resolver of "a run folder or a weights file" into weights for a graph's layers:
 *  - a run folder (`checkpoint/` inside): its last checkpoint, lossless (every slot incl. BN statistics);
 *    `RUN_DIR/best` is the run's best checkpoint by mAP (best-checkpoint.ts), read the same way;
 *  - a PyTorch (.pth / .pt / .tar) or safetensors file: through the load plan (key mapping, layouts), with
 *    its load report; the classifier is kept only when asked and its class count matches.
 * Used by evaluation, export and the CLI, so every host reads weights the same way. The values fill a weight
 * store (main/weights/store.ts) for the ONNX paths and exports; `loadRunWeights` / `loadFileWeights` fill a
 * built tfjs model (TensorFlow.js is imported by them only).
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { analyze, parseDocument, type Layer } from '../../../core/index.js';
import type { ReidModel } from '../../tfjs/index.js';
import { assertFiniteWeights, CheckpointError, NonFiniteWeightsError, planLoad, readCheckpoint as readTorchCheckpoint, type Checkpoint, type CheckpointErrorCode, type CheckpointTensor, type LoadPlan, type LoadReport, slotSpecs } from '../../weights/index.js';
import { BEST_DIR } from './best-checkpoint.js';
import { readCheckpoint, type CheckpointData } from './checkpoint.js';
import { decodeRunWeights, PYTORCH_LAYOUT, type CheckpointMeta } from './checkpoint-keys.js';
import { fsPath } from '../../io/raw-names.js';

/** Weights that cannot be read (missing path, a folder without a checkpoint, a corrupt file): a user message. */
export class WeightsSourceError extends Error {}

export interface ResolvedWeights {
  /** `${layer}/${slot}` → values in tfjs layout, re-laid-out when first read (for the tfjs model only). */
  readonly values: Map<string, Float32Array>;
  /**
   * The same slots in PyTorch layout (a file's tensors as read, a version-2 run checkpoint's as stored, a
   * version-1 one's converted once): what the weight store takes without a relayout. Always set since run
   * checkpoints decode to PyTorch layout; optional for callers that build ResolvedWeights themselves.
   */
  torch?: Map<string, Float32Array>;
  kind: 'run' | 'file';
  /** Run folders: the training step of the checkpoint. */
  step?: number;
  /** Run folders: epochs the checkpoint's weights have completed, and iterations into the next one (0 at an epoch's end). */
  epoch?: number;
  iteration?: number;
  /** Files: the load plan's report. */
  report?: LoadReport;
}

/**
 * Reads pretrained weights and plans loading them into `layers` (RSB's load_param, `train --weights`): a
 * PyTorch / safetensors file, or a training run folder (`RUN_DIR`, `RUN_DIR/best`) whose checkpoint is taken
 * as the state dict it holds (PyTorch layout, state_dict keys, weights and BatchNorm statistics; optimizer
 * moments are not weights) and planned exactly as the same run exported to a `.pth` would be (planLoad: the
 * classifier is skipped unless `keepClassifier` and its size fits, other shape mismatches stay initialised and
 * are reported). Throws CheckpointError (unreadable file; a folder without a run checkpoint, `E_CHECKPOINT_IO`;
 * a version-1 run checkpoint, in tfjs slot layout, is decoded with the run's own graph.json: without it
 * `E_UNSUPPORTED_CHECKPOINT`) or NonFiniteWeightsError (a
 * tensor the graph would load holds NaN / ±Inf).
 */
export async function planFileWeights(layers: Layer[], path: string, keepClassifier = false): Promise<LoadPlan> {
  let isDir = false;
  try {
    isDir = (await stat(fsPath(path))).isDirectory();
  } catch {
    // Missing or unreadable: the file reader names it (E_CHECKPOINT_IO).
  }
  const plan = planLoad(layers, isDir ? await runStateDict(path) : await readTorchCheckpoint(path), { keepClassifier });
  assertFiniteWeights(plan.report, path);
  return plan;
}

/**
 * The run checkpoint in the folder `path` (a run folder or its `best/`), or the error `fail` makes of why there
 * is none: unreadable (E_MALFORMED_CHECKPOINT), a run with no best checkpoint yet, a folder that holds no run
 * checkpoint (E_CHECKPOINT_IO). Messages name the path.
 */
async function runCheckpointAt(path: string, fail: (message: string, code: CheckpointErrorCode) => Error): Promise<CheckpointData<Partial<CheckpointMeta>>> {
  let saved;
  try {
    saved = await readCheckpoint<Partial<CheckpointMeta>>(path);
  } catch (e) {
    throw fail(`cannot read the run checkpoint in ${path}: ${(e as Error).message}`, 'E_MALFORMED_CHECKPOINT');
  }
  if (!saved && basename(path) === BEST_DIR && existsSync(join(dirname(path), 'run.json')))
    throw fail(`${dirname(path)} has no best checkpoint yet (it is kept when an evaluation lands during training)`, 'E_CHECKPOINT_IO');
  if (!saved) throw fail(`${path} is a folder without a run checkpoint (pass a training run folder or a .pth / .safetensors file)`, 'E_CHECKPOINT_IO');
  return saved;
}

/** A run folder's checkpoint as a state dict (main/weights Checkpoint), for planLoad. Throws CheckpointError. */
async function runStateDict(path: string): Promise<Checkpoint> {
  const saved = await runCheckpointAt(path, (message, code) => new CheckpointError(message, code));
  const tensors = new Map<string, CheckpointTensor>();
  if (saved.meta.layout === PYTORCH_LAYOUT) {
    for (const k of saved.meta.weightKeys ?? []) {
      const t = saved.tensors.get(k);
      if (t) tensors.set(k, { dtype: 'float32', shape: t.shape, data: t.data });
    }
  } else {
    // A version-1 checkpoint (tfjs slot layout) is decoded with the run's own graph, whose slots name its keys.
    const graph = [path, ...(basename(path) === BEST_DIR ? [dirname(path)] : [])].map((d) => join(d, 'graph.json')).find((g) => existsSync(fsPath(g)));
    if (!graph) throw new CheckpointError(`the run checkpoint in ${path} is in the older tfjs layout and its run's graph.json is missing, so its keys are unknown`, 'E_UNSUPPORTED_CHECKPOINT');
    let layers: Layer[];
    try {
      layers = analyze(parseDocument(await readFile(fsPath(graph), 'utf8')).graph).layers;
    } catch (e) {
      throw new CheckpointError(`the run's ${graph} cannot be read: ${(e as Error).message}`, 'E_MALFORMED_CHECKPOINT');
    }
    const { byId } = slotSpecs(layers);
    for (const [id, data] of decodeRunWeights(layers, saved).torch) {
      const spec = byId.get(id)!;
      if (data.length === spec.shape.reduce((a, b) => a * b, 1)) tensors.set(spec.key, { dtype: 'float32', shape: spec.shape, data });
    }
  }
  if (!tensors.size) throw new CheckpointError(`the run checkpoint in ${path} holds no model weights`, 'E_MALFORMED_CHECKPOINT');
  return { format: 'reid-studio-run', tensors };
}

/**
 * Reads the weights at `path` for `layers`. Throws WeightsSourceError (message names the path) when the
 * path does not exist or is a folder without a run checkpoint; CheckpointError (main/weights) when a file
 * is not a readable PyTorch / safetensors checkpoint; NonFiniteWeightsError when a tensor it would load is not finite.
 */
export async function resolveWeights(path: string, layers: Layer[], opts: { keepClassifier?: boolean } = {}): Promise<ResolvedWeights> {
  let isDir: boolean;
  try {
    isDir = (await stat(fsPath(path))).isDirectory();
  } catch (e) {
    throw new WeightsSourceError(`cannot read weights ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}`);
  }
  if (isDir) {
    const saved = await runCheckpointAt(path, (message) => new WeightsSourceError(message));
    let decoded;
    try {
      decoded = decodeRunWeights(layers, saved);
    } catch (e) {
      throw new WeightsSourceError(`the run checkpoint in ${path} does not fit the graph: ${(e as Error).message}`);
    }
    const { torch } = decoded;
    if (!torch.size) throw new WeightsSourceError(`the run checkpoint in ${path} holds no model weights`);
    // A damaged tensors.bin can hold NaN / ±Inf, or a negative BatchNorm variance: every consumer (eval, embed,
    // export) would write numbers computed from it, so it is the file's error, named as pretrained files' are.
    const bad = [...torch].filter(([k, v]) => v.some((x) => !Number.isFinite(x)) || (/(running_var|moving_variance)$/.test(k) && v.some((x) => x < 0))).map(([k]) => k);
    if (bad.length)
      throw new NonFiniteWeightsError(`the run checkpoint in ${path} is damaged: ${bad.length} tensor(s) hold NaN / ±Inf or a negative variance (${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ', …' : ''})`);
    return {
      // The tfjs layout only when a tfjs consumer asks (decodeRunWeights makes it on first read).
      get values() {
        return decoded.values;
      },
      torch,
      kind: 'run',
      ...(decoded.step !== undefined ? { step: decoded.step } : {}),
      ...(decoded.epoch !== undefined ? { epoch: decoded.epoch, iteration: decoded.iteration ?? 0 } : {}),
    };
  }
  // A file that is not a readable checkpoint throws the reader's CheckpointError (callers word it), one
  // with NaN / ±Inf in a tensor the graph would load a NonFiniteWeightsError.
  const plan = await planFileWeights(layers, path, !!opts.keepClassifier);
  return {
    get values() {
      return plan.values;
    },
    torch: plan.torch,
    kind: 'file',
    report: plan.report,
  };
}

/** Loads a run folder's last checkpoint into `reid`; returns its step and epoch position (see ResolvedWeights). */
export async function loadRunWeights(reid: ReidModel, layers: Layer[], runDir: string): Promise<{ step: number; epoch?: number; iteration?: number }> {
  const r = await resolveWeights(runDir, layers).catch((e: Error) => {
    throw e instanceof WeightsSourceError && /without a run checkpoint/.test(e.message) ? new WeightsSourceError(`${runDir} has no checkpoint yet`) : e;
  });
  (await import('../../tfjs/index.js')).setWeightsFromValues(reid, layers, r.values);
  return { step: r.step ?? 0, ...(r.epoch !== undefined ? { epoch: r.epoch, iteration: r.iteration ?? 0 } : {}) };
}

/** Loads a PyTorch / safetensors file into `reid` through the load plan; returns its report. */
export async function loadFileWeights(reid: ReidModel, layers: Layer[], path: string, keepClassifier = false): Promise<LoadReport> {
  const r = await resolveWeights(path, layers, { keepClassifier });
  (await import('../../tfjs/index.js')).setWeightsFromValues(reid, layers, r.values);
  return r.report!;
}
