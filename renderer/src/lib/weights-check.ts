import type { LoadReportData } from '../../../core/api/ops-contract.js';

/** Head layers a backbone checkpoint does not hold (reid-strong-baseline Baseline: `bottleneck`, `classifier`). */
const HEAD = /^(bottleneck|classifier)\./;
/**
 * Keys a re-ID framework leaves out on purpose when it loads pretrained weights (RSB
 * `Baseline.load_param` / `ResNet.load_param`: the ImageNet `fc`, the training identities' `classifier`,
 * BatchNorm's step counter): not a problem to ask about.
 */
const BY_DESIGN = /^(ImageNet classifier|num_batches_tracked|classifier of the training identities|InstanceNorm running statistics|torchreid fc)/;

export interface WeightsConcerns {
  /** Graph slots of the file's layers with another shape in the file (keep their initialisation). */
  mismatched: LoadReportData['mismatched'];
  /** Graph slots the file does not fill, other than the head an ImageNet backbone cannot have. */
  missing: LoadReportData['missing'];
  /** File keys that fit no slot of the graph and are not left out by design. */
  unexpected: LoadReportData['skipped'];
  /** Head slots initialised fresh (expected with an ImageNet backbone). */
  freshHead: LoadReportData['missing'];
  /** Keys left out by design (ImageNet fc, num_batches_tracked, the old classifier). */
  byDesign: number;
}

/**
 * Sorts a load report into what a user should confirm before training (shape mismatches, missing
 * backbone weights, unexpected keys) and what is expected for the kind of weights chosen: ImageNet
 * weights have no BNNeck / classifier; a re-ID model's classifier is never loaded (other identities).
 */
export function weightsConcerns(r: LoadReportData, choice: 'imagenet' | 'self'): WeightsConcerns {
  const expectedMissing = (key: string) => key.startsWith('classifier.') || (choice === 'imagenet' && HEAD.test(key));
  return {
    mismatched: r.mismatched,
    missing: r.missing.filter((m) => !expectedMissing(m.key)),
    unexpected: r.skipped.filter((s) => !BY_DESIGN.test(s.reason)),
    freshHead: r.missing.filter((m) => expectedMissing(m.key)),
    byDesign: r.skipped.filter((s) => BY_DESIGN.test(s.reason)).length,
  };
}

export const hasConcerns = (c: WeightsConcerns) => c.mismatched.length + c.missing.length + c.unexpected.length > 0;

const shape = (s: number[]) => `[${s.join(', ')}]`;

/** One line per concern kind, with the first keys named (for the confirmation before training). */
export function describeConcerns(c: WeightsConcerns, max = 3): string[] {
  const more = (n: number) => (n > max ? ` and ${n - max} more` : '');
  return [
    c.mismatched.length ? `${c.mismatched.length} shape mismatch${c.mismatched.length > 1 ? 'es' : ''} (kept at their initialisation): ${c.mismatched.slice(0, max).map((m) => `${m.key} is ${shape(m.got)} in the file, ${shape(m.expected)} in the graph`).join('; ')}${more(c.mismatched.length)}` : '',
    c.missing.length ? `${c.missing.length} missing from the file (initialised fresh): ${c.missing.slice(0, max).map((m) => m.key).join(', ')}${more(c.missing.length)}` : '',
    c.unexpected.length ? `${c.unexpected.length} unexpected key${c.unexpected.length > 1 ? 's' : ''} (not loaded): ${c.unexpected.slice(0, max).map((s) => s.key).join(', ')}${more(c.unexpected.length)}` : '',
  ].filter(Boolean);
}
