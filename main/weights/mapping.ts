import { counted, getKind, weightSpecs, type Layer, type WeightSpec, type WeightTransform } from '../../core/index.js';
import type { Checkpoint, CheckpointTensor } from './checkpoint.js';
import { NonFiniteWeightsError } from './errors.js';
import { prefixVariants, RULES, type Rule, type RuleContext, type RuleId, type RuleTarget } from './layouts.js';
import { detectSourceModel, sourceMismatch, type SourceModel } from './source-model.js';

/**
 * Maps a checkpoint's state dict onto the graph's tfjs weight slots (and back, for export).
 *
 * Key conventions: the graph's layers carry reid-strong-baseline (RSB) Baseline names
 * (`base.layer1.0.bn1`, `bottleneck`, `classifier`). The layouts accepted, decided key by key, are listed
 * in layouts.ts: RSB Baseline state dicts; ImageNet backbones with no prefix (torchvision, IBN-Net
 * releases, torchreid's backbone next to its own `classifier.*`); fast-reid (`backbone.*`, `heads.*`,
 * `pixel_mean` / `pixel_std`); any of these under wrapper prefixes (`module.`, `_orig_mod.`, `model.`,
 * `net.`, alone or combined).
 * Unlike RSB's load_param (which raises KeyError on the first unknown key, issues #94/#153), nothing here
 * throws on a key or shape problem: every checkpoint key and every graph slot ends up in the report.
 */

export interface LoadedEntry {
  /** The graph's torch key (RSB layout). */
  key: string;
  /** The checkpoint key it came from. */
  source: string;
  layer: string;
  slot: string;
}

/** One group of checkpoint keys that took the same mapping (wrapper prefix + layout rule). */
export interface LoadGroup {
  /** The rule (layouts.ts): 'imagenet-backbone', 'fast-reid-heads', … */
  layout: RuleId;
  /** In words, e.g. 'fast-reid backbone (backbone.*)'. */
  label: string;
  /** Wrapper prefix stripped from these keys ('' none, 'module.', 'module._orig_mod.', …). */
  stripped: string;
  /** Where the group goes in the graph, e.g. 'base.*'. */
  to: string;
  keys: number;
  loaded: number;
  skipped: number;
  mismatched: number;
  /** The first two checkpoint keys of the group. */
  examples: string[];
}

export interface LoadReport {
  format: string;
  /** Where the state dict sat in the file ('' top level, 'state_dict', 'model'). */
  wrapper: string;
  /**
   * The file's layout in one word: the group that loaded most decides ('torchreid' = an ImageNet-style
   * backbone next to a `classifier.*` head). `groups` has the layout key by key.
   */
  layout: 'reid-strong-baseline' | 'fast-reid' | 'imagenet-backbone' | 'torchreid';
  /** The keys grouped by the layout each matched, in file order of first appearance. */
  groups: LoadGroup[];
  loaded: LoadedEntry[];
  /** Loaded entries whose checkpoint key differs from the graph key (a subset of `loaded`). */
  renamed: { from: string; to: string }[];
  /** Checkpoint keys that were not used, with the reason. */
  skipped: { key: string; reason: string }[];
  /** Graph slots the checkpoint does not provide: they keep their fresh initialisation. */
  missing: { key: string; layer: string; slot: string; init: string }[];
  /** Graph slots whose checkpoint tensor has the wrong shape: not loaded, they keep their initialisation. */
  mismatched: { key: string; source: string; layer: string; slot: string; expected: number[]; got: number[] }[];
  /** Tensors that would load but hold NaN / ±Inf (not loaded; also in `skipped`): training refuses the file. */
  nonFinite: { key: string; source: string; nan: number; posInf: number; negInf: number; elements: number; /** Values below 0 in a BatchNorm `running_var` (a variance is ≥ 0; batch_norm would take the root of a negative number). */ negative?: number }[];
  /**
   * The checkpoint's own input normalisation (fast-reid `pixel_mean` / `pixel_std` buffers), when it has
   * one: `pixelMean` / `pixelStd` as stored (on the `scale`: 255 for fast-reid), `mean` / `std` on the
   * 0–1 scale (torchvision Normalize, RSB INPUT.PIXEL_MEAN).
   */
  preprocessing?: { source: string; pixelMean: number[]; pixelStd: number[]; scale: number; mean: number[]; std: number[] };
  counts: { loaded: number; renamed: number; skipped: number; missing: number; mismatched: number; slots: number; tensors: number };
  /**
   * Set when the file is a re-ID model built on torchvision's ResNet (torchreid, Person_reID_baseline_pytorch
   * ft_net; source-model.ts): what it is, and `sourceMismatch` where the graph is not that model (the stem, the
   * head after the pooling) — features computed anyway would not be the checkpoint's.
   */
  source?: SourceModel;
  sourceMismatch?: string[];
}

export interface LoadPlan {
  /** `${layerName}/${slot}` → values in tfjs layout (transformed when first read). */
  values: Map<string, Float32Array>;
  /** The same slots in PyTorch layout: the checkpoint's own arrays, no copy (what the weight store takes, main/weights/store.ts). */
  torch: Map<string, Float32Array>;
  report: LoadReport;
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Moves every element between the torch and tfjs layouts: Linear [out, in] ↔ [in, out], and conv
 * OIHW ↔ HWIO (torch permute(2, 3, 1, 0)). Writes the output in order (one strided read per element).
 */
function relayout(data: Float32Array, torchShape: number[], transform: WeightTransform, toTf: boolean): Float32Array {
  if (transform === 'none') return data.slice();
  const out = new Float32Array(data.length);
  let k = 0;
  if (transform === 'transpose2d') {
    const [o, i] = torchShape as [number, number];
    // tfjs [in, out][c][r] = torch [out, in][r][c]
    if (toTf) for (let c = 0; c < i; c++) for (let r = 0; r < o; r++) out[k++] = data[r * i + c]!;
    else for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) out[k++] = data[c * o + r]!;
    return out;
  }
  const [O, I, H, W] = torchShape as [number, number, number, number];
  if (toTf) {
    // HWIO[h][w][i][o] = OIHW[o][i][h][w]
    const sO = I * H * W;
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let i = 0; i < I; i++) {
          const base = (i * H + h) * W + w;
          for (let o = 0; o < O; o++) out[k++] = data[base + o * sO]!;
        }
  } else {
    const sH = W * I * O;
    const sW = I * O;
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) out[k++] = data[h * sH + w * sW + i * O + o]!;
  }
  return out;
}

/** torch layout → tfjs layout. */
export function toTfjs(data: Float32Array, torchShape: number[], transform: WeightTransform): Float32Array {
  return relayout(data, torchShape, transform, true);
}

/** tfjs layout → torch layout (inverse of toTfjs). */
export function toTorch(data: Float32Array, torchShape: number[], transform: WeightTransform): Float32Array {
  return relayout(data, torchShape, transform, false);
}

interface Target {
  layer: Layer;
  spec: WeightSpec;
}

interface Candidate {
  /** Mapping identity: stripped wrapper prefix + rule. */
  id: string;
  prefix: string;
  /** Key after the wrapper prefix. */
  rest: string;
  rule: Rule;
  target: RuleTarget;
  /** 0 slot with the right shape, 1 slot with another shape, 2 the layer exists or the key is known, 3 nothing. */
  tier: number;
}

/** Counts the NaN / +Inf / −Inf elements of a tensor (null when every element is finite). */
function nonFiniteCounts(data: Float32Array): { nan: number; posInf: number; negInf: number } | null {
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v === 0) continue; // finite
    if (v !== v) nan++;
    else if (v > 0) posInf++;
    else negInf++;
  }
  return nan + posInf + negInf ? { nan, posInf, negInf } : null;
}

const describeNonFinite = (c: { nan: number; posInf: number; negInf: number; negative?: number }, n: number) =>
  [c.nan && `${c.nan} NaN`, c.posInf && `${c.posInf} +Inf`, c.negInf && `${c.negInf} −Inf`, c.negative && `${c.negative} negative variances`].filter(Boolean).join(', ') + ` of ${n} values`;

/**
 * Finite values outside a statistic's domain: a BatchNorm `running_var` must be ≥ 0 (eval-mode batch_norm
 * divides by sqrt(running_var + eps), torch/nn/functional.py; a negative variance gives NaN features).
 * Returns the count of negative values, 0 for other tensors.
 */
function outOfDomain(torchKey: string, data: Float32Array): number {
  if (!torchKey.endsWith('running_var')) return 0;
  let negative = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! < 0) negative++;
  return negative;
}

/**
 * fast-reid's `pixel_mean` / `pixel_std` buffers ([1, 3, 1, 1], applied to 0–255 pixels by
 * `Baseline.preprocess_image`): the checkpoint's input normalisation, also on the 0–1 scale.
 */
function readPreprocessing(mean: CheckpointTensor | undefined, std: CheckpointTensor | undefined): LoadReport['preprocessing'] {
  if (!mean || !std || mean.data.length !== 3 || std.data.length !== 3) return undefined;
  const pixelMean = Array.from(mean.data);
  const pixelStd = Array.from(std.data);
  // Values above 1 mean the 0–255 scale (fast-reid); a file written for 0–1 inputs keeps its own scale.
  const scale = pixelMean.some((v) => v > 1) || pixelStd.some((v) => v > 1) ? 255 : 1;
  const r = (v: number) => Math.round((v / scale) * 1e7) / 1e7;
  return { source: 'pixel_mean / pixel_std', pixelMean, pixelStd, scale, mean: pixelMean.map(r), std: pixelStd.map(r) };
}

/**
 * Plans loading `ckpt` into the graph's layers: which tfjs slot gets which (transformed) values, and a
 * report of everything else. Never throws on missing/unused keys or shape mismatches.
 *
 * Layout per key, not per file: every key gets the candidates of every wrapper-prefix strip × every rule
 * of layouts.ts; each candidate mapping is scored by how many keys of the file it puts on a graph slot of
 * the right shape, and each key takes its best candidate (a slot with the right shape, then a slot with
 * another shape, then a known layer), the higher-scoring mapping first. The report groups the keys by the
 * mapping they took (`groups`).
 *
 * Non-finite tensors (NaN / ±Inf) are not loaded: they are listed in `nonFinite` (and `skipped`);
 * training refuses such a file (assertFiniteWeights).
 *
 * IBN-a vs plain BN: a plain ResNet's `layerX.Y.bn1.{weight,bias,running_*}` [C] cannot fill the IBN-a
 * layer's `bn1.BN.*` [C/2] (different size and a different normalisation), so those four slots are
 * reported as `mismatched` (source = the plain key) and keep their init, and the `bn1.IN.{weight,bias}`
 * slots are `missing`. The reverse (an IBN file into a plain graph) reports the plain bn1 slots as
 * mismatched against `bn1.BN.*` and skips `bn1.IN.*`. We deliberately do not copy half of the plain BN
 * statistics into the BN half: IBN-Net's own ImageNet weights are trained for the split, and a silent
 * partial copy would hide that the backbone is not the pretrained one.
 */
export function planLoad(layers: Layer[], ckpt: Checkpoint, opts: { keepClassifier?: boolean } = {}): LoadPlan {
  const targets = new Map<string, Target>();
  const layerByName = new Map<string, Layer>();
  for (const layer of layers) {
    layerByName.set(layer.name, layer);
    for (const spec of weightSpecs(layer)) targets.set(spec.torchKey, { layer, spec });
  }
  // The identity classifier: a Linear no other layer reads (RSB `classifier`, ft_net `classifier.classifier.0`).
  const consumed = new Set(layers.flatMap((l) => l.inputs));
  const isClassifier = (l: Layer) => l.kind === 'linear' && !consumed.has(l.name);
  const gems = layers.filter((l) => l.kind === 'gem_pool' && l.params.learnable);
  const pool = layers.find((l) => getKind(l.kind)?.globalPool);
  const ctx: RuleContext = {
    backbonePrefix: layers.some((l) => l.name.startsWith('base.')) ? 'base.' : '',
    ...(gems.length === 1 ? { gemP: gems[0]! } : {}),
    ...(pool ? { pool } : {}),
  };

  // A key whose layer is in the graph (also the IBN-a halves against a plain BN and vice versa).
  const layerKnown = (key: string) => {
    const layer = key.slice(0, key.lastIndexOf('.'));
    return layerByName.has(layer) || layerByName.has(layer.replace(/\.(BN|IN)$/, ''));
  };
  const candidatesOf = (source: string, t: CheckpointTensor): Candidate[] => {
    const out: Candidate[] = [];
    for (const [prefix, rest] of prefixVariants(source))
      for (const rule of RULES) {
        const target = rule.map(rest, t, ctx);
        if (!target) continue;
        let tier = 2;
        if ('key' in target) {
          const slot = targets.get(target.key);
          tier = slot ? (sameShape(t.shape, slot.spec.torchShape) ? 0 : 1) : layerKnown(target.key) ? 2 : 3;
        }
        out.push({ id: `${prefix}|${rule.id}`, prefix, rest, rule, target, tier });
      }
    return out;
  };
  const all = [...ckpt.tensors].map(([source, t]) => ({ source, t, cands: candidatesOf(source, t) }));
  const score = new Map<string, number>();
  for (const { cands } of all) for (const c of new Set(cands.filter((x) => x.tier === 0).map((x) => x.id))) score.set(c, (score.get(c) ?? 0) + 1);
  const pick = (cands: Candidate[]): Candidate =>
    cands.reduce((best, c) => (c.tier < best.tier || (c.tier === best.tier && (score.get(c.id) ?? 0) > (score.get(best.id) ?? 0)) ? c : best));

  const torch = new Map<string, { data: Float32Array; spec: WeightSpec }>();
  const report: LoadReport = {
    format: ckpt.format,
    wrapper: ckpt.wrapper ?? '',
    layout: 'reid-strong-baseline',
    groups: [],
    loaded: [],
    renamed: [],
    skipped: [],
    missing: [],
    mismatched: [],
    nonFinite: [],
    counts: { loaded: 0, renamed: 0, skipped: 0, missing: 0, mismatched: 0, slots: 0, tensors: ckpt.tensors.size },
  };
  const groups = new Map<string, LoadGroup>();
  const filled = new Map<string, string>(); // graph torch key → checkpoint key that filled (or claimed) it
  let group!: LoadGroup;
  const skip = (key: string, reason: string) => {
    report.skipped.push({ key, reason });
    group.skipped++;
  };
  const mismatch = (m: LoadReport['mismatched'][number]) => {
    report.mismatched.push(m);
    group.mismatched++;
  };

  for (const { source, t, cands } of all) {
    const c = pick(cands);
    group = groups.get(c.id) ?? { layout: c.rule.id, label: c.rule.label, stripped: c.prefix, to: c.rule.to, keys: 0, loaded: 0, skipped: 0, mismatched: 0, examples: [] };
    groups.set(c.id, group);
    group.keys++;
    if (group.examples.length < 2) group.examples.push(source);
    if ('skip' in c.target) {
      skip(source, c.target.skip);
      continue;
    }
    const key = c.target.key;
    const s = c.rest;
    const leaf = key.slice(key.lastIndexOf('.') + 1);
    if (leaf === 'num_batches_tracked') {
      skip(source, 'num_batches_tracked: a BatchNorm step counter that tfjs does not use');
      continue;
    }
    if (/(^|\.)IN\.running_(mean|var)$/.test(key)) {
      skip(source, 'InstanceNorm running statistics (PyTorch 0.3 file): IBN-a InstanceNorm keeps none');
      continue;
    }
    if (c.tier > 0 && /^fc\.\d+\./.test(s)) {
      skip(source, 'torchreid fc embedding layer (fc_dims): the graph has no such layer after the pooling');
      continue;
    }
    if (c.tier > 0 && (/^fc\./.test(s) || key.startsWith(`${ctx.backbonePrefix}fc.`))) {
      skip(source, 'ImageNet classifier (fc): not part of a re-ID model');
      continue;
    }
    if (/(^|\.)last_linear\./.test(s)) {
      skip(source, 'ImageNet classifier (last_linear): not part of a re-ID model');
      continue;
    }
    const target = targets.get(key);
    if (target && isClassifier(target.layer)) {
      if (!opts.keepClassifier) {
        // RSB modeling/baseline.py Baseline.load_param skips every key containing "classifier".
        skip(source, `classifier of the training identities (${counted(t.shape[0]!, 'class', 'classes')}) not loaded: it is specific to them (keep it to resume training on the same classes)`);
        continue;
      }
      if (!sameShape(t.shape, target.spec.torchShape)) {
        skip(source, `classifier has ${counted(t.shape[0]!, 'class', 'classes')} in the file but ${target.spec.torchShape[0]} in the graph`);
        continue;
      }
    }
    if (target) {
      if (filled.has(key)) {
        skip(source, `duplicate: ${key} was already loaded from ${filled.get(key)}`);
        continue;
      }
      filled.set(key, source);
      const { layer, spec } = target;
      if (!sameShape(t.shape, spec.torchShape)) {
        mismatch({ key, source, layer: layer.name, slot: spec.slot, expected: spec.torchShape, got: t.shape });
        continue;
      }
      const negative = outOfDomain(spec.torchKey, t.data);
      const bad = nonFiniteCounts(t.data) ?? (negative ? { nan: 0, posInf: 0, negInf: 0 } : null);
      if (bad) {
        report.nonFinite.push({ key, source, ...bad, elements: t.data.length, ...(negative ? { negative } : {}) });
        skip(source, `${negative ? 'invalid statistics' : 'non-finite values'} (${describeNonFinite({ ...bad, negative }, t.data.length)}): not loaded`);
        continue;
      }
      torch.set(`${layer.name}/${spec.slot}`, { data: t.data, spec });
      report.loaded.push({ key, source, layer: layer.name, slot: spec.slot });
      group.loaded++;
      if (key !== source) report.renamed.push({ from: source, to: key });
      continue;
    }
    // IBN-a ↔ plain BN crossover (see the doc comment).
    const m = /^(.*)\.(weight|bias|running_mean|running_var)$/.exec(key);
    const plainInto = m && layerByName.get(m[1]!)?.kind === 'ibn_a' ? targets.get(`${m[1]}.BN.${m[2]}`) : undefined;
    const ibn = /^(.*)\.(BN|IN)\.(weight|bias|running_mean|running_var)$/.exec(key);
    const ibnInto = ibn && layerByName.get(ibn[1]!)?.kind === 'batch_norm' ? ibn : null;
    if (plainInto && !filled.has(plainInto.spec.torchKey)) {
      filled.set(plainInto.spec.torchKey, source);
      mismatch({ key: plainInto.spec.torchKey, source, layer: plainInto.layer.name, slot: plainInto.spec.slot, expected: plainInto.spec.torchShape, got: t.shape });
      continue;
    }
    if (ibnInto) {
      const plain = targets.get(`${ibnInto[1]}.${ibnInto[3]}`);
      if (ibnInto[2] === 'BN' && plain && !filled.has(plain.spec.torchKey)) {
        filled.set(plain.spec.torchKey, source);
        mismatch({ key: plain.spec.torchKey, source, layer: plain.layer.name, slot: plain.spec.slot, expected: plain.spec.torchShape, got: t.shape });
      } else skip(source, `IBN-a ${ibnInto[2]} half, but ${ibnInto[1]} is a plain BatchNorm in the graph`);
      continue;
    }
    const layerName = key.slice(0, key.lastIndexOf('.'));
    skip(source, layerByName.has(layerName) ? `layer ${layerName} has no parameter "${leaf}"` : `unknown key: no layer ${layerName || key} in the graph`);
  }

  for (const [key, { layer, spec }] of targets) {
    report.counts.slots++;
    if (!filled.has(key)) report.missing.push({ key, layer: layer.name, slot: spec.slot, init: spec.init });
  }
  report.groups = [...groups.values()];
  report.layout = summaryLayout(report.groups);
  const stripped = (k: string) => prefixVariants(k).at(-1)![1];
  const keyOf = (name: string) => [...ckpt.tensors.keys()].find((k) => stripped(k) === name);
  const pre = readPreprocessing(ckpt.tensors.get(keyOf('pixel_mean') ?? ''), ckpt.tensors.get(keyOf('pixel_std') ?? ''));
  if (pre) report.preprocessing = pre;
  const source = detectSourceModel(ckpt);
  if (source) {
    report.source = source;
    const why = sourceMismatch(source, layers);
    if (why.length) report.sourceMismatch = why;
  }
  report.counts.loaded = report.loaded.length;
  report.counts.renamed = report.renamed.length;
  report.counts.skipped = report.skipped.length;
  report.counts.missing = report.missing.length;
  report.counts.mismatched = report.mismatched.length;
  let values: Map<string, Float32Array> | undefined;
  return {
    // The tfjs layout only for the consumers that read it (the tfjs model, the run checkpoint); the ONNX paths and
    // the exports read `torch` through the weight store, so a file is not re-laid-out and back.
    get values() {
      return (values ??= new Map([...torch].map(([id, { data, spec }]) => [id, toTfjs(data, spec.torchShape, spec.transform)])));
    },
    torch: new Map([...torch].map(([id, { data }]) => [id, data])),
    report,
  };
}

/** The file's layout in one word (the `layout` field kept from before per-key layouts), from its groups. */
function summaryLayout(groups: LoadGroup[]): LoadReport['layout'] {
  const loaded = (ids: RuleId[]) => groups.filter((g) => ids.includes(g.layout)).reduce((a, g) => a + g.loaded, 0);
  const known = (ids: RuleId[]) => groups.some((g) => ids.includes(g.layout) && g.keys > 0);
  if (loaded(['fast-reid-backbone', 'fast-reid-heads', 'fast-reid-mgn-heads']) > 0) return 'fast-reid';
  const imagenet = loaded(['imagenet-backbone']);
  const rsb = loaded(['reid-strong-baseline']);
  if (imagenet > rsb) return known(['classifier']) ? 'torchreid' : 'imagenet-backbone';
  if (rsb > 0 || known(['classifier'])) return 'reid-strong-baseline';
  return 'imagenet-backbone';
}

/**
 * A file whose loaded tensors hold NaN / ±Inf: refused before training starts (a run from such
 * weights ends at chance level with NaN checkpoints). The message names the tensors.
 */
export function assertFiniteWeights(report: LoadReport, file: string): void {
  const bad = report.nonFinite;
  if (!bad.length) return;
  const names = bad.slice(0, 3).map((b) => `${b.source} (${describeNonFinite(b, b.elements)})`).join('; ');
  throw new NonFiniteWeightsError(`${file}: ${bad.length} pretrained tensor(s) hold ${bad.some((b) => b.negative) ? 'invalid values (NaN / Inf / negative variance)' : 'non-finite values (NaN / Inf)'}: ${names}${bad.length > 3 ? `; and ${bad.length - 3} more` : ''}; re-export the weights from a healthy checkpoint`);
}

/**
 * The inverse for export: tfjs values (`${layer}/${slot}`, tfjs layout) → a PyTorch state dict in the RSB
 * Baseline layout (torch layout), in layer order. `num_batches_tracked` is not written: BatchNorm's
 * `_load_from_state_dict` fills it in when a state dict carries no version metadata, so
 * `model.load_state_dict(sd)` with strict=True still accepts the file. `o.partial`: slots without values are
 * left out instead of refused.
 */
export function exportStateDict(layers: Layer[], values: Map<string, Float32Array>, o: { partial?: boolean } = {}): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const layer of layers)
    for (const spec of weightSpecs(layer)) {
      const id = `${layer.name}/${spec.slot}`;
      const v = values.get(id);
      // `partial`: a slot without values is left out (a training job's framework initialises it).
      if (!v && o.partial) continue;
      if (!v) throw new Error(`exportStateDict: no values for ${id}`);
      if (v.length !== numel(spec.shape)) throw new Error(`exportStateDict: ${id} has ${v.length} values, expected shape [${spec.shape.join(', ')}]`);
      out.set(spec.torchKey, { shape: [...spec.torchShape], data: toTorch(v, spec.torchShape, spec.transform) });
    }
  return out;
}
