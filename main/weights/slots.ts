/**
 * The graph's weight slots under both names — `${layer}/${slot}` (the tfjs model's variables, tfjs layout:
 * conv HWIO, dense [in, out]) and the state_dict key (PyTorch layout: conv OIHW, Linear [out, in];
 * core/compile/weight-specs.ts) — and the conversion between the two for the consumers at the tfjs edge
 * (the tfjs training engine, version-1 run checkpoints). Everything else holds PyTorch layout.
 */
import { weightSpecs, type Layer, type WeightSpec } from '../../core/index.js';
import { toTfjs, toTorch } from './mapping.js';

export interface SlotSpec {
  /** `${layer}/${slot}` (tfjs name). */
  id: string;
  /** PyTorch state_dict key. */
  key: string;
  /** PyTorch shape. */
  shape: number[];
  spec: WeightSpec;
}

/** The weight slots of `layers` by `${layer}/${slot}` and by state_dict key. */
export function slotSpecs(layers: readonly Layer[]): { byId: Map<string, SlotSpec>; byKey: Map<string, SlotSpec> } {
  const byId = new Map<string, SlotSpec>();
  const byKey = new Map<string, SlotSpec>();
  for (const l of layers)
    for (const spec of weightSpecs(l)) {
      const s: SlotSpec = { id: `${l.name}/${spec.slot}`, key: spec.torchKey, shape: [...spec.torchShape], spec };
      byId.set(s.id, s);
      byKey.set(s.key, s);
    }
  return { byId, byKey };
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * tfjs-layout values by `${layer}/${slot}` → PyTorch-layout values by state_dict key (one relayout per
 * tensor: toTorch). Throws Error naming the slot for an id of no slot of `layers` or a wrong size.
 */
export function tfjsToTorchValues(layers: readonly Layer[], values: Map<string, Float32Array>): Map<string, Float32Array> {
  const { byId } = slotSpecs(layers);
  const out = new Map<string, Float32Array>();
  for (const [id, v] of values) {
    const s = byId.get(id);
    if (!s) throw new Error(`${id}: not a weight slot of the graph`);
    if (v.length !== numel(s.shape)) throw new Error(`${s.key}: ${v.length} values for shape [${s.shape.join(', ')}]`);
    out.set(s.key, toTorch(v, s.shape, s.spec.transform));
  }
  return out;
}

/**
 * PyTorch-layout values by state_dict key → tfjs-layout values by `${layer}/${slot}` (toTfjs). Throws Error
 * naming the key for a key of no slot of `layers` or a wrong size.
 */
export function torchToTfjsValues(layers: readonly Layer[], values: Map<string, Float32Array>): Map<string, Float32Array> {
  const { byKey } = slotSpecs(layers);
  const out = new Map<string, Float32Array>();
  for (const [key, v] of values) {
    const s = byKey.get(key);
    if (!s) throw new Error(`${key}: not a weight of the graph`);
    if (v.length !== numel(s.shape)) throw new Error(`${key}: ${v.length} values for shape [${s.shape.join(', ')}]`);
    out.set(s.id, toTfjs(v, s.shape, s.spec.transform));
  }
  return out;
}

/**
 * PyTorch-layout values keyed `${layer}/${slot}` (a load plan's or a run checkpoint's `torch`) keyed by their
 * state_dict keys instead: the same arrays, renamed. Ids of no slot of `layers` are left out.
 */
export function byStateDictKey(layers: readonly Layer[], torchById: Map<string, Float32Array>): Map<string, Float32Array> {
  const { byId } = slotSpecs(layers);
  return new Map([...torchById].flatMap(([id, v]) => (byId.has(id) ? [[byId.get(id)!.key, v] as const] : [])));
}
