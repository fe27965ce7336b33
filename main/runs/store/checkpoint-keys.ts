/**
 * The one codec between a run's training state and its checkpoint's tensor names (checkpoint.ts stores
 * named float32 tensors; this file names them). Since checkpoint version 2 (`meta.layout: 'pytorch'`) the
 * state is in PyTorch layout, engine-neutral, keyed as the framework's model names it (the graph's
 * state_dict keys, core/compile/weight-specs.ts: RSB Baseline names, `base.layer1.0.conv1.weight`):
 *   `<state_dict key>`      a model weight with its torch shape (OIHW conv, [out, in] Linear; BN running
 *                           statistics included; no `num_batches_tracked`), listed in meta.weightKeys
 *   `o:<state_dict key>:<i>` the i-th optimizer buffer of that parameter, same shape and layout (Adam's
 *                           exp_avg / exp_avg_sq, SGD's momentum_buffer, as torch.optim keeps them per parameter)
 *   `center`                center-loss centers, [numClasses, featDim] (reid-strong-baseline's CenterLoss)
 * Version-1 checkpoints (no `layout`) hold the same state in tfjs slot layout: `w:<layer>/<slot>` (HWIO conv,
 * [in, out] dense) and `o:<layer>/<slot>:<i>`; they are read as they are (converted to PyTorch layout on read,
 * once), never written.
 * The engines and the weight store hand over and take exactly this state (PyTorch layout keyed by state_dict
 * key, main/training/engine/engines.ts TrainingEngine), so `encodeTrainingState` / `encodeWeights` write the
 * arrays they are given and `decodeTrainingState` / `decodeRunWeights` return the stored arrays of a version-2
 * checkpoint: no relayout on either side. `layers` (the graph's weight specs) checks keys and sizes.
 */
import type { Layer } from '../../../core/index.js';
import { slotSpecs, toTfjs, toTorch, type SlotSpec } from '../../weights/index.js';
import type { CheckpointData } from './checkpoint.js';

export const CENTER_KEY = 'center';
/** Version 1 (tfjs slot layout): the tensor name of a weight `${layer}/${slot}`. Read only (and by tests writing a v1 checkpoint). */
export const weightKey = (k: string): string => `w:${k}`;
/** The tensor name of a parameter's i-th optimizer buffer (v2: its state_dict key; v1: its `${layer}/${slot}`). */
export const slotKey = (slot: string, i: number): string => `o:${slot}:${i}`;
/** `meta.layout` of the checkpoints written since version 2. */
export const PYTORCH_LAYOUT = 'pytorch';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The stored tensor of a PyTorch-layout value of weight `key` (the array itself). Throws CheckpointContentError for a key of no weight or a wrong size. */
function torchTensor(byKey: Map<string, SlotSpec>, key: string, v: Float32Array): { shape: number[]; data: Float32Array } {
  const spec = byKey.get(key);
  if (!spec) throw new CheckpointContentError(`cannot checkpoint ${key}: not a weight of the run's graph`);
  if (v.length !== numel(spec.shape)) throw new CheckpointContentError(`cannot checkpoint ${key}: ${v.length} values for shape [${spec.shape.join(', ')}]`);
  return { shape: spec.shape, data: v };
}

/**
 * Model weights (PyTorch layout by state_dict key: an engine's `weightValues()`, a weight store's
 * `torchValues()`) as checkpoint tensors — the arrays themselves — and meta.weightKeys. What every writer of a
 * run checkpoint uses (the trainer, the best checkpoint, imported runs). Throws CheckpointContentError for a
 * key of no weight of `layers` or a wrong size.
 */
export function encodeWeights(layers: readonly Layer[], weights: Map<string, Float32Array>): { tensors: Map<string, { shape: number[]; data: Float32Array }>; weightKeys: string[]; layout: typeof PYTORCH_LAYOUT } {
  const { byKey } = slotSpecs(layers);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [key, v] of weights) tensors.set(key, torchTensor(byKey, key, v));
  return { tensors, weightKeys: [...tensors.keys()], layout: PYTORCH_LAYOUT };
}

/** Training position and optimizer bookkeeping kept in the checkpoint manifest's `meta`. `S`: the sampler's state. */
export interface CheckpointMeta<S = unknown> {
  /** `pytorch` since checkpoint version 2; absent in version 1 (tfjs slot layout). */
  layout?: typeof PYTORCH_LAYOUT;
  /** 1-based epoch training resumes in. */
  epoch: number;
  /** Next batch index within `epoch` (0: `epoch` starts afresh, i.e. epoch − 1 is complete). */
  batch: number;
  /** Optimizer steps taken so far. */
  step: number;
  /** Sampler state before drawing `epoch`'s batches. */
  sampler: S;
  /** `slotNames` / `steps`: state_dict keys (v2) or `${layer}/${slot}` (v1). */
  optimizer: { name: 'adam' | 'sgd'; step: number; slotNames: string[]; steps?: Record<string, number> };
  centerShape?: [number, number];
  /** The model weights' tensor names: state_dict keys (v2), `${layer}/${slot}` (v1, stored as `w:<id>`). */
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
  /** state_dict key → values in PyTorch layout: the engines' currency (TrainingEngine.weightValues). */
  weights: Map<string, Float32Array>;
  /** Moments keyed by state_dict key, PyTorch layout (TrainingEngine.optimizerState). */
  optimizer: OptimizerSnapshot;
  centers?: { shape: number[]; data: Float32Array };
  position: { epoch: number; batch: number; step: number; sampler: S };
}

/**
 * The checkpoint (tensors + meta) of a training state, in PyTorch layout (see the header): the state's arrays
 * are stored as they are. `layers`: the run graph's layers (analysis.layers). Throws CheckpointContentError
 * for a weight or moment of no weight of the graph, or a wrong size.
 */
export function encodeTrainingState<S>(layers: readonly Layer[], state: TrainingState<S>): CheckpointData<CheckpointMeta<S>> {
  const { byKey } = slotSpecs(layers);
  const { tensors, weightKeys, layout } = encodeWeights(layers, state.weights);
  const os = state.optimizer;
  const slotNames: string[] = [];
  for (const [key, parts] of Object.entries(os.slots)) {
    parts.forEach((p, i) => tensors.set(slotKey(key, i), torchTensor(byKey, key, p)));
    if (parts.length) slotNames.push(key);
  }
  if (state.centers) tensors.set(CENTER_KEY, state.centers);
  const { epoch, batch, step, sampler } = state.position;
  const meta: CheckpointMeta<S> = { layout, epoch, batch, step, sampler, optimizer: { name: os.name, step: os.step, slotNames, steps: { ...os.steps } }, weightKeys };
  return { tensors, meta };
}

export class CheckpointContentError extends Error {}

/**
 * The training state a checkpoint holds, weights and moments in PyTorch layout keyed by state_dict key: a
 * version-2 checkpoint's stored arrays as they are; a version-1 checkpoint's (tfjs slot layout) converted,
 * once. `layers`: the run graph's. Throws CheckpointContentError when a listed weight is missing or does not
 * fit the graph.
 */
export function decodeTrainingState<S>(layers: readonly Layer[], saved: CheckpointData<CheckpointMeta<S>>): TrainingState<S> {
  const m = saved.meta;
  const torch = m.layout === PYTORCH_LAYOUT;
  const { byKey, byId } = slotSpecs(layers);
  /** The stored tensor `name` of weight `k` (v2: a state_dict key; v1: a `${layer}/${slot}`) as [state_dict key, PyTorch-layout values]. */
  const value = (k: string, name: string): [string, Float32Array] => {
    const t = saved.tensors.get(name);
    if (!t) throw new CheckpointContentError(`the checkpoint lists weight ${k} but does not hold it`);
    const spec = torch ? byKey.get(k) : byId.get(k);
    if (!spec) throw new CheckpointContentError(`the checkpoint holds ${k}, which is not a weight of the run's graph`);
    if (t.data.length !== numel(spec.shape)) throw new CheckpointContentError(`the checkpoint's ${k} has ${t.data.length} values, the graph's [${spec.shape.join(', ')}] takes ${numel(spec.shape)}`);
    return [spec.key, torch ? t.data : toTorch(t.data, spec.shape, spec.spec.transform)];
  };
  const weights = new Map(m.weightKeys.map((k) => value(k, torch ? k : weightKey(k))));
  const slots: OptimizerSnapshot['slots'] = {};
  const keyOf = (k: string) => (torch ? k : (byId.get(k)?.key ?? k));
  for (const name of m.optimizer.slotNames) {
    const parts: Float32Array[] = [];
    for (let i = 0; saved.tensors.has(slotKey(name, i)); i++) parts.push(value(name, slotKey(name, i))[1]);
    slots[keyOf(name)] = parts;
  }
  const steps = m.optimizer.steps ? Object.fromEntries(Object.entries(m.optimizer.steps).map(([k, n]) => [keyOf(k), n])) : undefined;
  const centers = saved.tensors.get(CENTER_KEY);
  return {
    weights,
    optimizer: { name: m.optimizer.name, step: m.optimizer.step, slots, ...(steps ? { steps } : {}) },
    ...(centers ? { centers } : {}),
    position: { epoch: m.epoch, batch: m.batch, step: m.step, sampler: m.sampler },
  };
}

/**
 * The model weights of a checkpoint and where they stand: `torch`, PyTorch layout keyed `${layer}/${slot}` of
 * `layers` (what the weight store's `setTorchValues` takes: a version-2 checkpoint's stored arrays, a
 * version-1 checkpoint's converted once); `values`, the same slots in tfjs layout, made when first read (for
 * the tfjs model only); weights of no slot of `layers` are left out, as a load leaves them. `step`, and `epoch`
 * (epochs completed) with `iteration` (iterations into the next; 0 at an epoch's end) — the position training
 * resumes at, minus one epoch. Throws CheckpointContentError for a version-2 tensor whose size is not its slot's.
 */
export function decodeRunWeights(layers: readonly Layer[], saved: CheckpointData<Partial<CheckpointMeta>>): { readonly values: Map<string, Float32Array>; torch: Map<string, Float32Array>; step?: number; epoch?: number; iteration?: number } {
  const { byKey, byId } = slotSpecs(layers);
  const v2 = saved.meta.layout === PYTORCH_LAYOUT;
  const torch = new Map<string, Float32Array>();
  for (const k of saved.meta.weightKeys ?? []) {
    const t = saved.tensors.get(v2 ? k : weightKey(k));
    const spec = v2 ? byKey.get(k) : byId.get(k);
    if (!t || !spec) continue;
    const fits = t.data.length === numel(spec.shape);
    if (v2 && !fits) throw new CheckpointContentError(`the checkpoint's ${k} has ${t.data.length} values, the graph's [${spec.shape.join(', ')}] takes ${numel(spec.shape)}`);
    // A version-1 tensor of another size (a classifier sized for other identities) is passed as it is: the
    // consumers drop or refuse it by its size, naming its key (as before the PyTorch layout).
    torch.set(spec.id, v2 || !fits ? t.data : toTorch(t.data, spec.shape, spec.spec.transform));
  }
  let values: Map<string, Float32Array> | undefined;
  const { step, epoch, batch } = saved.meta;
  return {
    get values() {
      values ??= new Map([...torch].map(([id, v]) => {
        const spec = byId.get(id)!;
        return [id, v.length === numel(spec.shape) ? toTfjs(v, spec.shape, spec.spec.transform) : v];
      }));
      return values;
    },
    torch,
    ...(typeof step === 'number' ? { step } : {}),
    ...(typeof epoch === 'number' ? { epoch: epoch - 1, iteration: typeof batch === 'number' ? batch : 0 } : {}),
  };
}
