import type { PrimitiveKind } from '../types.js';
import { channels } from '../shapes.js';
import { bnSpecs, CUSTOM_LAYER_CLASSES, inChannels, pyFloat, TorchSourceError } from '../lowering.js';

/**
 * BatchNorm (2d on feature maps, 1d on vectors) with PyTorch's conventions: eps 1e-5, momentum 0.1
 * (weight of the new batch), unbiased running variance. `freezeShift` keeps β at zero and untrainable:
 * the BNNeck of reid-strong-baseline (`bottleneck.bias.requires_grad_(False)`).
 */
export const batchNorm: PrimitiveKind = {
  id: 'batch_norm',
  label: 'BatchNorm',
  category: 'normalization',
  description: 'Batch normalisation with running statistics (PyTorch eps/momentum conventions).',
  primitive: true,
  hasBnStats: true,
  freezable: true,
  isNorm: true,
  params: {
    eps: { type: 'float', default: 1e-5, min: 0, max: 1, label: 'Epsilon' },
    momentum: { type: 'float', default: 0.1, min: 0, max: 1, label: 'Momentum (PyTorch)' },
    freezeShift: { type: 'bool', default: false, label: 'Frozen shift (β = 0)' },
    zeroInit: { type: 'bool', default: false, label: 'Start at γ = 0', help: "fast-reid Non_local's W BatchNorm: γ = β = 0, so the block starts as the identity" },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => (p.freezeShift ? 'β frozen at 0' : ''),
  inferShape: (_p, [x]) => [...x!],
  paramCount: (p, [x]) => ({ total: 2 * channels(x!), alwaysFrozen: p.freezeShift ? channels(x!) : 0 }),
  lower: {
    weights(l) {
      const specs = bnSpecs(l.name, '', inChannels(l), l, l.params.freezeShift as boolean);
      // fast-reid fastreid/layers/non_local.py: nn.init.constant_(self.W[1].weight, 0.0)
      return l.params.zeroInit ? specs.map((s) => (s.slot === 'gamma' ? { ...s, init: 'zeros' as const } : s)) : specs;
    },
    keras: ({ make, layer: l }) => [
      make(CUSTOM_LAYER_CLASSES.batchNorm, {
        epsilon: l.params.eps,
        momentum: 1 - (l.params.momentum as number),
        freeze_shift: !!l.params.freezeShift,
        stats_frozen: l.statsFrozen,
        ...(l.params.zeroInit ? { zero_init: true } : {}),
      }),
    ],
    onnx: ({ batchNorm, cin, x, layer }) => batchNorm('', cin, x, layer.name),
    torch: {
      module(l) {
        const rank = l.inputShapes[0]?.length ?? 0;
        const cls = rank === 3 ? 'nn.BatchNorm2d' : rank === 1 ? 'nn.BatchNorm1d' : null;
        if (!cls) throw new TorchSourceError(`${l.name}: batch norm on a rank-${rank} input has no PyTorch module`);
        return `${cls}(${inChannels(l)}, eps=${pyFloat(l.params.eps as number)}, momentum=${pyFloat(l.params.momentum as number)})`;
      },
      // BNNeck: reid-strong-baseline's `self.bottleneck.bias.requires_grad_(False)`.
      initLines: (l, ref) => (l.params.freezeShift && !l.frozen ? [`${ref}.bias.requires_grad_(False)  # BNNeck: no shift`] : []),
    },
  },
};
