/**
 * Where reid-strong-baseline and fast-reid disagree at test time, a document follows ONE of them: fast-reid
 * when its model is one only fast-reid builds (fast-reid's stem: ReLU, max pool 3×3/2 padding 0 ceil_mode —
 * fastreid/modeling/backbones/resnet.py; its recipes and `--fastreid-stem` exports), reid-strong-baseline
 * otherwise (the core presets' stem and defaults).
 *  - Euclidean distance: RSB's R1_mAP L2-normalises first when TEST.FEAT_NORM is 'yes' (its default;
 *    utils/reid_metric.py); fast-reid's TEST.METRIC 'euclidean' does not (fastreid/evaluation/reid_evaluation.py
 *    normalises for 'cosine' only).
 */
import type { GraphDoc } from '../graph/types.js';
import type { TrainingSettings } from '../training/settings.js';
import type { ConfigFramework } from './common.js';
import { recognizeModel } from './model.js';

/** The framework whose test-time conventions the document follows (see above). */
export function documentFramework(doc: GraphDoc): ConfigFramework {
  const rec = recognizeModel(doc);
  return (rec.ok || rec.spec) && rec.spec?.stem === 'fastreid' ? 'fastreid' : 'rsb';
}

/**
 * `settings.test` with the distance `metric` chosen at evaluation time (`eval --metric`, Evaluate on…), as the
 * document's framework evaluates it: euclidean keeps RSB's TEST.FEAT_NORM (normalised unless the document
 * turned it off) and drops normalisation for fast-reid; cosine normalises in both.
 */
export function withEvalMetric(test: TrainingSettings['test'], metric: 'cosine' | 'euclidean', framework: ConfigFramework): TrainingSettings['test'] {
  if (metric === 'cosine') return { ...test, metric, featNorm: true };
  return { ...test, metric, featNorm: framework === 'rsb' ? test.featNorm : false };
}
