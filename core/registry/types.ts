import type { ParamSchema } from '../graph/params.js';
import type { Params, Shape, DiagnosticCode } from '../graph/types.js';
import type { Lowering } from './lowering.js';

/** A tensor flowing between layers during analysis: which layer made it and its shape. */
export interface Value {
  /** Name of the primitive layer that produces this value. */
  layer: string;
  shape: Shape;
  /** Set by the one-level recorder used for expand-in-place (see graph/expand.ts). */
  origin?: { child: number; port: string } | { input: string };
}

export type Category = 'io' | 'layers' | 'normalization' | 'blocks' | 'pooling' | 'head';

export interface PortSpec {
  name: string;
  label?: string;
  /** Optional inputs may stay unconnected without an error. */
  optional?: boolean;
}

/** Raised by shape inference; becomes a diagnostic on the node being analysed. */
export class ShapeError extends Error {
  constructor(
    public code: DiagnosticCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ParamCount {
  total: number;
  /** Parameters that are never trainable (BNNeck's frozen shift). */
  alwaysFrozen: number;
}

/** Context a composite kind's `build` uses to add children. */
export interface BuildCtx {
  /** Dotted name of the composite being built (its children are `<prefix>.<localName>`). */
  readonly prefix: string;
  /**
   * Adds a child node (primitive or composite) named `<prefix>.<localName>` (`../name`: a sibling of the
   * prefix, see graph/evaluate.ts joinName); returns its outputs.
   */
  add(kind: string, localName: string, params: Params, inputs: Record<string, Value>): Record<string, Value>;
}

interface KindBase {
  id: string;
  label: string;
  category: Category;
  description: string;
  params: ParamSchema;
  inputs: PortSpec[];
  outputs: PortSpec[];
  /** Holds a norm slot (`norm` param: bn | ibn_a | in). */
  hasNormSlot?: boolean;
  /** Normalisation primitive whose kind can be swapped (batch_norm / ibn_a / instance_norm). */
  isNorm?: boolean;
  freezable: boolean;
  /** Keeps BatchNorm running statistics (frozen statistics stay in eval mode when training). */
  hasBnStats?: boolean;
  /** Pools a feature map to the global feature vector (the end of the backbone). */
  globalPool?: boolean;
  /** A composite the editor can expand in place into its children (and regroup). */
  expandable?: boolean;
  /** The model's image input (exactly one per compiled model). */
  imageInput?: boolean;
  /** One-line key-parameter text shown on the node. */
  describe?(params: Params): string;
  /** The block's title where it depends on its parameters (default `label`). */
  title?(params: Params): string;
  /** Output port labels where they depend on the parameters (default each port's `label`). */
  outputLabels?(params: Params): Record<string, string>;
}

export interface PrimitiveKind extends KindBase {
  primitive: true;
  /** Output shape from input shapes (in `inputs` port order). Throws ShapeError. */
  inferShape(params: Params, inputs: Shape[]): Shape;
  paramCount(params: Params, inputs: Shape[]): ParamCount;
  /** Multiply-accumulate operations per image. */
  macs?(params: Params, inputs: Shape[], output: Shape): number;
  /** How the layer lowers to tfjs, ONNX and PyTorch, and its weights (registry/lowering.ts). */
  lower: Lowering;
}

export interface CompositeKind extends KindBase {
  primitive: false;
  /** Expands one level, adding children through ctx; returns values for every output port. */
  build(ctx: BuildCtx, params: Params, inputs: Record<string, Value>): Record<string, Value>;
}

/** The model-outputs sink: not a layer, it marks which values are the model's outputs. */
export interface OutputKind extends KindBase {
  primitive: 'output';
}

export type KindDef = PrimitiveKind | CompositeKind | OutputKind;
