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
 * [in, out] dense) and `o:<layer>/<slot>:<i>`; they are read as they are (converted on read), never written.
 * The engines hand over and take tfjs-layout values keyed `${layer}/${slot}`; `encodeTrainingState` /
 * `decodeTrainingState` / `decodeRunWeights` convert with the graph's weight specs (`layers`).
 */
import { weightSpecs, type Layer, type WeightTransform } from '../../../core/index.js';
import { toTfjs, toTorch } from '../../weights/index.js';
import type { CheckpointData } from './checkpoint.js';

export const CENTER_KEY = 'center';
/** Version 1 (tfjs slot layout): the tensor name of a weight `${layer}/${slot}`. Read only (and by tests writing a v1 checkpoint). */
export const weightKey = (k: string): string => `w:${k}`;
/** The tensor name of a parameter's i-th optimizer buffer (v2: its state_dict key; v1: its `${layer}/${slot}`). */
export const slotKey = (slot: string, i: number): string => `o:${slot}:${i}`;
/** `meta.layout` of the checkpoints written since version 2. */
export const PYTORCH_LAYOUT = 'pytorch';

interface SlotSpec {
  /** `${layer}/${slot}` (the engines' key, tfjs layout). */
  id: string;
  key: string;
  shape: number[];
  transform: WeightTransform;
}

/** The graph's weight slots both ways: by `${layer}/${slot}` and by state_dict key. */
function slotSpecs(layers: readonly Layer[]): { byId: Map<string, SlotSpec>; byKey: Map<string, SlotSpec> } {
  const byId = new Map<string, SlotSpec>();
  const byKey = new Map<string, SlotSpec>();
  for (const l of layers)
    for (const w of weightSpecs(l)) {
      const s: SlotSpec = { id: `${l.name}/${w.slot}`, key: w.torchKey, shape: [...w.torchShape], transform: w.transform };
      byId.set(s.id, s);
      byKey.set(s.key, s);
    }
  return { byId, byKey };
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The PyTorch-layout tensor of a tfjs-layout slot value. Throws CheckpointContentError for an id of no slot or a wrong size. */
function torchTensor(specs: Map<string, SlotSpec>, id: string, v: Float32Array): { spec: SlotSpec; tensor: { shape: number[]; data: Float32Array } } {
  const spec = specs.get(id);
  if (!spec) throw new CheckpointContentError(`cannot checkpoint ${id}: not a weight slot of the run's graph`);
  if (v.length !== numel(spec.shape)) throw new CheckpointContentError(`cannot checkpoint ${spec.key}: ${v.length} values for shape [${spec.shape.join(', ')}]`);
  return { spec, tensor: { shape: spec.shape, data: toTorch(v, spec.shape, spec.transform) } };
}

/**
 * The tfjs-layout value of a stored PyTorch-layout tensor `key`, or undefined when the graph has no such
 * weight. Throws CheckpointContentError when its size is not the graph's.
 */
function tfjsValue(specs: Map<string, SlotSpec>, key: string, data: Float32Array): { id: string; data: Float32Array } | undefined {
  const spec = specs.get(key);
  if (!spec) return undefined;
  if (data.length !== numel(spec.shape)) throw new CheckpointContentError(`the checkpoint's ${key} has ${data.length} values, the graph's [${spec.shape.join(', ')}] takes ${numel(spec.shape)}`);
  return { id: spec.id, data: toTfjs(data, spec.shape, spec.transform) };
}

/**
 * Model weights (tfjs layout, `${layer}/${slot}`) as checkpoint tensors in PyTorch layout keyed by their
 * state_dict keys, and meta.weightKeys. What every writer of a run checkpoint uses (the trainer, the best
 * checkpoint, imported runs). Throws CheckpointContentError for a value of no slot of `layers`.
 */
export function encodeWeights(layers: readonly Layer[], weights: Map<string, Float32Array>): { tensors: Map<string, { shape: number[]; data: Float32Array }>; weightKeys: string[]; layout: typeof PYTORCH_LAYOUT } {
  const { byId } = slotSpecs(layers);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [id, v] of weights) {
    const { spec, tensor } = torchTensor(byId, id, v);
    tensors.set(spec.key, tensor);
  }
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
  /** `${layer}/${slot}` → values (tfjs layout): the engines' currency. */
  weights: Map<string, Float32Array>;
  /** Slots keyed `${layer}/${slot}`, buffers in tfjs layout. */
  optimizer: OptimizerSnapshot;
  centers?: { shape: number[]; data: Float32Array };
  position: { epoch: number; batch: number; step: number; sampler: S };
}

/**
 * The checkpoint (tensors + meta) of a training state, in PyTorch layout (see the header). `layers`: the run
 * graph's layers (analysis.layers). Throws CheckpointContentError for a weight or moment of no slot.
 */
export function encodeTrainingState<S>(layers: readonly Layer[], state: TrainingState<S>): CheckpointData<CheckpointMeta<S>> {
  const { byId } = slotSpecs(layers);
  const { tensors, weightKeys, layout } = encodeWeights(layers, state.weights);
  const os = state.optimizer;
  const slotNames: string[] = [];
  for (const [id, parts] of Object.entries(os.slots)) {
    parts.forEach((p, i) => {
      const { spec, tensor } = torchTensor(byId, id, p);
      tensors.set(slotKey(spec.key, i), tensor);
      if (i === 0) slotNames.push(spec.key);
    });
  }
  const steps = Object.fromEntries(Object.entries(os.steps ?? {}).map(([id, n]) => [byId.get(id)?.key ?? id, n]));
  if (state.centers) tensors.set(CENTER_KEY, state.centers);
  const { epoch, batch, step, sampler } = state.position;
  const meta: CheckpointMeta<S> = { layout, epoch, batch, step, sampler, optimizer: { name: os.name, step: os.step, slotNames, steps }, weightKeys };
  return { tensors, meta };
}

export class CheckpointContentError extends Error {}

/**
 * The training state a checkpoint holds, weights and moments in tfjs layout keyed `${layer}/${slot}` whatever
 * the checkpoint's layout (a version-1 checkpoint is taken as it is). `layers`: the run graph's. Throws
 * CheckpointContentError when a listed weight is missing or does not fit the graph.
 */
export function decodeTrainingState<S>(layers: readonly Layer[], saved: CheckpointData<CheckpointMeta<S>>): TrainingState<S> {
  const m = saved.meta;
  const torch = m.layout === PYTORCH_LAYOUT;
  const { byKey } = slotSpecs(layers);
  const weights = new Map<string, Float32Array>();
  const value = (key: string, data: Float32Array): { id: string; data: Float32Array } => {
    if (!torch) return { id: key, data };
    const v = tfjsValue(byKey, key, data);
    if (!v) throw new CheckpointContentError(`the checkpoint holds ${key}, which is not a weight of the run's graph`);
    return v;
  };
  for (const k of m.weightKeys) {
    const t = saved.tensors.get(torch ? k : weightKey(k));
    if (!t) throw new CheckpointContentError(`the checkpoint lists weight ${k} but does not hold it`);
    const v = value(k, t.data);
    weights.set(v.id, v.data);
  }
  const slots: OptimizerSnapshot['slots'] = {};
  const ids = new Map<string, string>();
  for (const name of m.optimizer.slotNames) {
    const parts: Float32Array[] = [];
    let id = name;
    for (let i = 0; saved.tensors.has(slotKey(name, i)); i++) {
      const v = value(name, saved.tensors.get(slotKey(name, i))!.data);
      id = v.id;
      parts.push(v.data);
    }
    ids.set(name, id);
    slots[id] = parts;
  }
  const steps = m.optimizer.steps ? Object.fromEntries(Object.entries(m.optimizer.steps).map(([k, n]) => [torch ? (ids.get(k) ?? byKey.get(k)?.id ?? k) : k, n])) : undefined;
  const centers = saved.tensors.get(CENTER_KEY);
  return {
    weights,
    optimizer: { name: m.optimizer.name, step: m.optimizer.step, slots, ...(steps ? { steps } : {}) },
    ...(centers ? { centers } : {}),
    position: { epoch: m.epoch, batch: m.batch, step: m.step, sampler: m.sampler },
  };
}

/**
 * The model weights of a checkpoint and where they stand: `values` in tfjs layout keyed `${layer}/${slot}` of
 * `layers` (weights of no slot of `layers` are left out, as a load leaves them), `torch` the same slots in
 * PyTorch layout as stored (version-2 checkpoints; what the weight store takes without a relayout); `step`,
 * and `epoch` (epochs completed) with `iteration` (iterations into the next; 0 at an epoch's end) — the
 * position training resumes at, minus one epoch. Throws CheckpointContentError for a tensor whose size is
 * not its slot's.
 */
export function decodeRunWeights(layers: readonly Layer[], saved: CheckpointData<Partial<CheckpointMeta>>): { values: Map<string, Float32Array>; torch?: Map<string, Float32Array>; step?: number; epoch?: number; iteration?: number } {
  const values = new Map<string, Float32Array>();
  let torch: Map<string, Float32Array> | undefined;
  if (saved.meta.layout === PYTORCH_LAYOUT) {
    const { byKey } = slotSpecs(layers);
    torch = new Map();
    for (const k of saved.meta.weightKeys ?? []) {
      const t = saved.tensors.get(k);
      const v = t && tfjsValue(byKey, k, t.data);
      if (!v) continue;
      values.set(v.id, v.data);
      torch.set(v.id, t.data);
    }
  } else
    for (const k of saved.meta.weightKeys ?? []) {
      const t = saved.tensors.get(weightKey(k));
      if (t) values.set(k, t.data);
    }
  const { step, epoch, batch } = saved.meta;
  return { values, ...(torch ? { torch } : {}), ...(typeof step === 'number' ? { step } : {}), ...(typeof epoch === 'number' ? { epoch: epoch - 1, iteration: typeof batch === 'number' ? batch : 0 } : {}) };
}
