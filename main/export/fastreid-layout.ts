/**
 * fast-reid's key layout for the `pytorch` export (`--layout fastreid`): the state dict of FR's
 * `Baseline` (fastreid/modeling/meta_arch/baseline.py: `self.backbone`, `self.heads`), saved as
 * `{'model': state_dict}` the way FR's `Checkpointer.save` writes it and `Checkpointer._load_model` pops it
 * (fastreid/utils/checkpoint.py).
 *
 * Key map (RSB names of the app's layers → FR):
 *  - `base.*` → `backbone.*`: FR's ResNet (fastreid/modeling/backbones/resnet.py) names its modules as
 *    torchvision does (conv1, bn1, layer1.0.conv1, …, downsample.0/1; IBN-a as bn1.IN / bn1.BN);
 *  - `bottleneck.*` → `heads.bottleneck.0.*`: EmbeddingHead's `bottleneck = nn.Sequential(get_norm(...))`
 *    (fastreid/modeling/heads/embedding_head.py), BatchNorm2d on the [N, C, 1, 1] pooled map;
 *  - `classifier.weight` → `heads.weight`: EmbeddingHead's bias-free class weight (FR ≥ 1.0; its `cls_layer`
 *    has no parameters); `gap.p` (learnable GeM) → `heads.pool_layer.p` (GeneralizedMeanPoolingP).
 * `pixel_mean` / `pixel_std` are not written: FR ≥ 1.0 registers them as non-persistent buffers (not in its
 * state_dict), so a strict load of a file holding them would fail; the preprocessing is stated in model.py.
 * Only a model FR's Baseline can build is accepted (core/config `recognizeModel` + `frModelProblems`).
 */
import { frModelProblems, recognizeModel } from '../../core/config/index.js';
import type { GraphDoc } from '../../core/index.js';
import { ExportError } from './errors.js';

export const FR_WRAP_KEY = 'model';

/** The FR key for an RSB-layout key of a recognised FR Baseline, or null when FR has no such key. */
export function fastreidKey(rsbKey: string): string | null {
  // fast-reid MGN (core/presets/mgn.ts): the graph carries MGN's own module names; only the class weight moves.
  const mgnCls = /^(b\d+_head)\.classifier\.weight$/.exec(rsbKey);
  if (mgnCls) return `${mgnCls[1]}.weight`;
  if (/^(backbone|b\d+|b\d+_head)\./.test(rsbKey)) return rsbKey;
  if (rsbKey.startsWith('base.')) return `backbone.${rsbKey.slice('base.'.length)}`;
  if (rsbKey.startsWith('bottleneck.')) return `heads.bottleneck.0.${rsbKey.slice('bottleneck.'.length)}`;
  if (rsbKey === 'classifier.weight') return 'heads.weight';
  if (rsbKey === 'gap.p') return 'heads.pool_layer.p';
  return null;
}

/** Refuses (ExportError) a document whose model is not one fast-reid's Baseline builds. */
export function checkFastreidModel(doc: GraphDoc): void {
  const rec = recognizeModel(doc);
  if (!rec.ok) throw new ExportError(`the graph is not a model fast-reid's Baseline builds: ${rec.reasons.join('; ')}`);
  const problems = frModelProblems(rec.spec);
  if (problems.length) throw new ExportError(`fast-reid's Baseline cannot hold this model: ${problems.join('; ')}`);
}

/** Renames an RSB-layout state dict (insertion order kept) to FR's keys. */
export function toFastreidLayout<T>(state: Map<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [k, v] of state) {
    const fr = fastreidKey(k);
    if (!fr) throw new ExportError(`${k}: fast-reid's Baseline has no parameter for it`);
    out.set(fr, v);
  }
  return out;
}
