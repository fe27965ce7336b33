/**
 * Loss terms, once for every layer: the engine's step results and events (one optional number per term, the
 * unweighted term value — `metrics.jsonl` keys and the `step` event fields), the app's loss chart, the CLI's
 * progress line and the config mapping. Order = the order the total adds them and the charts list them.
 *
 * The terms are reid-strong-baseline's (layers/__init__.py make_loss / make_loss_with_center: softmax
 * cross-entropy, batch-hard triplet, center loss). fast-reid names its terms in the `loss_dict` of
 * fastreid/modeling/meta_arch/baseline.py `losses()` (`loss_cls` for 'CrossEntropyLoss', `loss_triplet` for
 * 'TripletLoss' in MODEL.LOSSES.NAME); it has no center loss.
 */
export const LOSS_TERM_IDS = ['ce', 'triplet', 'center'] as const;
export type LossTermId = (typeof LOSS_TERM_IDS)[number];

export interface LossTerm {
  /** Key of the term in step results, `step` events and metrics.jsonl records. */
  id: LossTermId;
  /** Chart legend and formula text ("CE(ε=0.1) + triplet(m=0.3) + 0.0005·center"). */
  label: string;
  /** In sentences ("the cross-entropy loss became NaN"). */
  name: string;
  /** The CLI progress line's abbreviation and its decimals (center loss is unweighted: values in the hundreds). */
  short: string;
  digits: number;
  /** Plotted against the right y axis (a term on a very different scale than the total). */
  rightAxis: boolean;
  /**
   * fast-reid: the MODEL.LOSSES.NAME entry, the `loss_dict` key, the key of the term's weight (`loss * SCALE`
   * in fastreid/modeling/losses) and every config key the term reads; null when fast-reid has no such term.
   */
  fastreid: { name: string; lossDict: string; weightKey: string; keys: string[] } | null;
  /** reid-strong-baseline: the term's piece of MODEL.METRIC_LOSS_TYPE (`triplet`, `center`, `triplet_center`); null for CE, which every RSB loss has. */
  rsbMetric: string | null;
  /** reid-strong-baseline config keys the term reads (config/defaults.py). */
  rsbKeys: string[];
  /** The settings field (`loss.<field>`) holding the factor the total multiplies the term by. */
  weightField: 'ceWeight' | 'tripletWeight' | 'centerWeight';
}

export const LOSS_TERMS: readonly LossTerm[] = [
  {
    id: 'ce', label: 'CE', name: 'cross-entropy', short: 'ce', digits: 3, rightAxis: false,
    fastreid: { name: 'CrossEntropyLoss', lossDict: 'loss_cls', weightKey: 'MODEL.LOSSES.CE.SCALE', keys: ['MODEL.LOSSES.CE.EPSILON', 'MODEL.LOSSES.CE.SCALE', 'MODEL.HEADS.CLS_LAYER', 'MODEL.HEADS.SCALE', 'MODEL.HEADS.MARGIN'] },
    rsbMetric: null, rsbKeys: ['MODEL.IF_LABELSMOOTH'], weightField: 'ceWeight',
  },
  {
    id: 'triplet', label: 'triplet', name: 'triplet', short: 'tri', digits: 3, rightAxis: false,
    fastreid: { name: 'TripletLoss', lossDict: 'loss_triplet', weightKey: 'MODEL.LOSSES.TRI.SCALE', keys: ['MODEL.LOSSES.TRI.MARGIN', 'MODEL.LOSSES.TRI.HARD_MINING', 'MODEL.LOSSES.TRI.NORM_FEAT', 'MODEL.LOSSES.TRI.SCALE'] },
    rsbMetric: 'triplet', rsbKeys: ['SOLVER.MARGIN'], weightField: 'tripletWeight',
  },
  {
    id: 'center', label: 'center', name: 'center', short: 'cen', digits: 1, rightAxis: true,
    fastreid: null,
    rsbMetric: 'center', rsbKeys: ['SOLVER.CENTER_LOSS_WEIGHT', 'SOLVER.CENTER_LR'], weightField: 'centerWeight',
  },
];

/** The factor the total multiplies a term by (`loss.ceWeight`, `loss.tripletWeight`, `loss.centerWeight`; 1 when unset). */
export function lossTermWeight(id: LossTermId, loss: Partial<Record<LossTerm['weightField'], number>>): number {
  return loss[lossTerm(id).weightField] ?? 1;
}

export function lossTerm(id: LossTermId): LossTerm {
  return LOSS_TERMS.find((t) => t.id === id)!;
}

/** The term fast-reid builds for a MODEL.LOSSES.NAME entry, if the app models it. */
export function lossTermByFastreidName(name: string): LossTerm | undefined {
  return LOSS_TERMS.find((t) => t.fastreid?.name === name);
}

/** Per-term values of one step (absent = the loss has no such term). */
export type LossTermValues<T = number> = Partial<Record<LossTermId, T>>;

/** The terms of an RSB MODEL.METRIC_LOSS_TYPE (`triplet`, `center`, `triplet_center`), in table order. */
export function rsbMetricTerms(metric: string): LossTermId[] {
  const pieces = metric.split('_');
  return LOSS_TERMS.filter((t) => t.rsbMetric !== null && pieces.includes(t.rsbMetric)).map((t) => t.id);
}

/**
 * The terms a training's loss adds, in table order (reid-strong-baseline layers/__init__.py): without a
 * center term `make_loss` lets the sampler decide (`softmax` → CE, `triplet` → triplet, `softmax_triplet` →
 * both); with one, `make_loss_with_center` adds CE to the metric's terms whatever the sampler. Combinations
 * RSB cannot train (triplet_center with the `softmax` sampler) are listed as asked; validate.ts refuses them.
 */
export function activeLossTerms(s: { sampler: 'softmax' | 'triplet' | 'softmax_triplet'; loss: { metric: string } }): LossTermId[] {
  const metric = rsbMetricTerms(s.loss.metric);
  if (metric.includes('center')) return LOSS_TERM_IDS.filter((id) => id === 'ce' || metric.includes(id));
  if (s.sampler === 'softmax') return ['ce'];
  if (s.sampler === 'triplet') return ['triplet'];
  return ['ce', 'triplet'];
}
