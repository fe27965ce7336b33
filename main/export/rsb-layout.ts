/**
 * reid-strong-baseline's own modules hold parameters the app's graph has no layer for, which a strict
 * `Baseline.load_state_dict(torch.load('model.pth'))` still expects in the file:
 *  - modeling/backbones/resnet_ibn_a.py `ResNet_IBN.__init__` keeps torchvision's ImageNet head
 *    `self.fc = nn.Linear(scale * 8 * block.expansion, num_classes)` (num_classes = 1000; 2048 inputs for
 *    resnet50/101/152_ibn_a), never called in `forward` (`x = self.fc(x)` is commented out): `base.fc.weight`
 *    [1000, 2048] and `base.fc.bias` [1000].
 * RSB's resnet.py (plain ResNets) and senet.py (`SENet` without `last_linear`) have no such head.
 * The `rsb` layout writes these tensors as zeros (unused by either model) and model.py registers them as
 * buffers of the same module name (not parameters: the model's parameter count stays the graph's), so both
 * RSB's Baseline and model.py load the file with strict=True.
 */
import { recognizeModel } from '../../core/config/index.js';
import type { GraphDoc } from '../../core/index.js';

export interface UnusedModule {
  /** Dotted module name in RSB's Baseline, e.g. `base.fc`. */
  name: string;
  /** The PyTorch module expression model.py registers. */
  torch: string;
  tensors: { key: string; shape: number[] }[];
}

/** RSB modules outside the forward path that a strict load of this model's rsb-layout state dict needs. */
export function rsbUnusedModules(doc: GraphDoc): UnusedModule[] {
  const rec = recognizeModel(doc);
  if (!rec.ok || !rec.spec.ibn || rec.spec.stem !== 'rsb' || !['resnet50', 'resnet101', 'resnet152'].includes(rec.spec.depth)) return [];
  return [{ name: 'base.fc', torch: '_Unused(weight=(1000, 2048), bias=(1000,))', tensors: [{ key: 'base.fc.weight', shape: [1000, 2048] }, { key: 'base.fc.bias', shape: [1000] }] }];
}

/**
 * The `rsb` layout of a model reid-strong-baseline has no module for (fast-reid's MGN, meta_arch/mgn.py; fast-reid's
 * ResNeSt, backbones/resnest.py — RSB's modeling/ builds only its Baseline on ResNet / ResNet-IBN-a / SENet): model.pth
 * then holds model.py's own keys, which no RSB code loads. The note says so and names `--layout fastreid` (fast-reid's
 * Checkpointer); null for a model RSB builds.
 */
export function rsbLayoutNote(doc: GraphDoc): string | null {
  const rec = recognizeModel(doc);
  const arch = rec.spec?.arch;
  if (arch !== 'mgn' && arch !== 'resnest') return null;
  const what = arch === 'mgn' ? 'MGN' : 'ResNeSt';
  return `reid-strong-baseline has no ${what}: model.pth holds model.py's own keys (fast-reid's ${what} module names) as a plain state_dict, which no reid-strong-baseline code loads; --layout fastreid writes fast-reid's {'model': …} for its Checkpointer`;
}
