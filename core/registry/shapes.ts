import type { Shape } from '../graph/types.js';
import { ShapeError } from './types.js';

export function requireSpatial(kind: string, s: Shape): [number, number, number] {
  if (s.length !== 3)
    throw new ShapeError('E_RANK_MISMATCH', `${kind} needs a feature map [H, W, C], got a vector [${s.join(', ')}]`);
  return [s[0]!, s[1]!, s[2]!];
}

export function requireVector(kind: string, s: Shape): number {
  if (s.length !== 1)
    throw new ShapeError('E_RANK_MISMATCH', `${kind} needs a vector [C], got a feature map [${s.join(', ')}]; add a pooling layer first`);
  return s[0]!;
}

/** Channels of a feature map or vector (channels-last). */
export function channels(s: Shape): number {
  return s[s.length - 1]!;
}

/** PyTorch's output-size formula for conv / pool (floor mode, or ceil mode as nn.MaxPool2d does it). */
export function windowOut(size: number, kernel: number, stride: number, pad: number, ceil = false): number {
  const span = size + 2 * pad - kernel;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // PyTorch: in ceil mode the last window must start inside the input or left padding.
  if (ceil && (out - 1) * stride >= size + pad) out -= 1;
  return out;
}

export function spatialOut(kind: string, h: number, w: number, k: number, s: number, p: number, ceil = false): [number, number] {
  const oh = windowOut(h, k, s, p, ceil);
  const ow = windowOut(w, k, s, p, ceil);
  if (oh <= 0 || ow <= 0)
    throw new ShapeError('E_SPATIAL_ZERO', `${kind} shrinks ${h}×${w} to nothing (kernel ${k}, stride ${s}, padding ${p}); use a larger input`);
  return [oh, ow];
}

export const NORM_KINDS = { bn: 'batch_norm', ibn_a: 'ibn_a', in: 'instance_norm' } as const;
export type NormSlot = keyof typeof NORM_KINDS;
export const NORM_OPTIONS = ['bn', 'ibn_a', 'in'] as const;
export function normKindOf(slot: string): string {
  return NORM_KINDS[slot as NormSlot] ?? 'batch_norm';
}
export function normSlotOfKind(kind: string): NormSlot | undefined {
  return (Object.keys(NORM_KINDS) as NormSlot[]).find((k) => NORM_KINDS[k] === kind);
}
