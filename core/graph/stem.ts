import type { Layer } from './evaluate.js';

/**
 * The ResNet stem as the frameworks build it, read off the flattened layers (names in reid-strong-baseline's
 * layout: `base.conv1` 7×7/2, `base.bn1`, `base.relu`, `base.maxpool`):
 *  - reid-strong-baseline `modeling/backbones/resnet.py` (MODEL.NAME resnet18…152): conv → BN → max pool
 *    3×3/2 padding 1, the ReLU commented out ("add missed relu", RSB issues #4 / #117);
 *  - reid-strong-baseline `modeling/backbones/resnet_ibn_a.py` (MODEL.NAME resnet50_ibn_a), IBN-Net and
 *    torchvision `models/resnet.py`: conv → BN → ReLU → max pool 3×3/2 padding 1;
 *  - fast-reid `fastreid/modeling/backbones/resnet.py` (with or without WITH_IBN): conv → BN → ReLU → max
 *    pool 3×3/2 padding 0 ceil_mode=True.
 * So RSB's MODEL.NAME switches the stem together with the norm of the stages; fast-reid's stem does not change.
 */
export interface StemInfo {
  /** The document node the stem's max pool belongs to (the stem composite, or the expanded max pool). */
  nodeId: string;
  relu: boolean;
  /** Max pool padding 1 without ceil mode: RSB's / torchvision's pooling (fast-reid's is padding 0, ceil_mode). */
  rsbPool: boolean;
  /**
   * The stages are IBN-a's: `base.layer1.0.bn1` is IBN-a (the layer core/config's recognizer reads it off too;
   * a mix of BN and IBN-a stages is neither framework's model whatever the stem).
   */
  ibnStages: boolean;
}

/** The ResNet stem of a flattened model, or undefined when it has none (SENet layer0, ResNeSt's deep stem, a custom graph). */
export function resnetStem(layers: readonly Layer[]): StemInfo | undefined {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const conv = byName.get('base.conv1');
  const bn = byName.get('base.bn1');
  const pool = byName.get('base.maxpool');
  if (conv?.kind !== 'conv2d' || conv.params.kernel !== 7 || bn?.kind !== 'batch_norm' || pool?.kind !== 'max_pool') return undefined;
  return {
    nodeId: pool.nodeId,
    relu: byName.get('base.relu')?.kind === 'relu',
    rsbPool: pool.params.padding === 1 && !pool.params.ceilMode,
    ibnStages: byName.get('base.layer1.0.bn1')?.kind === 'ibn_a',
  };
}

/**
 * Why the stem matches no framework's model, or null. The one stem no framework (nor torchvision) pairs
 * with its stages: no ReLU after bn1 above IBN-a stages — RSB's plain-ResNet stem under resnet_ibn_a.py's
 * stages (what swapping the norm of a plain RSB ResNet by hand gives).
 */
export function stemMismatch(layers: readonly Layer[]): string | null {
  const s = resnetStem(layers);
  if (!s || s.relu || !s.ibnStages) return null;
  return (
    "the stem has no ReLU after bn1 (reid-strong-baseline's plain resnet.py stem) but the stages have IBN-a: neither framework builds this model " +
    "(RSB's resnet_ibn_a.py, IBN-Net and fast-reid put a ReLU after bn1), and the RSB export refuses it. Convert the stem: it adds the ReLU"
  );
}
