import type { OutputKind } from '../types.js';

/**
 * One more loss head of a multi-head model (fast-reid's MGN: eight classifiers and five triplet features,
 * fastreid/modeling/meta_arch/mgn.py `losses()`). Training adds, for every head — this node's inputs and the
 * "Model outputs" node's logits / train feature —
 *   ce_factor · CE.SCALE · CE(logits) + triplet_factor · TRI.SCALE · triplet(feature),
 * MGN's factors being 0.125 on each CE and 0.2 on each triplet. Evaluation ignores it.
 */
export const headLoss: OutputKind = {
  id: 'head_loss',
  label: 'Head loss',
  category: 'io',
  description: 'An extra loss head: CE on its logits, triplet on its feature, each times a factor (MGN).',
  primitive: 'output',
  freezable: false,
  params: {
    ce_factor: { type: 'float', default: 1, min: 0, max: 1000, label: 'CE factor', help: "multiplies this head's cross-entropy (fast-reid MGN: 0.125)" },
    triplet_factor: { type: 'float', default: 1, min: 0, max: 1000, label: 'Triplet factor', help: "multiplies this head's triplet loss (fast-reid MGN: 0.2)" },
  },
  inputs: [
    { name: 'logits', label: 'logits (train)', optional: true },
    { name: 'train_feature', label: 'feature (train)', optional: true },
  ],
  outputs: [],
  describe: (p) => `CE ×${p.ce_factor}, triplet ×${p.triplet_factor}`,
};
