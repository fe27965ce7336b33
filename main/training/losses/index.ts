/**
 * Loss selection (RSB layers/__init__.py make_loss / make_loss_with_center):
 *
 * | loss.metric     | sampler          | total                                   |
 * |-----------------|------------------|-----------------------------------------|
 * | triplet         | softmax          | CE (label smoothing NOT applied in RSB) |
 * | triplet         | triplet          | triplet                                 |
 * | triplet         | softmax_triplet  | CE(LS) + triplet                        |
 * | center          | any              | CE(LS) + β·center                       |
 * | triplet_center  | triplet/softmax_triplet | CE(LS) + triplet + β·center      |
 * | triplet_center  | softmax          | refused: batch-hard triplet needs P×K   |
 *
 * CE(LS) is label-smoothed when `loss.labelSmooth` is on. Triplet and center losses use the pre-BNNeck
 * `global_feat`; CE uses the classifier logits.
 */
import * as tf from '@tensorflow/tfjs';
import { activeLossTerms, lossTerm, type LossTermId, type LossTermValues } from '../../../core/training/losses.js';
import type { TrainingSettings } from '../../../core/training/settings.js';
import { lossComboError } from '../../../core/training/validate.js';
import { CenterLoss, crossEntropyLabelSmooth, LABEL_SMOOTH_EPSILON, LossConfigError, tripletBatchHard } from './losses.js';

export { CenterLoss, checkPKBatch, crossEntropyLabelSmooth, euclideanDist, LABEL_SMOOTH_EPSILON, LossConfigError, tripletBatchHard } from './losses.js';

export interface LossPlan {
  /** The terms the total adds, in table order (core/training/losses.ts): the keys `compute` returns besides `total`. */
  terms: LossTermId[];
  /** Cross-entropy on logits: null = not used; otherwise its label-smoothing ε (0 = plain CE). */
  ceEpsilon: number | null;
  /** Triplet margin, or null when no triplet term. */
  tripletMargin: number | null;
  /** Center-loss weight β, or null when no center term. */
  centerWeight: number | null;
  /** True when batches must come from the P×K identity sampler. */
  needsPK: boolean;
  /** Human-readable formula, e.g. "CE(ε=0.1) + triplet(m=0.3) + 0.0005·center". */
  describe: string;
}

/** Resolves the RSB loss table for the settings; throws LossConfigError for combinations RSB cannot train. */
export function planLoss(s: Pick<TrainingSettings, 'sampler' | 'loss' | 'batch'>): LossPlan {
  // The refused combinations are decided in core, so the editor can show them before Train is pressed.
  const refused = lossComboError(s);
  if (refused) throw new LossConfigError(refused.message);
  const ls = s.loss.labelSmooth ? LABEL_SMOOTH_EPSILON : 0;
  const terms = activeLossTerms(s);
  // RSB make_loss with the 'softmax' sampler returns F.cross_entropy: no label smoothing.
  const plainCe = s.sampler === 'softmax' && !terms.includes('center');
  const plan: Omit<LossPlan, 'describe'> = {
    terms,
    ceEpsilon: terms.includes('ce') ? (plainCe ? 0 : ls) : null,
    tripletMargin: terms.includes('triplet') ? s.loss.margin : null,
    centerWeight: terms.includes('center') ? s.loss.centerWeight : null,
    needsPK: s.sampler !== 'softmax',
  };
  const parts: string[] = [];
  const label = (id: LossTermId) => lossTerm(id).label;
  if (plan.ceEpsilon !== null) parts.push(plan.ceEpsilon > 0 ? `${label('ce')}(ε=${plan.ceEpsilon})` : label('ce'));
  if (plan.tripletMargin !== null) parts.push(`${label('triplet')}(m=${plan.tripletMargin})`);
  if (plan.centerWeight !== null) parts.push(`${plan.centerWeight}·${label('center')}`);
  return { ...plan, describe: parts.join(' + ') };
}

export interface LossInputs {
  /** Classifier scores (N × num_classes). Required when the plan uses CE. */
  logits?: tf.Tensor2D;
  /** global_feat (N × feat_dim), before BNNeck. Required for triplet/center. */
  feat?: tf.Tensor2D;
  /** Training labels 0..P−1. */
  labels: Int32Array;
}

/** The total and its terms (core/training/losses.ts), each unweighted: the total adds β times the center term. */
export type LossTerms = { total: tf.Scalar } & LossTermValues<tf.Scalar>;

/** The configured loss for one training run: `compute` inside variableGrads, then `center.stepFromTotalGradient`. */
export class ReidLoss {
  readonly plan: LossPlan;
  readonly center: CenterLoss | null;

  constructor(settings: Pick<TrainingSettings, 'sampler' | 'loss' | 'batch' | 'seed'>, numClasses: number, featDim: number, centerInit?: Float32Array) {
    this.plan = planLoss(settings);
    this.center = this.plan.centerWeight !== null ? new CenterLoss(numClasses, featDim, this.plan.centerWeight, settings.loss.centerLr, settings.seed, centerInit) : null;
  }

  /** Loss terms; the caller disposes them (or runs this inside tf.tidy / variableGrads). */
  compute(inp: LossInputs): LossTerms {
    const { plan } = this;
    const labels = tf.tensor1d(inp.labels, 'int32');
    try {
      const terms: LossTermValues<tf.Scalar> = {};
      const parts: tf.Scalar[] = [];
      if (plan.ceEpsilon !== null) {
        if (!inp.logits) throw new Error('the loss needs classifier logits (CE term) but the model produced none');
        terms.ce = crossEntropyLabelSmooth(inp.logits, labels, plan.ceEpsilon);
        parts.push(terms.ce);
      }
      if (plan.tripletMargin !== null || this.center) {
        if (!inp.feat) throw new Error('the loss needs the global feature (triplet/center term) but the model produced none');
      }
      if (plan.tripletMargin !== null) {
        terms.triplet = tripletBatchHard(inp.feat!, inp.labels, plan.tripletMargin);
        parts.push(terms.triplet);
      }
      if (this.center) {
        terms.center = this.center.loss(inp.feat!, labels);
        parts.push(tf.mul(terms.center, this.center.weight));
      }
      const total = (parts.length === 1 ? parts[0]!.clone() : tf.addN(parts)) as tf.Scalar;
      return { total, ...terms };
    } finally {
      labels.dispose();
    }
  }

  /** Extra trainable variables (centers): differentiate the total w.r.t. them too, but step them here. */
  extraVariables(): tf.Variable[] {
    return this.center ? [this.center.centers] : [];
  }

  dispose(): void {
    this.center?.dispose();
  }
}
