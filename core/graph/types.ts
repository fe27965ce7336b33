/**
 * The graph document's data types. Pure data: no behaviour lives here.
 * Shapes are channels-last, batch dimension omitted: [H, W, C] for feature maps, [C] for vectors.
 */
import type { PreprocessSettings } from '../format/preprocess.js';

export type Shape = number[];

export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

export interface Position {
  x: number;
  y: number;
}

/** Where an expanded node came from, so the composite can be collapsed back. */
export interface GroupInfo {
  id: string;
  kind: string;
  name: string;
  params: Params;
  position: Position;
  frozen?: boolean;
  statsFrozen?: boolean;
  /** The composite's own group, when it was itself a child of an expanded composite. */
  group?: GroupInfo;
}

export interface GraphNode {
  id: string;
  kind: string;
  /** Dotted, PyTorch-state_dict-style prefix of every layer this node produces (e.g. `base.layer1`). */
  name: string;
  params: Params;
  position: Position;
  /** Weights get no gradient. */
  frozen?: boolean;
  /** BN / IBN statistics are inference-mode: neither taken from the batch nor updated. */
  statsFrozen?: boolean;
  group?: GroupInfo;
}

export interface GraphEdge {
  id: string;
  source: string;
  sourcePort: string;
  target: string;
  targetPort: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export const DOC_FORMAT = 'reid-studio-graph';
export const DOC_VERSION = 1;

export interface GraphDoc {
  format: typeof DOC_FORMAT;
  version: number;
  graph: Graph;
  /** Training settings; owned by the training engine (reserved in v1, kept verbatim). */
  training?: Record<string, unknown>;
  /** Image pre-processing (resize filter, mean / std); absent = reid-strong-baseline's defaults. */
  preprocess?: PreprocessSettings;
}

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  nodeId?: string;
  message: string;
}

export type DiagnosticCode =
  | 'E_UNKNOWN_KIND'
  | 'E_INVALID_PARAM'
  | 'E_CYCLE'
  | 'E_UNCONNECTED_INPUT'
  | 'E_PORT_MULTIPLE'
  | 'E_BAD_EDGE'
  | 'E_CHANNEL_MISMATCH'
  | 'E_SPATIAL_MISMATCH'
  | 'E_RANK_MISMATCH'
  | 'E_SPATIAL_ZERO'
  | 'E_NO_OUTPUT'
  | 'E_MULTIPLE_OUTPUTS'
  | 'E_DUPLICATE_NAME'
  | 'E_NO_INPUT'
  | 'W_NO_TRAIN_OUTPUT'
  | 'W_STEM_MISMATCH'
  | 'W_UNUSED_NODE';
