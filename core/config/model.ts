import { analyze, type Analysis } from '../graph/analyze.js';
import type { Layer } from '../graph/evaluate.js';
import { expandInGraph } from '../graph/expand.js';
import type { GraphDoc, GraphNode } from '../graph/types.js';
import { buildPreset, FASTREID_NL_LAYERS, RESNET_DEPTHS, type Depth } from '../presets/resnet.js';
import { SENET_ARCHS, type SenetArch } from '../presets/senet.js';
import { applyCommand } from '../commands/history.js';
import { freezeBackbone } from '../commands/commands.js';
import { buildMgn, freezeMgnBackbone, isMgnBackboneLayer, looksLikeMgn } from '../presets/mgn.js';

/**
 * The Baseline model family both frameworks can express, and a matcher that recognises it in a graph.
 *
 * Recognition never trusts node kinds or ids: it reads the features off the flattened layers, rebuilds
 * that model from the core presets and then compares every primitive layer (name, kind, parameters,
 * inputs, frozen flags) and the model outputs. A graph is expressible exactly when the rebuild is
 * identical, so a hand-edited block (IBN-a in one block, a frozen stage, a rewired tap) is caught.
 */

/** Global pooling of the head: RSB has only average pooling; fast-reid also GeM. */
export type Pool = 'avg' | 'gem' | 'gemP';

/**
 * Stem variants:
 * - 'rsb': the core presets' stem, i.e. reid-strong-baseline's: conv 7×7/2 → BN → maxpool 3×3/2 pad 1,
 *   with the ReLU only in resnet_ibn_a.py (plain resnet.py has it commented out, RSB issues #4/#117);
 * - 'fastreid': conv 7×7/2 → BN → ReLU → maxpool 3×3/2 pad 0 ceil_mode=True (fastreid/modeling/backbones/resnet.py).
 */
export type StemStyle = 'rsb' | 'fastreid';

export interface ModelSpec {
  depth: Depth;
  ibn: boolean;
  stem: StemStyle;
  lastStride: 1 | 2;
  neck: 'bnneck' | 'no';
  /** Feature returned at evaluation (RSB TEST.NECK_FEAT; fast-reid always 'after'). */
  neckFeat: 'after' | 'before';
  /** Feature fed to the metric losses in training (fast-reid MODEL.HEADS.NECK_FEAT; RSB always 'before'). */
  trainFeat: 'before' | 'after';
  classifierBias: boolean;
  pool: Pool;
  numClasses: number;
  input: [number, number];
  frozenBackbone: boolean;
  /** fast-reid WITH_NL: non-local blocks where fast-reid's resnet.py puts them (presets FASTREID_NL_LAYERS). */
  nonLocal?: boolean;
  /**
   * fast-reid's ResNeSt backbone (build_resnest_backbone, presets/resnest.ts) of this depth instead of a
   * ResNet: its own stem (deep stem, max pool padding 1), no IBN, no non-local blocks. Set only when present.
   */
  arch?: 'resnest' | 'mgn';
  /** MGN only (core/presets/mgn.ts): MODEL.HEADS.EMBEDDING_DIM, the heads' 1×1 reduction (0: none). */
  embeddingDim?: number;
  /**
   * reid-strong-baseline's SENet backbone (modeling/backbones/senet.py, presets/senet.ts) instead of a ResNet:
   * its layer0 stem, SE blocks; `depth` is the ResNet of the same blocks per stage. Set only when present.
   */
  senet?: SenetArch;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

export const GEM_PARAMS = { p: 3, eps: 1e-6 } as const;

/** Builds the graph of a spec from the core preset (same ids, names and positions as the preset). */
export function buildModel(spec: ModelSpec): GraphDoc {
  if (spec.arch === 'mgn') {
    const pool = spec.pool;
    const doc = buildMgn({ ibn: spec.ibn, lastStride: spec.lastStride, embeddingDim: spec.embeddingDim ?? 0, pool, trainFeat: spec.trainFeat, numClasses: spec.numClasses, input: spec.input });
    return spec.frozenBackbone ? freezeMgnBackbone(doc) : doc;
  }
  const name = presetName(spec);
  let doc: GraphDoc = clone(
    buildPreset(name, { neck: spec.neck, neckFeat: spec.neckFeat, lastStride: spec.lastStride, numClasses: spec.numClasses, input: spec.input, nonLocal: spec.nonLocal }),
  );
  if (spec.stem === 'fastreid' && !spec.arch) doc = withFastreidStem(doc);
  const cls = doc.graph.nodes.find((n) => n.id === 'classifier')!;
  cls.params.bias = spec.classifierBias;
  if (spec.pool !== 'avg') {
    const gap = doc.graph.nodes.find((n) => n.id === 'gap')!;
    gap.kind = 'gem_pool'; // keeps the preset's layer name 'gap' (fast-reid calls it heads.pool_layer)
    gap.params = { p: GEM_PARAMS.p, learnable: spec.pool === 'gemP', eps: GEM_PARAMS.eps };
  }
  if (spec.trainFeat === 'after') {
    const e = doc.graph.edges.find((x) => x.target === 'output' && x.targetPort === 'train_feature')!;
    e.sourcePort = 'after';
    e.id = `${e.source}:after->${e.target}:${e.targetPort}`;
  }
  if (spec.frozenBackbone) doc = clone(applyCommand(doc, freezeBackbone(true)));
  return doc;
}

/**
 * `--fastreid-stem` (export option): the document with fast-reid's stem, and a note saying what the conversion did
 * to this graph's stem kind — the RSB / torchvision stem composite (kinds/stem.ts) gets its ReLU where it had none
 * and its max pool loses padding 1 for ceil_mode (fast-reid resnet.py `nn.MaxPool2d(3, 2, padding=0,
 * ceil_mode=True)`); ResNeSt's deep stem is fast-reid's own (resnest.py) and a stem already fast-reid's, or one
 * that is no ResNet stem (SENet layer0), is left as it is, and the note says nothing was converted.
 */
export function fastreidStemConversion(doc: GraphDoc): { doc: GraphDoc; note: string } {
  const stem = doc.graph.nodes.find((n) => n.kind === 'stem');
  if (stem) {
    const relu = stem.params.relu === false ? 'ReLU added after bn1, ' : '';
    return { doc: withFastreidStem(doc), note: `the stem was converted to fast-reid's (${relu}max pool 3×3/2 padding 1 → padding 0 with ceil_mode): the exported model differs from the graph's stem` };
  }
  const unchanged = doc.graph.nodes.some((n) => n.kind === 'resnest_stem')
    ? "ResNeSt's deep stem is fast-reid's own (resnest.py)"
    : doc.graph.nodes.some((n) => n.kind === 'max_pool' && n.params.ceilMode === true)
      ? "the stem is already fast-reid's (ReLU, max pool padding 0 with ceil_mode)"
      : 'the graph has no ResNet stem composite to convert';
  return { doc, note: `--fastreid-stem converted nothing: ${unchanged}` };
}

/**
 * Replaces a stem composite by fast-reid's stem as primitives: ReLU present, max pool 3×3/2 pad 0
 * ceil_mode. The stem composite cannot hold ceil mode, so the children stay expanded (and ungrouped:
 * they no longer collapse into the RSB stem).
 */
export function withFastreidStem(doc: GraphDoc): GraphDoc {
  const stem = doc.graph.nodes.find((n) => n.kind === 'stem');
  if (!stem) return doc;
  const out = clone(doc);
  out.graph.nodes.find((n) => n.id === stem.id)!.params.relu = true;
  out.graph = expandInGraph(out.graph, stem.id);
  for (const n of out.graph.nodes) {
    if (n.group?.id !== stem.id) continue;
    delete n.group;
    if (n.kind === 'max_pool') n.params = { ...n.params, padding: 0, ceilMode: true };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Recognition

/** On failure `spec` is what the graph looked like before the exact rebuild disagreed, when it got that far. */
export type Recognition = { ok: true; spec: ModelSpec; analysis: Analysis } | { ok: false; reasons: string[]; spec?: ModelSpec };

const layerSig = (l: Layer) =>
  JSON.stringify([l.name, l.kind, Object.entries(l.params).sort(([a], [b]) => (a < b ? -1 : 1)), l.inputs, l.frozen, l.statsFrozen]);

function describeLayer(l: Layer): string {
  const p = Object.entries(l.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${l.name} (${l.kind}${p ? ` ${p}` : ''}${l.frozen ? ', frozen' : ''}${l.statsFrozen && !l.frozen ? ', BN stats frozen' : ''})`;
}

const freezeState = (l: Layer) =>
  l.frozen ? (l.statsFrozen ? 'frozen' : 'frozen with its BN statistics updating') : l.statsFrozen ? 'trainable with frozen BN statistics' : 'trainable';

/** Compares two analyses layer by layer; returns the first difference in words, or null. */
export function diffModels(actual: Analysis, expected: Analysis): { freeze: boolean; text: string } | null {
  const topo = (text: string) => ({ freeze: false, text });
  const exp = new Map(expected.layers.map((l) => [l.name, l]));
  const act = new Map(actual.layers.map((l) => [l.name, l]));
  for (const l of actual.layers) {
    const e = exp.get(l.name);
    if (!e) return topo(`it has a layer ${describeLayer(l)} that the framework's model does not have`);
    if (layerSig(l) !== layerSig(e)) {
      if (l.kind !== e.kind && ['ibn_a', 'batch_norm', 'instance_norm'].includes(l.kind) && ['ibn_a', 'batch_norm'].includes(e.kind))
        return topo(`${l.name} is ${l.kind} where ResNet${e.kind === 'ibn_a' ? '-IBN-a has IBN-a' : ' has BatchNorm'} (IBN-a replaces bn1 of every block in layer1–3 and never layer4)`);
      if (l.frozen !== e.frozen || l.statsFrozen !== e.statsFrozen)
        return { freeze: true, text: `${l.name} is ${freezeState(l)} where the framework's model has it ${freezeState(e)}` };
      return topo(`${describeLayer(l)} differs from the framework's ${describeLayer(e)}`);
    }
  }
  for (const e of expected.layers) if (!act.has(e.name)) return topo(`it lacks the layer ${describeLayer(e)}`);
  const heads = (x: Analysis) => JSON.stringify((x.outputs.heads ?? []).map(({ nodeId: _, ...h }) => h));
  if (heads(actual) !== heads(expected)) return topo(`its loss heads (${heads(actual)}) differ from the framework's (${heads(expected)})`);
  for (const k of ['logits', 'trainFeature', 'evalFeature'] as const)
    if (actual.outputs[k] !== expected.outputs[k])
      return topo(`its ${k === 'logits' ? 'logits' : k === 'trainFeature' ? 'metric-loss (train) feature' : 'eval feature'} output comes from ${actual.outputs[k] ?? 'nothing'}, the framework's from ${expected.outputs[k]}`);
  return null;
}

/**
 * Reads a ModelSpec off a graph and verifies it by rebuilding. Reasons are phrased for the user.
 * The spec says what the graph *is*; whether a framework can express it is the exporters' business.
 */
export function recognizeModel(doc: GraphDoc): Recognition {
  const a = analyze(doc.graph);
  if (!a.ok) {
    const errs = a.diagnostics.filter((d) => d.severity === 'error');
    return { ok: false, reasons: [`the graph has ${errs.length} problem(s): ${errs.map((d) => d.message).join('; ')}`] };
  }
  const L = new Map(a.layers.map((l) => [l.name, l]));
  if (looksLikeMgn(new Set(L.keys()))) return recognizeMgn(a, L);
  const reasons: string[] = [];
  const notBaseline = (why: string) => ({ ok: false as const, reasons: [`custom topology: ${why}; only the ResNet Baseline (backbone → global pooling → neck → classifier) maps to these frameworks`] });

  const bottleneck = L.has('base.layer1.0.conv3');
  const counts = [1, 2, 3, 4].map((s) => {
    let i = 0;
    while (L.has(`base.layer${s}.${i}.conv1`)) i++;
    return i;
  });
  const block = bottleneck ? 'bottleneck' : 'basic_block';
  const depth = (Object.keys(RESNET_DEPTHS) as Depth[]).find(
    (d) => RESNET_DEPTHS[d].block === block && RESNET_DEPTHS[d].layers.every((n, i) => n === counts[i]),
  );
  if (!depth) return notBaseline(`the backbone is not a ResNet-18/34/50/101/152 (blocks per stage ${counts.join(', ')})`);
  const resnest = L.get('base.layer1.0.conv2.rsoftmax')?.kind === 'rsoftmax';
  const ibnB = a.layers.filter((l) => l.kind === 'instance_norm' && (l.name === 'base.bn1' || l.name.endsWith('.IN'))).map((l) => l.name);
  if (ibnB.length)
    return { ok: false, reasons: [`IBN-b (IBN-Net resnet_ibn.py: InstanceNorm ${ibnB.join(', ')}) is in neither reid-strong-baseline's nor fast-reid's ResNet`] };
  const ibn = L.get('base.layer1.0.bn1')?.kind === 'ibn_a';
  // ResNeSt strides with avd_layer (fast-reid resnest.py: avd, conv2 at stride 1).
  // Cadene SENet (RSB senet.py): layer0 stem; SEResNetBottleneck strides in conv1, the others in conv2.
  const senet = L.has('base.layer0.conv1');
  const lastConv = L.get(resnest ? 'base.layer4.0.avd_layer' : bottleneck ? 'base.layer4.0.conv2' : 'base.layer4.0.conv1');
  const lastStride = senet ? Math.max(Number(L.get('base.layer4.0.conv1')?.params.stride), Number(lastConv?.params.stride)) : lastConv?.params.stride;
  if (lastStride !== 1 && lastStride !== 2) return notBaseline(`layer4 strides by ${String(lastStride)} (the frameworks take LAST_STRIDE 1 or 2)`);
  const maxpool = L.get('base.maxpool');
  const stem: StemStyle = resnest ? 'fastreid' :
    maxpool?.params.padding === 0 && maxpool.params.ceilMode === true && L.has('base.relu') ? 'fastreid' : 'rsb';
  const rsbStem = maxpool?.params.padding === 1 && maxpool.params.ceilMode === false && L.has('base.relu') === ibn;
  if (!resnest && stem === 'rsb' && maxpool && !rsbStem)
    return {
      ok: false,
      reasons: [
        `the stem (${L.has('base.relu') ? 'ReLU' : 'no ReLU'} before a max pool with padding ${maxpool.params.padding}${maxpool.params.ceilMode ? ', ceil_mode' : ''}) is neither reid-strong-baseline's (${ibn ? 'resnet_ibn_a.py: ReLU' : 'resnet.py: no ReLU'}, padding 1) nor fast-reid's (ReLU, padding 0, ceil_mode)${!L.has('base.relu') && ibn ? "; Convert the stem (Problems panel) adds resnet_ibn_a.py's ReLU" : ''}`,
      ],
    };
  const poolLayer = a.layers.find((l) => l.kind === 'global_avg_pool' || l.kind === 'gem_pool');
  const pool: Pool = !poolLayer || poolLayer.kind === 'global_avg_pool' ? 'avg' : poolLayer.params.learnable ? 'gemP' : 'gem';
  const bn = L.get('bottleneck');
  const neck = bn?.kind === 'batch_norm' ? 'bnneck' : 'no';
  const neckNode = doc.graph.nodes.filter((n: GraphNode) => n.kind === 'neck');
  const fromNode = neckNode.length === 1 ? neckNode[0]!.params.neck_feat : undefined;
  const neckFeat =
    neck === 'bnneck' ? (a.outputs.evalFeature === 'bottleneck' ? 'after' : 'before') : fromNode === 'before' ? 'before' : 'after';
  const trainFeat = neck === 'bnneck' && a.outputs.trainFeature === 'bottleneck' ? 'after' : 'before';
  const logits = a.outputs.logits ? L.get(a.outputs.logits) : undefined;
  if (!logits || logits.kind !== 'linear') return notBaseline('the logits do not come from a linear classifier');
  const inputShape = a.inputShape;
  if (!inputShape || inputShape[2] !== 3) return notBaseline('the input is not a 3-channel image');
  const frozenBackbone = a.layers.some((l) => l.name.startsWith('base.') && l.frozen);
  const spec: ModelSpec = {
    depth,
    ibn,
    stem,
    lastStride,
    neck,
    neckFeat,
    trainFeat,
    classifierBias: logits.params.bias === true,
    pool,
    numClasses: logits.shape[0]!,
    input: [inputShape[0]!, inputShape[1]!],
    frozenBackbone,
    // Set only when present, so specs written before non-local blocks existed stay equal.
    ...(a.layers.some((l) => l.kind === 'non_local_attention') ? { nonLocal: true } : {}),
    ...(resnest ? { arch: 'resnest' as const } : {}),
  };
  if (resnest && (depth !== 'resnet50' && depth !== 'resnet101')) return notBaseline(`fast-reid's ResNeSt presets are 50 and 101 layers deep (blocks per stage ${counts.join(', ')})`);
  if (resnest && spec.nonLocal) return notBaseline("fast-reid's ResNeSt has no non-local blocks");
  if (spec.nonLocal && !FASTREID_NL_LAYERS[depth]) return notBaseline(`fast-reid has no non-local ${depth}`);
  // An SENet is the arch (of those with these blocks per stage) whose rebuild is identical.
  const archs = senet ? (Object.keys(SENET_ARCHS) as SenetArch[]).filter((n) => SENET_ARCHS[n].layers.every((b, i) => b === counts[i])) : [];
  if (senet && !archs.length) return notBaseline(`the SENet has ${counts.join(', ')} blocks per stage, which no SENet preset has`);
  if (senet) spec.senet = archs.find((n) => !diffModels(a, analyze(buildModel({ ...spec, senet: n }).graph))) ?? archs[0];
  const expected = analyze(buildModel(spec).graph);
  const diff = diffModels(a, expected);
  if (diff) {
    const partial = a.layers.some((l) => l.name.startsWith('base.') && l.frozen) && a.layers.some((l) => l.name.startsWith('base.') && !l.frozen);
    reasons.push(
      diff.freeze ? `freeze pattern: ${partial ? 'only part of the backbone is frozen; ' : ''}${diff.text}` : `custom topology: ${diff.text}`,
    );
    return { ok: false, reasons, spec };
  }
  return { ok: true, spec, analysis: a };
}

/** fast-reid's MGN (core/presets/mgn.ts) read off its layers and verified by rebuilding it. */
function recognizeMgn(a: Analysis, L: Map<string, Layer>): Recognition {
  const custom = (why: string) => ({ ok: false as const, reasons: [`custom topology: ${why}; only fast-reid's MGN (ResNet-50 trunk, three branches, eight heads) maps to it`] });
  const ibn = L.get('backbone.4.0.bn1')?.kind === 'ibn_a';
  const lastStride = L.get('b1.1.0.conv2')?.params.stride;
  if (lastStride !== 1 && lastStride !== 2) return custom(`b1's layer4 strides by ${String(lastStride)}`);
  const reduce = L.get('b1_head.bottleneck.0');
  const embeddingDim = reduce?.kind === 'linear' ? (reduce.params.units as number) : 0;
  const poolLayer = L.get('b1_head.pool_layer');
  const pool: Pool = poolLayer?.kind === 'gem_pool' ? (poolLayer.params.learnable ? 'gemP' : 'gem') : 'avg';
  const b1 = a.outputs.heads?.find((h) => h.logits === 'b1_head.classifier');
  const trainFeat = b1?.feature === 'b1_head.pool_layer' ? 'before' : 'after';
  const cls = L.get('b1_head.classifier');
  if (!cls || cls.kind !== 'linear') return custom('b1_head has no linear classifier');
  const inputShape = a.inputShape;
  if (!inputShape || inputShape[2] !== 3) return custom('the input is not a 3-channel image');
  const spec: ModelSpec = {
    depth: 'resnet50', ibn, stem: 'fastreid', lastStride, neck: 'bnneck', neckFeat: 'after', trainFeat, classifierBias: cls.params.bias === true, pool,
    numClasses: cls.shape[0]!, input: [inputShape[0]!, inputShape[1]!], frozenBackbone: a.layers.some((l) => isMgnBackboneLayer(l.name) && l.frozen), arch: 'mgn', embeddingDim,
  };
  const diff = diffModels(a, analyze(buildModel(spec).graph));
  if (diff) return { ok: false, reasons: [diff.freeze ? `freeze pattern: ${diff.text}` : `custom topology: ${diff.text}`], spec };
  return { ok: true, spec, analysis: a };
}

export function presetName(spec: Pick<ModelSpec, 'depth' | 'ibn' | 'arch' | 'senet'>): string {
  if (spec.senet) return spec.senet;
  if (spec.arch === 'mgn') return spec.ibn ? 'mgn_R50-ibn' : 'mgn_R50';
  if (spec.arch === 'resnest') return spec.depth.replace('resnet', 'resnest');
  return spec.ibn ? `${spec.depth}_ibn_a` : spec.depth;
}
