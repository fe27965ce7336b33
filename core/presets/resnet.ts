import type { GraphDoc, GraphEdge, GraphNode, Params } from '../graph/types.js';
import { DOC_FORMAT, DOC_VERSION } from '../graph/types.js';
import { isSenetPreset, SENET_PRESET_NAMES, senetBackbone } from './senet.js';
import { isResnestPreset, RESNEST_PRESET_NAMES, resnestBackbone } from './resnest.js';

/** Blocks per row in a preset's layout. */
export const PRESET_ROW = 3;

/** Depth → (block kind, blocks per stage), torchvision / reid-strong-baseline. */
export const RESNET_DEPTHS = {
  resnet18: { block: 'basic_block', layers: [2, 2, 2, 2] },
  resnet34: { block: 'basic_block', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  resnet152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
} as const;

export type Depth = keyof typeof RESNET_DEPTHS;

/**
 * Non-local blocks per stage with fast-reid's WITH_NL (fastreid/modeling/backbones/resnet.py
 * `nl_layers_per_stage`; 152 is not a fast-reid depth): each follows one of the last blocks of its stage.
 */
export const FASTREID_NL_LAYERS: Partial<Record<Depth, readonly number[]>> = {
  resnet18: [0, 0, 0, 0],
  resnet34: [0, 0, 0, 0],
  resnet50: [0, 2, 3, 0],
  resnet101: [0, 2, 9, 0],
};
export const PRESET_NAMES: readonly string[] = Object.keys(RESNET_DEPTHS).flatMap((d) => [d, `${d}_ibn_a`, `${d}_ibn_b`]);

export interface PresetOptions {
  neck: 'bnneck' | 'no';
  neckFeat: 'after' | 'before';
  lastStride: 1 | 2;
  numClasses: number;
  input: [number, number];
  /** fast-reid WITH_NL: non-local blocks placed as FASTREID_NL_LAYERS says. */
  nonLocal?: boolean;
}

export const PRESET_DEFAULTS: PresetOptions = { neck: 'bnneck', neckFeat: 'after', lastStride: 1, numClasses: 751, input: [256, 128] };

/** Every name buildPreset accepts: the ResNet / IBN-a presets, RSB's SENet family (presets/senet.ts) and fast-reid's ResNeSt (presets/resnest.ts). */
export const ALL_PRESET_NAMES: readonly string[] = [...PRESET_NAMES, ...SENET_PRESET_NAMES, ...RESNEST_PRESET_NAMES];

export function isPresetName(name: string): boolean {
  return ALL_PRESET_NAMES.includes(name);
}

export function edge(source: string, sourcePort: string, target: string, targetPort: string): GraphEdge {
  return { id: `${source}:${sourcePort}->${target}:${targetPort}`, source, sourcePort, target, targetPort };
}

/**
 * A complete reid-strong-baseline Baseline: backbone → GAP → neck → classifier → outputs.
 * Plain ResNets follow RSB's resnet.py (no stem ReLU); `_ibn_a` follows resnet_ibn_a.py (stem ReLU,
 * IBN-a in bn1 of every block of layer1–3, never layer4); `_ibn_b` follows IBN-Net's resnet_ibn.py with
 * ibn_cfg ('b', 'b', None, None): stem bn1 an InstanceNorm, stem ReLU, and an InstanceNorm `IN` after the
 * residual addition of the last block of layer1 and layer2; se_* / senet154 follow RSB's senet.py;
 * resnest50 / resnest101 follow fast-reid's resnest.py.
 */
export function buildPreset(name: string, options: Partial<PresetOptions> = {}): GraphDoc {
  const o = { ...PRESET_DEFAULTS, ...options };
  const ibn = name.endsWith('_ibn_a');
  const ibnB = name.endsWith('_ibn_b');
  const depth = (ibn || ibnB ? name.slice(0, -'_ibn_a'.length) : name) as Depth;
  const spec = RESNET_DEPTHS[depth];
  if (!spec && !isSenetPreset(name) && !isResnestPreset(name)) throw new Error(`unknown preset "${name}" (choose one of ${ALL_PRESET_NAMES.join(', ')})`);
  const nl = o.nonLocal ? FASTREID_NL_LAYERS[depth] : undefined;
  if (o.nonLocal && !nl) throw new Error(`fast-reid places no non-local blocks in ${depth} (it has them for ResNet-50 and -101)`);
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  // Rows of PRESET_ROW blocks (data flows left to right, then on to the next row): at the editor's
  // readable zoom a 1440×900 window shows the whole Baseline, where one row of ten needed 38 % zoom.
  const add = (id: string, kind: string, name: string, params: Params) => {
    const i = nodes.length;
    nodes.push({ id, kind, name, params, position: { x: (i % PRESET_ROW) * 300, y: Math.floor(i / PRESET_ROW) * 190 } });
  };
  add('input', 'input', 'input', { height: o.input[0], width: o.input[1], channels: 3 });
  const prev = isSenetPreset(name)
    ? senetBackbone(name, o.lastStride, add, edges, 'input')
    : isResnestPreset(name)
      ? resnestBackbone(name, o.lastStride, add, edges, 'input')
      : resnetBackbone(spec, { ibn, ibnB, nl }, o.lastStride, add, edges);
  add('gap', 'global_avg_pool', 'gap', {});
  add('neck', 'neck', 'bottleneck', { type: o.neck, neck_feat: o.neckFeat });
  add('classifier', 'linear', 'classifier', { units: o.numClasses, bias: o.neck === 'no' });
  add('output', 'output', 'output', {});
  edges.push(
    edge(prev, 'out', 'gap', 'in'),
    edge('gap', 'out', 'neck', 'in'),
    edge('neck', 'after', 'classifier', 'in'),
    edge('classifier', 'out', 'output', 'logits'),
    edge('neck', 'before', 'output', 'train_feature'),
    edge('neck', 'eval', 'output', 'eval_feature'),
  );
  const doc: GraphDoc = { format: DOC_FORMAT, version: DOC_VERSION, graph: { nodes, edges } };
  return isFastreidOnlyPreset(name) ? { ...doc, training: fastreidRecipeLoss() } : doc;
}

/**
 * The ResNet-IBN-a depths only fast-reid builds: its build_resnet_backbone takes WITH_IBN at DEPTH 18x / 34x / 50x /
 * 101x (fastreid/modeling/backbones/resnet.py), while reid-strong-baseline's Baseline wires resnet50_ibn_a alone
 * (modeling/baseline.py). resnet152_ibn_a is in neither, so it keeps the app's defaults.
 */
export const FASTREID_ONLY_IBN_A: readonly string[] = ['resnet18_ibn_a', 'resnet34_ibn_a', 'resnet101_ibn_a'];

/** The presets whose model only fast-reid builds (ResNeSt, ResNet-18/34/101-IBN-a): they train fast-reid's recipe losses. */
export function isFastreidOnlyPreset(name: string): boolean {
  return isResnestPreset(name) || FASTREID_ONLY_IBN_A.includes(name);
}

/**
 * The losses of fast-reid's recipes (configs/Base-bagtricks.yml MODEL.LOSSES.NAME ("CrossEntropyLoss",
 * "TripletLoss"), CE.EPSILON 0.1, TRI.MARGIN 0.3, HARD_MINING True; bagtricks_S50.yml keeps them): the training
 * block of the presets whose model only fast-reid builds (ResNeSt, ResNet-18/34/101-IBN-a, MGN). fast-reid has no center loss, so the
 * app's default (reid-strong-baseline's softmax_triplet_with_center) would leave such a run exportable to
 * neither framework. The other settings keep the app's defaults.
 */
export function fastreidRecipeLoss(): NonNullable<GraphDoc['training']> {
  return { loss: { metric: 'triplet' } };
}

/**
 * RSB's resnet.py / resnet_ibn_a.py backbone (IBN-Net's resnet_ibn.py for IBN-b; fast-reid's non-local
 * placement with `nl`): `base` stem and stages `base.layer1…4`; returns the last node id.
 */
function resnetBackbone(
  spec: (typeof RESNET_DEPTHS)[Depth],
  v: { ibn: boolean; ibnB: boolean; nl: readonly number[] | undefined },
  lastStride: number,
  add: (id: string, kind: string, name: string, params: Params) => void,
  edges: GraphEdge[],
): string {
  add('stem', 'stem', 'base', { channels: 64, relu: v.ibn || v.ibnB, ...(v.ibnB ? { norm: 'in' } : {}) });
  edges.push(edge('input', 'out', 'stem', 'in'));
  let prev = 'stem';
  spec.layers.forEach((blocks, i) => {
    const id = `layer${i + 1}`;
    add(id, 'stage', `base.${id}`, {
      block: spec.block,
      blocks,
      planes: 64 * 2 ** i,
      stride: i === 0 ? 1 : i === 3 ? lastStride : 2,
      norm: v.ibn && i < 3 ? 'ibn_a' : 'bn',
      ...(v.ibnB && i < 2 ? { ibn_b: true } : {}),
      ...(v.nl?.[i] ? { non_local: v.nl[i] } : {}),
    });
    edges.push(edge(prev, 'out', id, 'in'));
    prev = id;
  });
  return prev;
}
