import { resnetStem, RESNET_DEPTHS, type Depth, type Layer, type TorchvisionReidSpec } from '../../core/index.js';
import type { Checkpoint, CheckpointTensor } from './checkpoint.js';
import { prefixVariants } from './layouts.js';

/**
 * Re-ID checkpoints whose model is torchvision's ResNet with the code base's own head (core/presets/
 * torchvision.ts), recognised by their keys:
 *  - torchreid (deep-person-reid `torchreid/models/resnet.py`): an unprefixed torchvision backbone
 *    (`conv1.weight`, `layer1.0.conv1.weight`, …) next to `classifier.weight` / `classifier.bias`, with
 *    `fc.<3i>` Linear + `fc.<3i+1>` BatchNorm1d (+ ReLU `fc.<3i+2>`) per fc_dims entry (`resnet50_fc512`);
 *  - Person_reID_baseline_pytorch ft_net (`model.py`): the backbone under `model.` (torchvision's unused
 *    `model.fc.*` kept) and `classifier.add_block.<i>` (Linear 2048 → linear_num, BatchNorm1d) +
 *    `classifier.classifier.0` (Linear → classes).
 * A torchvision ImageNet file (`fc.weight` [1000, C], no identity classifier) is not one: it is the
 * pretrained backbone reid-strong-baseline itself loads into its no-ReLU stem.
 * Their stem is torchvision's: a ReLU after bn1 and a max pool 3×3/2 padding 1 without ceil mode (not
 * RSB's resnet.py, which has no ReLU; not fast-reid's, whose pool has padding 0 and ceil_mode).
 */
export interface SourceModel {
  framework: 'torchreid' | 'Person_reID_baseline_pytorch';
  /** The code base's model name: 'resnet50_fc512', 'resnet50', 'ft_net'. */
  model: string;
  /** In words, for the load report and refusals. */
  description: string;
  /** The graph that reproduces the checkpoint's model (the input size is the caller's). */
  spec: Omit<TorchvisionReidSpec, 'input'>;
}

const DEPTHS = Object.entries(RESNET_DEPTHS) as [Depth, (typeof RESNET_DEPTHS)[Depth]][];

/** Reads depth off torchvision backbone keys (`layer<s>.<i>.conv1.weight`, `conv3` for Bottleneck), or undefined. */
function depthOf(keys: Set<string>, pre: string): Depth | undefined {
  if (!keys.has(`${pre}conv1.weight`) || !keys.has(`${pre}bn1.running_var`)) return undefined;
  const counts = [1, 2, 3, 4].map((s) => {
    let i = 0;
    while (keys.has(`${pre}layer${s}.${i}.conv1.weight`)) i++;
    return i;
  });
  const block = keys.has(`${pre}layer1.0.conv3.weight`) ? 'bottleneck' : 'basic_block';
  return DEPTHS.find(([, d]) => d.block === block && d.layers.every((n, i) => n === counts[i]))?.[0];
}

/** Sequential children `<prefix><i>.*` in order: Linear (2-D weight) or BatchNorm1d (running_mean). */
function sequentialHead(t: Map<string, CheckpointTensor>, prefix: string): TorchvisionReidSpec['head'] | undefined {
  const head: TorchvisionReidSpec['head'] = [];
  const indices = [...new Set([...t.keys()].filter((k) => k.startsWith(prefix)).map((k) => Number(k.slice(prefix.length).split('.')[0])))].sort((a, b) => a - b);
  for (const i of indices) {
    const name = `${prefix}${i}`;
    const w = t.get(`${name}.weight`);
    if (t.has(`${name}.running_mean`)) head.push({ kind: 'batch_norm', name });
    else if (w?.shape.length === 2 && t.has(`${name}.bias`)) head.push({ kind: 'linear', name, units: w.shape[0]! });
    else return undefined;
  }
  return head;
}

/** The torchvision-ResNet re-ID model a checkpoint holds (see the interface), or undefined. */
export function detectSourceModel(ckpt: Checkpoint): SourceModel | undefined {
  // One wrapper strip for the whole file (DataParallel's module., …), as planLoad's groups show it.
  const strip = (k: string) => prefixVariants(k).filter(([p]) => !p.endsWith('model.')).at(-1)![1];
  const t = new Map([...ckpt.tensors].map(([k, v]) => [strip(k), v]));
  const keys = new Set(t.keys());
  const ft = depthOf(keys, 'model.');
  if (ft && keys.has('classifier.classifier.0.weight')) {
    const head = sequentialHead(t, 'classifier.add_block.');
    const cls = t.get('classifier.classifier.0.weight')!;
    if (head)
      return {
        framework: 'Person_reID_baseline_pytorch',
        model: ft === 'resnet50' ? 'ft_net' : `ft_net (${ft})`,
        description: `Person_reID_baseline_pytorch ft_net: torchvision ${ft} (ReLU after bn1), ClassBlock add_block ${head.map((h) => (h.kind === 'linear' ? `Linear → ${h.units}` : 'BatchNorm1d')).join(', ')} (the feature test.py takes), classifier ${cls.shape[0]} classes`,
        spec: { depth: ft, lastStride: 2, head, classifier: { name: 'classifier.classifier.0', units: cls.shape[0]! } },
      };
  }
  const tr = depthOf(keys, '');
  const cls = t.get('classifier.weight');
  if (tr && cls?.shape.length === 2 && t.has('classifier.bias')) {
    const fc = sequentialHead(t, 'fc.');
    if (!fc) return undefined;
    // _construct_fc_layer: Linear, BatchNorm1d, ReLU per fc_dims entry (the ReLU has no state: index 3i + 2).
    const head: TorchvisionReidSpec['head'] = [];
    for (let i = 0; i < fc.length; i += 2) {
      const [lin, bn] = [fc[i], fc[i + 1]];
      if (lin?.kind !== 'linear' || bn?.kind !== 'batch_norm' || lin.name !== `fc.${(3 * i) / 2}` || bn.name !== `fc.${(3 * i) / 2 + 1}`) return undefined;
      head.push(lin, bn, { kind: 'relu', name: `fc.${(3 * i) / 2 + 2}` });
    }
    const dims = head.filter((h) => h.kind === 'linear').map((h) => (h as { units: number }).units);
    const model = dims.length ? `${tr}_fc${dims.join('_')}` : tr;
    return {
      framework: 'torchreid',
      model,
      description: `torchreid ${model}: torchvision ${tr} (ReLU after bn1)${dims.length ? `, fc ${dims.map((d) => `Linear → ${d}, BatchNorm1d, ReLU`).join('; ')}` : ''}, classifier ${cls.shape[0]} classes`,
      // torchreid's builders: resnet50_fc512 with last_stride 1, the plain ResNets with 2.
      spec: { depth: tr, lastStride: dims.length ? 1 : 2, head, classifier: { name: 'classifier', units: cls.shape[0]! } },
    };
  }
  return undefined;
}

/**
 * Where the graph is not the checkpoint's model, in words (empty when it is): the stem (torchvision's has a
 * ReLU after bn1 and pools with padding 1) and the head layers, which the graph must have under the
 * source's names to load them.
 */
export function sourceMismatch(source: SourceModel, layers: readonly Layer[]): string[] {
  const out: string[] = [];
  const stem = resnetStem(layers);
  if (!stem || !stem.relu || !stem.rsbPool)
    out.push(
      !stem
        ? 'the graph has no ResNet stem'
        : !stem.relu
          ? "the graph's stem has no ReLU after bn1 (reid-strong-baseline's resnet.py); torchvision's has one"
          : "the graph's stem pools with padding 0, ceil_mode (fast-reid's); torchvision's pools with padding 1",
    );
  const names = new Map(layers.map((l) => [l.name, l.kind]));
  const absent = source.spec.head.filter((h) => names.get(h.name) !== h.kind).map((h) => h.name);
  if (absent.length) out.push(`the graph has no ${absent.join(', ')} (the checkpoint's head after the pooling), so its feature is another one`);
  return out;
}

/**
 * The refusal for features computed from `file` into a graph that is not its model (report.source /
 * report.sourceMismatch of planLoad), or null: one line, the model, what differs and the fix.
 */
export function sourceRefusal(file: string, report: { source?: SourceModel; sourceMismatch?: string[] } | undefined): string | null {
  if (!report?.source || !report.sourceMismatch?.length) return null;
  return `${file} is a ${report.source.description}; ${report.sourceMismatch.join('; ')}: features from this graph would not be the checkpoint's. Use its own model: embed --source-model builds it`;
}
