import { resolveParams } from './params.js';
import type { Params, Shape } from './types.js';
import { getKind, ShapeError, type BuildCtx, type Value } from '../registry/index.js';

/** A primitive layer of the flattened model, in topological order. */
export interface Layer {
  /** Dotted name in reid-strong-baseline's state_dict layout (`base.layer1.0.bn1`). */
  name: string;
  kind: string;
  params: Params;
  /** Producing layer of each input, in the kind's input-port order. */
  inputs: string[];
  inputShapes: Shape[];
  shape: Shape;
  /** The document node this layer belongs to. */
  nodeId: string;
  frozen: boolean;
  statsFrozen: boolean;
  paramCount: number;
  trainableCount: number;
  macs: number;
}

export interface Flags {
  frozen: boolean;
  statsFrozen: boolean;
}

/**
 * `prefix.local`. A local name starting with `../` names a sibling of the prefix's module (fast-reid's
 * non-local blocks `backbone.NL_2.0` sit next to `backbone.layer2`, not inside it).
 */
export function joinName(prefix: string, local: string): string {
  if (local.startsWith('../')) {
    const cut = prefix.lastIndexOf('.');
    return joinName(cut < 0 ? '' : prefix.slice(0, cut), local.slice(3));
  }
  if (!local) return prefix;
  return prefix ? `${prefix}.${local}` : local;
}

/**
 * Expands composites into primitive layers with shape inference. Shape problems surface as ShapeError,
 * which the caller turns into a diagnostic on the document node being evaluated.
 */
export class Evaluator {
  readonly layers: Layer[] = [];
  readonly names = new Set<string>();

  constructor(public nodeId = '') {}

  /** Adds a node of `kind` named `name`; returns its output values. */
  add(kindId: string, name: string, given: Params, inputs: Record<string, Value>, flags: Flags): Record<string, Value> {
    const kind = getKind(kindId);
    if (!kind) throw new ShapeError('E_UNKNOWN_KIND', `unknown block kind "${kindId}"`);
    const { params, problems } = resolveParams(kind.params, given);
    if (problems.length) throw new ShapeError('E_INVALID_PARAM', `${name || kindId}: ${problems.join('; ')}`);
    if (kind.primitive === 'output') return {};
    if (kind.primitive === true) {
      // An optional port left unconnected contributes no input (concat's in2…in7).
      const ins = kind.inputs.filter((p) => !p.optional || inputs[p.name]).map((p) => {
        const v = inputs[p.name];
        if (!v) throw new ShapeError('E_UNCONNECTED_INPUT', `${name}: input "${p.name}" is not connected`);
        return v;
      });
      const shapes = ins.map((v) => v.shape);
      const shape = kind.inferShape(params, shapes);
      if (this.names.has(name)) throw new ShapeError('E_DUPLICATE_NAME', `layer name "${name}" is used twice`);
      this.names.add(name);
      const count = kind.paramCount(params, shapes);
      this.layers.push({
        name,
        kind: kind.id,
        params,
        inputs: ins.map((v) => v.layer),
        inputShapes: shapes,
        shape,
        nodeId: this.nodeId,
        frozen: flags.frozen,
        statsFrozen: flags.statsFrozen,
        paramCount: count.total,
        trainableCount: flags.frozen ? 0 : count.total - count.alwaysFrozen,
        macs: kind.macs?.(params, shapes, shape) ?? 0,
      });
      return { out: { layer: name, shape } };
    }
    return kind.build(this.ctx(name, flags), params, inputs);
  }

  ctx(prefix: string, flags: Flags): BuildCtx {
    return { prefix, add: (k, local, p, ins) => this.add(k, joinName(prefix, local), p, ins, flags) };
  }
}

/** Effective freezing flags of a node inside a parent: freezing is inherited. */
export function nodeFlags(node: { frozen?: boolean; statsFrozen?: boolean }, parent?: Flags): Flags {
  const frozen = !!node.frozen || !!parent?.frozen;
  // statsFrozen unset follows `frozen`; false opts a frozen node out (PyTorch requires_grad=False behaviour).
  const own = node.statsFrozen ?? !!node.frozen;
  return { frozen, statsFrozen: own || !!parent?.statsFrozen };
}
