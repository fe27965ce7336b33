/**
 * The one codec between a run's training state and its checkpoint's tensor names (checkpoint.ts stores
 * named float32 tensors; this file names them). Keys:
 *   `w:<layer>/<slot>`   a model weight in tfjs layout (BN running statistics included), listed in meta.weightKeys
 *   `o:<slot name>:<i>`  the i-th optimizer buffer of a slot (Adam first / second moment, SGD momentum)
 *   `center`             center-loss centers, [numClasses, featDim] (reid-strong-baseline's CenterLoss)
 * The trainer encodes with `encodeTrainingState`, resumes with `decodeTrainingState`; evaluation and export
 * read only the weights and the position (`decodeRunWeights`).
 */
import type { CheckpointData } from './checkpoint.js';

export const CENTER_KEY = 'center';
export const weightKey = (k: string): string => `w:${k}`;
export const slotKey = (slot: string, i: number): string => `o:${slot}:${i}`;

/** Training position and optimizer bookkeeping kept in the checkpoint manifest's `meta`. `S`: the sampler's state. */
export interface CheckpointMeta<S = unknown> {
  /** 1-based epoch training resumes in. */
  epoch: number;
  /** Next batch index within `epoch` (0: `epoch` starts afresh, i.e. epoch − 1 is complete). */
  batch: number;
  /** Optimizer steps taken so far. */
  step: number;
  /** Sampler state before drawing `epoch`'s batches. */
  sampler: S;
  optimizer: { name: 'adam' | 'sgd'; step: number; slotNames: string[]; steps?: Record<string, number> };
  centerShape?: [number, number];
  weightKeys: string[];
}

export interface OptimizerSnapshot {
  name: 'adam' | 'sgd';
  step: number;
  steps?: Record<string, number>;
  /** Per slot name: its buffers, flattened. */
  slots: Record<string, Float32Array[]>;
}

export interface TrainingState<S = unknown> {
  /** `${layer}/${slot}` → values (tfjs layout). */
  weights: Map<string, Float32Array>;
  optimizer: OptimizerSnapshot;
  centers?: { shape: number[]; data: Float32Array };
  position: { epoch: number; batch: number; step: number; sampler: S };
}

/** The checkpoint (tensors + meta) of a training state. */
export function encodeTrainingState<S>(state: TrainingState<S>): CheckpointData<CheckpointMeta<S>> {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, v] of state.weights) tensors.set(weightKey(k), { shape: [v.length], data: v });
  const os = state.optimizer;
  for (const [name, parts] of Object.entries(os.slots)) parts.forEach((p, i) => tensors.set(slotKey(name, i), { shape: [p.length], data: p }));
  if (state.centers) tensors.set(CENTER_KEY, state.centers);
  const { epoch, batch, step, sampler } = state.position;
  const meta: CheckpointMeta<S> = { epoch, batch, step, sampler, optimizer: { name: os.name, step: os.step, slotNames: Object.keys(os.slots), steps: os.steps ?? {} }, weightKeys: [...state.weights.keys()] };
  return { tensors, meta };
}

export class CheckpointContentError extends Error {}

/** The training state a checkpoint holds. Throws CheckpointContentError when a listed weight is missing. */
export function decodeTrainingState<S>(saved: CheckpointData<CheckpointMeta<S>>): TrainingState<S> {
  const m = saved.meta;
  const weights = new Map<string, Float32Array>();
  for (const k of m.weightKeys) {
    const t = saved.tensors.get(weightKey(k));
    if (!t) throw new CheckpointContentError(`the checkpoint lists weight ${k} but does not hold it`);
    weights.set(k, t.data);
  }
  const slots: OptimizerSnapshot['slots'] = {};
  for (const name of m.optimizer.slotNames) {
    const parts: Float32Array[] = [];
    for (let i = 0; saved.tensors.has(slotKey(name, i)); i++) parts.push(saved.tensors.get(slotKey(name, i))!.data);
    slots[name] = parts;
  }
  const centers = saved.tensors.get(CENTER_KEY);
  return {
    weights,
    optimizer: { name: m.optimizer.name, step: m.optimizer.step, slots, ...(m.optimizer.steps ? { steps: m.optimizer.steps } : {}) },
    ...(centers ? { centers } : {}),
    position: { epoch: m.epoch, batch: m.batch, step: m.step, sampler: m.sampler },
  };
}

/**
 * The model weights of a checkpoint and where they stand: `step`, and `epoch` (epochs completed) with
 * `iteration` (iterations into the next; 0 at an epoch's end) — the position training resumes at, minus one epoch.
 */
export function decodeRunWeights(saved: CheckpointData<Partial<CheckpointMeta>>): { values: Map<string, Float32Array>; step?: number; epoch?: number; iteration?: number } {
  const values = new Map<string, Float32Array>();
  for (const k of saved.meta.weightKeys ?? []) {
    const t = saved.tensors.get(weightKey(k));
    if (t) values.set(k, t.data);
  }
  const { step, epoch, batch } = saved.meta;
  return { values, ...(typeof step === 'number' ? { step } : {}), ...(typeof epoch === 'number' ? { epoch: epoch - 1, iteration: typeof batch === 'number' ? batch : 0 } : {}) };
}
