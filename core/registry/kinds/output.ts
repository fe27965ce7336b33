import type { OutputKind } from '../types.js';

/**
 * Model outputs. Training mode returns (logits, train_feature) as the Baseline does (logits, global_feat);
 * eval mode returns eval_feature.
 */
export const output: OutputKind = {
  id: 'output',
  label: 'Model outputs',
  category: 'io',
  description: 'Training: logits + metric-loss feature. Eval: the retrieval feature.',
  primitive: 'output',
  freezable: false,
  params: {},
  inputs: [
    { name: 'logits', label: 'logits (train)', optional: true },
    { name: 'train_feature', label: 'feature (train)', optional: true },
    { name: 'eval_feature', label: 'feature (eval)' },
  ],
  outputs: [],
};
