import type { Layer } from '../../core/index.js';
import type { CheckpointTensor } from './checkpoint.js';

/**
 * The checkpoint key layouts people bring, as candidate renamings onto the graph's names (the graph's
 * layers carry reid-strong-baseline's Baseline names: `base.layer1.0.bn1`, `bottleneck`, `classifier`).
 * planLoad tries every wrapper-prefix strip × every rule on every key and keeps, per key, the candidate
 * that lands on a graph slot with the right shape, preferring the candidate mapping that fits the most
 * keys of the file; a file therefore may mix layouts (torchreid: a torchvision backbone next to its own
 * `classifier.*`).
 *
 * Sources of the names:
 *  - reid-strong-baseline `modeling/baseline.py` (Baseline: `base`, `gap`, `bottleneck`, `classifier`);
 *  - torchvision `models/resnet.py` and IBN-Net `ibnnet/resnet_ibn_a.py` (`conv1`, `bn1`, `layer1..4`, `fc`);
 *  - deep-person-reid (torchreid) `torchreid/models/resnet.py` (torchvision names + `fc` embedding +
 *    `classifier`), saved as `{'state_dict', 'epoch', 'rank1', 'optimizer'}` by `torchreid/utils/torchtools.py`;
 *  - fast-reid `fastreid/modeling/meta_arch/baseline.py` (`backbone`, `heads`, buffers `pixel_mean` /
 *    `pixel_std` [1, 3, 1, 1] on the 0–255 scale), `fastreid/modeling/heads/embedding_head.py`
 *    (`heads.pool_layer`, `heads.bottleneck` = Sequential([Conv2d 1×1 if EMBEDDING_DIM > 0,] BN), `heads.weight`),
 *    older `fastreid/modeling/heads/bnneck_head.py` (`heads.bnneck`, `heads.classifier`) and
 *    `fastreid/layers/pooling.py` (GeneralizedMeanPoolingP: learned exponent `p` [1]).
 */

/** Wrapper prefixes stripped from the front of keys, alone or combined, in any order. */
export const WRAPPER_PREFIXES = [
  'module.', // torch.nn.DataParallel / DistributedDataParallel
  '_orig_mod.', // torch.compile (OptimizedModule)
  'model.', // PyTorch Lightning (self.model), tutorials
  'net.', // tutorials, some Lightning modules
] as const;

export type RuleId = 'reid-strong-baseline' | 'classifier' | 'imagenet-backbone' | 'fast-reid-backbone' | 'fast-reid-heads' | 'fast-reid-mgn-heads' | 'fast-reid-input';

/** What a rule makes of one key: a graph torch key, or a key it recognises but that has no graph slot. */
export type RuleTarget = { key: string } | { skip: string };

export interface RuleContext {
  /** 'base.' when the graph's backbone layers are named `base.…` (every preset), else ''. */
  backbonePrefix: string;
  /** The learnable GeM layer (fast-reid GeneralizedMeanPoolingP), if the graph has exactly one. */
  gemP?: Layer;
  /** The graph's global pooling layer (average or GeM), for messages. */
  pool?: Layer;
}

export interface Rule {
  id: RuleId;
  /** For the report: what the group is. */
  label: string;
  /** For the report: where the group goes in the graph. */
  to: string;
  map(key: string, t: CheckpointTensor, ctx: RuleContext): RuleTarget | null;
}

const BN_LEAF = /^(weight|bias|running_mean|running_var|num_batches_tracked)$/;
const fmtP = (t: CheckpointTensor) => (t.data.length === 1 ? String(Math.round(t.data[0]! * 1e4) / 1e4) : `[${t.shape.join(', ')}]`);

function poolWords(ctx: RuleContext): string {
  const p = ctx.pool;
  if (!p) return 'the graph has no global pooling layer';
  if (p.kind === 'gem_pool' && p.params.learnable) return 'the graph has more than one learnable GeM pool, so which one is ambiguous';
  if (p.kind === 'gem_pool') return `the graph's ${p.name} is a GeM pool with a fixed p = ${String(p.params.p)} (make p learnable to load it)`;
  return `the graph's ${p.name} is an average pool (fast-reid GlobalAvgPool); use a learnable GeM pool to load it`;
}

/** fast-reid heads (EmbeddingHead and the older BNneckHead / LinearHead). */
function fastReidHead(k: string, t: CheckpointTensor, ctx: RuleContext): RuleTarget | null {
  if (!k.startsWith('heads.')) return null;
  const rest = k.slice('heads.'.length);
  if (rest === 'pool_layer.p')
    return ctx.gemP ? { key: `${ctx.gemP.name}.p` } : { skip: `fast-reid learned GeM exponent (GeneralizedMeanPoolingP, p = ${fmtP(t)}): ${poolWords(ctx)}` };
  const bottleneck = /^bottleneck\.(\d+)\.(.+)$/.exec(rest);
  if (bottleneck) {
    // EMBEDDING_DIM > 0 puts a 1×1 conv at bottleneck.0 and the BNNeck at bottleneck.1.
    if (bottleneck[2] === 'weight' && t.shape.length === 4)
      return { skip: `fast-reid embedding conv (MODEL.HEADS.EMBEDDING_DIM ${t.shape[0]}): the graph has no reduction layer before the BNNeck` };
    return BN_LEAF.test(bottleneck[2]!) ? { key: `bottleneck.${bottleneck[2]}` } : null;
  }
  const bnneck = /^bnneck\.(.+)$/.exec(rest);
  if (bnneck && BN_LEAF.test(bnneck[1]!)) return { key: `bottleneck.${bnneck[1]}` };
  if (rest === 'weight') return { key: 'classifier.weight' };
  const cls = /^classifier\.(weight|bias)$/.exec(rest);
  if (cls) return { key: `classifier.${cls[1]}` };
  return null;
}

/** Candidate rules in preference order (earlier wins a tie in fitted keys). */
export const RULES: Rule[] = [
  {
    id: 'reid-strong-baseline',
    label: 'reid-strong-baseline Baseline',
    to: 'same names',
    map: (k) => (k.startsWith('classifier.') ? null : { key: k }),
  },
  {
    id: 'classifier',
    label: 'identity classifier (reid-strong-baseline / torchreid classifier.*)',
    to: 'classifier.*',
    map: (k) => (k.startsWith('classifier.') ? { key: k } : null),
  },
  {
    id: 'fast-reid-backbone',
    label: 'fast-reid backbone (backbone.*)',
    to: 'base.*',
    map: (k, _t, ctx) => (k.startsWith('backbone.') && ctx.backbonePrefix !== 'backbone.' ? { key: ctx.backbonePrefix + k.slice('backbone.'.length) } : null),
  },
  {
    id: 'fast-reid-heads',
    label: 'fast-reid heads (heads.*)',
    to: 'bottleneck.* / classifier.weight / GeM p',
    map: fastReidHead,
  },
  {
    // fast-reid MGN (fastreid/modeling/meta_arch/mgn.py): each EmbeddingHead `bX_head` keeps its class weight as
    // `bX_head.weight`; the graph's layer is `bX_head.classifier` (core/presets/mgn.ts). Every other MGN key
    // (backbone.N, bX.N, bX_head.pool_layer / bottleneck) is the graph's own name.
    id: 'fast-reid-mgn-heads',
    label: 'fast-reid MGN class weights (bX_head.weight)',
    to: 'bX_head.classifier.weight',
    map: (k) => {
      const m = /^(b\d+)_head\.weight$/.exec(k);
      return m ? { key: `${m[1]}_head.classifier.weight` } : null;
    },
  },
  {
    id: 'fast-reid-input',
    label: 'fast-reid input normalisation (pixel_mean / pixel_std buffers)',
    to: 'report.preprocessing',
    map: (k) => (k === 'pixel_mean' || k === 'pixel_std' ? { skip: `fast-reid input normalisation (MODEL.${k.toUpperCase()}): not a weight; reported as the checkpoint's preprocessing` } : null),
  },
  {
    id: 'imagenet-backbone',
    label: 'ImageNet-style backbone, no prefix (torchvision / IBN-Net / torchreid names)',
    to: 'base.*',
    map: (k, _t, ctx) => (ctx.backbonePrefix && !k.startsWith(ctx.backbonePrefix) && !k.startsWith('classifier.') ? { key: ctx.backbonePrefix + k } : null),
  },
];

/** Every way of stripping wrapper prefixes off the front of `key`: [stripped prefix, rest], shortest strip first. */
export function prefixVariants(key: string): [string, string][] {
  const out: [string, string][] = [['', key]];
  let rest = key;
  for (;;) {
    const w = WRAPPER_PREFIXES.find((p) => rest.startsWith(p) && rest.length > p.length);
    if (!w) return out;
    rest = rest.slice(w.length);
    out.push([key.slice(0, key.length - rest.length), rest]);
  }
}
