import { weightSpecs, type Layer, type WeightSpec, type WeightTransform } from '../../core/index.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * Maps a checkpoint's state dict onto the graph's tfjs weight slots (and back, for export).
 *
 * Key conventions: the graph's layers carry reid-strong-baseline (RSB) Baseline
 * names (`base.layer1.0.bn1`, `bottleneck`, `classifier`). Accepted files:
 *  - RSB Baseline state dicts (`base.…`, `bottleneck.…`, `classifier.…`): names used as they are;
 *  - ImageNet backbones (torchvision, IBN-Net releases; no prefix): `base.` is prepended, `fc.*` skipped;
 *  - fast-reid (`backbone.…` → `base.…`, `heads.bottleneck.0.…` → `bottleneck.…`, `heads.weight` →
 *    `classifier.weight`);
 *  - any of these with DataParallel's `module.` prefix (stripped).
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

export interface LoadReport {
  format: string;
  /** Where the state dict sat in the file ('' top level, 'state_dict', 'model'). */
  wrapper: string;
  layout: 'reid-strong-baseline' | 'fast-reid' | 'imagenet-backbone';
  loaded: LoadedEntry[];
  /** Loaded entries whose checkpoint key differs from the graph key (a subset of `loaded`). */
  renamed: { from: string; to: string }[];
  /** Checkpoint keys that were not used, with the reason. */
  skipped: { key: string; reason: string }[];
  /** Graph slots the checkpoint does not provide: they keep their fresh initialisation. */
  missing: { key: string; layer: string; slot: string; init: string }[];
  /** Graph slots whose checkpoint tensor has the wrong shape: not loaded, they keep their initialisation. */
  mismatched: { key: string; source: string; layer: string; slot: string; expected: number[]; got: number[] }[];
  counts: { loaded: number; renamed: number; skipped: number; missing: number; mismatched: number; slots: number; tensors: number };
}

export interface LoadPlan {
  /** `${layerName}/${slot}` → values in tfjs layout (already transformed). */
  values: Map<string, Float32Array>;
  report: LoadReport;
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Moves every element between the torch and tfjs layouts: Linear [out, in] ↔ [in, out], and conv
 * OIHW ↔ HWIO (permute (2, 3, 1, 0)). `move(t, f)` receives the torch and tfjs index.
 */
function relayout(data: Float32Array, torchShape: number[], transform: WeightTransform, toTf: boolean): Float32Array {
  if (transform === 'none') return data.slice();
  const out = new Float32Array(data.length);
  const move = toTf ? (t: number, f: number) => (out[f] = data[t]!) : (t: number, f: number) => (out[t] = data[f]!);
  if (transform === 'transpose2d') {
    const [o, i] = torchShape as [number, number];
    for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) move(r * i + c, c * o + r);
    return out;
  }
  const [O, I, H, W] = torchShape as [number, number, number, number];
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) move(((o * I + i) * H + h) * W + w, ((h * W + w) * I + i) * O + o);
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

function detectLayout(keys: string[]): LoadReport['layout'] {
  if (keys.some((k) => k.startsWith('backbone.') || k.startsWith('heads.'))) return 'fast-reid';
  if (keys.some((k) => k.startsWith('base.') || k.startsWith('bottleneck.') || k.startsWith('classifier.'))) return 'reid-strong-baseline';
  return 'imagenet-backbone';
}

/** The checkpoint key in the graph's RSB layout, or null when the key has no counterpart by rule. */
function renameKey(k: string, layout: LoadReport['layout'], backbonePrefix: string): string {
  if (layout === 'fast-reid') {
    if (k.startsWith('backbone.')) return backbonePrefix + k.slice('backbone.'.length);
    if (k.startsWith('heads.bottleneck.0.')) return 'bottleneck.' + k.slice('heads.bottleneck.0.'.length);
    if (k.startsWith('heads.bnneck.')) return 'bottleneck.' + k.slice('heads.bnneck.'.length); // fast-reid ≤ v0.1
    if (k === 'heads.weight' || k === 'heads.classifier.weight') return 'classifier.weight';
    return k;
  }
  if (layout === 'imagenet-backbone') return backbonePrefix + k;
  return k;
}

/**
 * Plans loading `ckpt` into the graph's layers: which tfjs slot gets which (transformed) values, and a
 * report of everything else. Never throws on missing/unused keys or shape mismatches.
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
  const backbonePrefix = layers.some((l) => l.name.startsWith('base.')) ? 'base.' : '';

  // DataParallel prefix first (FR and IBN-2019 .pth.tar files), then the layout's renames.
  const stripped = [...ckpt.tensors.keys()].map((k) => {
    let s = k;
    while (s.startsWith('module.')) s = s.slice('module.'.length);
    return s;
  });
  const layout = detectLayout(stripped);

  const values = new Map<string, Float32Array>();
  const report: LoadReport = {
    format: ckpt.format,
    wrapper: ckpt.wrapper ?? '',
    layout,
    loaded: [],
    renamed: [],
    skipped: [],
    missing: [],
    mismatched: [],
    counts: { loaded: 0, renamed: 0, skipped: 0, missing: 0, mismatched: 0, slots: 0, tensors: ckpt.tensors.size },
  };
  const filled = new Map<string, string>(); // graph torch key → checkpoint key that filled (or claimed) it
  const skip = (key: string, reason: string) => report.skipped.push({ key, reason });

  let idx = 0;
  for (const [source, t] of ckpt.tensors) {
    const s = stripped[idx++]!;
    const key = renameKey(s, layout, backbonePrefix);
    const leaf = key.slice(key.lastIndexOf('.') + 1);
    if (leaf === 'num_batches_tracked') {
      skip(source, 'num_batches_tracked: a BatchNorm step counter that tfjs does not use');
      continue;
    }
    if (/(^|\.)IN\.running_(mean|var)$/.test(key)) {
      skip(source, 'InstanceNorm running statistics (PyTorch 0.3 file): IBN-a InstanceNorm keeps none');
      continue;
    }
    if ((layout === 'imagenet-backbone' && /^fc\./.test(s)) || key.startsWith(`${backbonePrefix}fc.`)) {
      skip(source, 'ImageNet classifier (fc): not part of a re-ID model');
      continue;
    }
    if (/(^|\.)last_linear\./.test(s)) {
      skip(source, 'ImageNet classifier (last_linear): not part of a re-ID model');
      continue;
    }
    const target = targets.get(key);
    if (key.startsWith('classifier.') && target) {
      if (!opts.keepClassifier) {
        // RSB Baseline.load_param skips every key containing "classifier".
        skip(source, 'classifier not loaded: it is specific to the training identities (keep it to resume training on the same classes)');
        continue;
      }
      if (!sameShape(t.shape, target.spec.torchShape)) {
        skip(source, `classifier has ${t.shape[0]} classes in the file but ${target.spec.torchShape[0]} in the graph`);
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
        report.mismatched.push({ key, source, layer: layer.name, slot: spec.slot, expected: spec.torchShape, got: t.shape });
        continue;
      }
      values.set(`${layer.name}/${spec.slot}`, toTfjs(t.data, spec.torchShape, spec.transform));
      report.loaded.push({ key, source, layer: layer.name, slot: spec.slot });
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
      report.mismatched.push({ key: plainInto.spec.torchKey, source, layer: plainInto.layer.name, slot: plainInto.spec.slot, expected: plainInto.spec.torchShape, got: t.shape });
      continue;
    }
    if (ibnInto) {
      const plain = targets.get(`${ibnInto[1]}.${ibnInto[3]}`);
      if (ibnInto[2] === 'BN' && plain && !filled.has(plain.spec.torchKey)) {
        filled.set(plain.spec.torchKey, source);
        report.mismatched.push({ key: plain.spec.torchKey, source, layer: plain.layer.name, slot: plain.spec.slot, expected: plain.spec.torchShape, got: t.shape });
      } else skip(source, `IBN-a ${ibnInto[2]} half, but ${ibnInto[1]} is a plain BatchNorm in the graph`);
      continue;
    }
    const layerName = key.slice(0, key.lastIndexOf('.'));
    skip(source, layerByName.has(layerName) ? `layer ${layerName} has no parameter "${leaf}"` : `no layer ${layerName || key} in the graph`);
  }

  for (const [key, { layer, spec }] of targets) {
    report.counts.slots++;
    if (!filled.has(key)) report.missing.push({ key, layer: layer.name, slot: spec.slot, init: spec.init });
  }
  report.counts.loaded = report.loaded.length;
  report.counts.renamed = report.renamed.length;
  report.counts.skipped = report.skipped.length;
  report.counts.missing = report.missing.length;
  report.counts.mismatched = report.mismatched.length;
  return { values, report };
}

/**
 * The inverse for export: tfjs values (`${layer}/${slot}`, tfjs layout) → a PyTorch state dict in the RSB
 * Baseline layout (torch layout), in layer order. `num_batches_tracked` is not written: BatchNorm's
 * `_load_from_state_dict` fills it in when a state dict carries no version metadata, so
 * `model.load_state_dict(sd)` with strict=True still accepts the file.
 */
export function exportStateDict(layers: Layer[], values: Map<string, Float32Array>): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const layer of layers)
    for (const spec of weightSpecs(layer)) {
      const id = `${layer.name}/${spec.slot}`;
      const v = values.get(id);
      if (!v) throw new Error(`exportStateDict: no values for ${id}`);
      if (v.length !== numel(spec.shape)) throw new Error(`exportStateDict: ${id} has ${v.length} values, expected shape [${spec.shape.join(', ')}]`);
      out.set(spec.torchKey, { shape: [...spec.torchShape], data: toTorch(v, spec.torchShape, spec.transform) });
    }
  return out;
}
