import type { Layer } from '../graph/evaluate.js';
import { getKind } from '../registry/index.js';
import type { WeightSpec } from '../registry/lowering.js';

export type { WeightSpec, WeightTransform } from '../registry/lowering.js';

/**
 * How a primitive layer's weights are laid out in tfjs (the order of the tfjs layer's `getWeights()`)
 * and where each comes from in a PyTorch state_dict in reid-strong-baseline's key layout: the layer's
 * kind declares it (`lower.weights` in core/registry/kinds/*). Layers without weights give [].
 */
export function weightSpecs(layer: Layer): WeightSpec[] {
  const k = getKind(layer.kind);
  return k?.primitive === true ? (k.lower.weights?.(layer) ?? []) : [];
}
