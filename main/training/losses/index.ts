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
import { activeLossTerms, lossTerm, lossTermWeight, type LossTermId, type LossTermValues } from '../../../core/training/losses.js';
import type { TrainingSettings } from '../../../core/training/settings.js';
import { lossComboError } from '../../../core/training/validate.js';
import { CenterLoss, crossEntropyLabelSmooth, LABEL_SMOOTH_EPSILON, LossConfigError } from './losses.js';
import { clsOutputs, tripletLoss, type ClsLayerConfig, type TripletConfig } from './fastreid.js';

export { clsOutputs, l2normalize, tripletLoss, type ClsLayerConfig, type TripletConfig } from './fastreid.js';
export { CenterLoss, checkPKBatch, crossEntropyLabelSmooth, euclideanDist, LABEL_SMOOTH_EPSILON, LossConfigError, tripletBatchHard } from './losses.js';

export interface LossPlan {
  /** The terms the total adds, in table order (core/training/losses.ts): the keys `compute` returns besides `total`. */
  terms: LossTermId[];
  /** Cross-entropy on logits: null = not used; otherwise its label-smoothing ε (0 = plain CE). */
  ceEpsilon: number | null;
  /** Triplet margin, or null when no triplet term. */
  tripletMargin: number | null;
  /** The triplet variant (fast-reid TRI.*), or null when no triplet term. */
  triplet: TripletConfig | null;
  /** How the CE term's logits are formed (fast-reid MODEL.HEADS.CLS_LAYER); 'Linear' = the model's logits. */
  classifier: ClsLayerConfig;
  /** Center-loss weight β, or null when no center term. */
  centerWeight: number | null;
  /** The factor of each active term in the total (core/training/losses.ts `weightField`). */
  weights: LossTermValues<number>;
  /** True when batches must come from the P×K identity sampler. */
  needsPK: boolean;
  /** Human-readable formula, e.g. "CE(ε=0.1) + triplet(m=0.3) + 0.0005·center". */
  describe: string;
}

/** Resolves the RSB loss table for the settings; throws LossConfigError for combinations RSB cannot train. */
export function planLoss(s: Pick<TrainingSettings, 'sampler' | 'loss' | 'batch'> & Partial<Pick<TrainingSettings, 'classifier'>>): LossPlan {
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
    triplet: terms.includes('triplet')
      ? { margin: s.loss.margin, soft: s.loss.softMargin ?? false, hardMining: s.loss.hardMining ?? true, normFeat: s.loss.normFeat ?? false }
      : null,
    classifier: s.classifier ?? { layer: 'Linear', scale: 1, margin: 0 },
    centerWeight: terms.includes('center') ? s.loss.centerWeight : null,
    weights: Object.fromEntries(terms.map((id) => [id, lossTermWeight(id, s.loss)])),
    needsPK: s.sampler !== 'softmax',
  };
  const parts: string[] = [];
  // A weight other than 1 prefixes its term ("0.0005·center", fast-reid "2·triplet(m=0.3)").
  const label = (id: LossTermId) => (id !== 'center' && plan.weights[id] !== 1 ? `${plan.weights[id]}·` : '') + lossTerm(id).label;
  const cls = plan.classifier.layer === 'Linear' ? '' : `${plan.classifier.layer}(s=${plan.classifier.scale}, m=${plan.classifier.margin}) `;
  if (plan.ceEpsilon !== null) parts.push(cls + (plan.ceEpsilon > 0 ? `${label('ce')}(ε=${plan.ceEpsilon})` : label('ce')));
  const tri = plan.triplet;
  if (tri)
    parts.push(
      `${tri.normFeat ? 'normalised ' : ''}${tri.hardMining ? '' : 'weighted '}${label('triplet')}(${tri.soft ? 'soft margin' : `m=${tri.margin}`})`,
    );
  if (plan.centerWeight !== null) parts.push(`${plan.centerWeight}·${label('center')}`);
  return { ...plan, describe: parts.join(' + ') };
}

/** A term times its weight in the total (the term itself when the weight is 1). */
const weighted = (t: tf.Scalar, w: number): tf.Scalar => (w === 1 ? t : (tf.mul(t, w) as tf.Scalar));

export interface LossInputs {
  /** Classifier scores (N × num_classes). Required when the plan uses CE. */
  logits?: tf.Tensor2D;
  /** global_feat (N × feat_dim), before BNNeck. Required for triplet/center. */
  feat?: tf.Tensor2D;
  /** A margin classification layer's input (the neck feature, N × feat_dim) and the classifier kernel (feat_dim × classes). */
  clsFeat?: tf.Tensor2D;
  clsKernel?: tf.Tensor2D;
  /** Training labels 0..P−1. */
  labels: Int32Array;
}

/** The total and its terms (core/training/losses.ts), each unweighted: the total adds β times the center term. */
export type LossTerms = { total: tf.Scalar; /** the logits the CE saw (accuracy is their argmax), when a margin classification layer formed them */ clsLogits?: tf.Tensor2D } & LossTermValues<tf.Scalar>;

/** The configured loss for one training run: `compute` inside variableGrads, then `center.stepFromTotalGradient`. */
export class ReidLoss {
  readonly plan: LossPlan;
  readonly center: CenterLoss | null;

  constructor(settings: Pick<TrainingSettings, 'sampler' | 'loss' | 'batch' | 'seed'> & Partial<Pick<TrainingSettings, 'classifier'>>, numClasses: number, featDim: number, centerInit?: Float32Array) {
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
      let clsLogits: tf.Tensor2D | undefined;
      if (plan.ceEpsilon !== null) {
        let logits = inp.logits;
        if (this.usesMarginClassifier) {
          if (!inp.clsFeat || !inp.clsKernel) throw new Error(`the ${plan.classifier.layer} classification layer needs the classifier's input feature and weight`);
          logits = clsLogits = clsOutputs(plan.classifier, inp.clsFeat, inp.clsKernel, labels);
        }
        if (!logits) throw new Error('the loss needs classifier logits (CE term) but the model produced none');
        terms.ce = crossEntropyLabelSmooth(logits, labels, plan.ceEpsilon);
        parts.push(weighted(terms.ce, plan.weights.ce!));
      }
      if (plan.tripletMargin !== null || this.center) {
        if (!inp.feat) throw new Error('the loss needs the global feature (triplet/center term) but the model produced none');
      }
      if (plan.tripletMargin !== null) {
        terms.triplet = tripletLoss(inp.feat!, inp.labels, plan.triplet!);
        parts.push(weighted(terms.triplet, plan.weights.triplet!));
      }
      if (this.center) {
        terms.center = this.center.loss(inp.feat!, labels);
        parts.push(weighted(terms.center, plan.weights.center!));
      }
      const total = (parts.length === 1 ? parts[0]!.clone() : tf.addN(parts)) as tf.Scalar;
      return { total, ...terms, ...(clsLogits ? { clsLogits } : {}) };
    } finally {
      labels.dispose();
    }
  }

  /** True when the CE's logits come from a margin classification layer (computed from clsFeat and clsKernel). */
  get usesMarginClassifier(): boolean {
    return this.plan.ceEpsilon !== null && this.plan.classifier.layer !== 'Linear';
  }

  /** Extra trainable variables (centers): differentiate the total w.r.t. them too, but step them here. */
  extraVariables(): tf.Variable[] {
    return this.center ? [this.center.centers] : [];
  }

  dispose(): void {
    this.center?.dispose();
  }
}
