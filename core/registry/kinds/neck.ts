import type { CompositeKind } from '../types.js';
import { requireVector } from '../shapes.js';

/**
 * The neck of reid-strong-baseline's Baseline (modeling/baseline.py). `bnneck`: BatchNorm1d whose shift
 * β is frozen at zero. Taps: `before` = global feature (fed to triplet/center losses in training),
 * `after` = post-BN (fed to the classifier), `eval` = the one TEST.NECK_FEAT selects at test time.
 * With neck `no` all taps are the global feature.
 */
export const neck: CompositeKind = {
  id: 'neck',
  label: 'Neck (BNNeck)',
  category: 'head',
  description: 'BNNeck (BN with frozen shift) or none; both feature taps exposed, neck_feat picks the eval feature.',
  primitive: false,
  freezable: true,
  params: {
    type: { type: 'enum', default: 'bnneck', options: ['bnneck', 'no'], label: 'Neck' },
    neck_feat: { type: 'enum', default: 'after', options: ['after', 'before'], label: 'Eval feature', help: 'TEST.NECK_FEAT: feature after or before the BN' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'before', label: 'before BN' }, { name: 'after', label: 'after BN' }, { name: 'eval', label: 'eval feature' }],
  describe: (p) => (p.type === 'bnneck' ? `BNNeck, eval ${p.neck_feat}` : 'no neck'),
  // With no neck there is no BN: every tap is the pooled feature (baseline.py `neck == 'no'`), so the
  // title and the port labels say what flows, not "BNNeck" / "before BN" / "after BN".
  title: (p) => (p.type === 'bnneck' ? 'Neck (BNNeck)' : 'Neck (none)'),
  outputLabels: (p): Record<string, string> => (p.type === 'bnneck' ? {} : { before: 'feature (train)', after: 'feature (to classifier)', eval: 'feature (eval)' }),
  build(ctx, p, { in: x }) {
    requireVector('neck', x!.shape);
    const after = p.type === 'bnneck' ? ctx.add('batch_norm', '', { freezeShift: true }, { in: x! }).out! : x!;
    return { before: x!, after, eval: p.neck_feat === 'before' ? x! : after };
  },
};
