import { classifierIds, counted, layerKindCounts, unanalysedModelNodes } from '../../../core/index.js';
import { fmtInt, fmtMacs, fmtShape } from '../lib/format.js';
import { useEditor } from '../store/editor.js';

/** Whole-model numbers from core's analysis: the figures users compare against torchvision / the paper. */
export function SummaryPanel() {
  const a = useEditor((s) => s.analysis);
  const counts = layerKindCounts(a);
  const frozen = a.totals.params - a.totals.trainable;
  // Of the frozen count, what is not a user's freeze: BNNeck's shift (β) is fixed by design
  // (reid-strong-baseline modeling/baseline.py: `self.bottleneck.bias.requires_grad_(False)`).
  const neck = useEditor((s) => s.history.doc.graph.nodes.find((n) => n.kind === 'neck' && !n.frozen));
  const neckInfo = neck && a.nodes[neck.id];
  const fixedShift = neckInfo ? neckInfo.params - neckInfo.trainable : 0;
  const classes = useEditor((s) => s.classes);
  // Blocks of the model the analysis could not evaluate (a graph error at or before them) have no counts: a sum
  // that leaves them out is not the model's total, so every count shows "–" and says why rather than a smaller
  // number. A block that feeds no output (pasted, not yet connected) is not part of the model.
  const unknown = useEditor((s) => unanalysedModelNodes(s.history.doc.graph, a).length);
  const partial = unknown > 0 ? `${counted(unknown, 'block')} ${unknown === 1 ? 'is' : 'are'} not analysed (graph errors, listed in Problems): the counts are shown once the graph is fixed` : null;
  const count = (v: string) => (partial ? '–' : v);
  // The identity classifier (a linear feeding the logits), not the first linear: MGN's first is a 2048 → 256 reduction.
  const docClasses = useEditor((s) => {
    const ids = classifierIds(s.history.doc.graph);
    return s.history.doc.graph.nodes.find((n) => ids.has(n.id))?.params.units;
  });
  const rows: [string, string, string, string][] = [
    ['Total parameters', count(fmtInt(a.totals.params)), 'summary-total', 'learnable weights, as PyTorch counts them (BN running statistics are buffers, not parameters)'],
    ['Trainable', count(fmtInt(a.totals.trainable)), 'summary-trainable', 'weights the optimizer updates'],
    ['Frozen', count(fmtInt(frozen)), 'summary-frozen', frozen === fixedShift && fixedShift > 0 ? `BNNeck's shift (β, ${fmtInt(fixedShift)}) is fixed by design, as in reid-strong-baseline` : `frozen blocks${fixedShift ? ` + BNNeck's fixed shift (β, ${fmtInt(fixedShift)})` : ''}`],
    [
      'Classes',
      classes !== null ? `${fmtInt(classes)} (dataset)` : docClasses !== undefined ? fmtInt(Number(docClasses)) : '–',
      'summary-classes',
      classes !== null ? `set by dataset: ${classes} ids (training sizes the classifier to the dataset's training identities; the counts above include it)` : "identity classifier outputs; training sets it to the dataset's number of training identities",
    ],
    ['Feature dim', a.featureDim ? String(a.featureDim) : '–', 'summary-feature-dim', 'length of the retrieval feature (the eval feature)'],
    ['Feature map', fmtShape(a.featureMap), 'summary-feature-map', "the backbone's last map, height × width × channels"],
    ['Input', fmtShape(a.inputShape), 'summary-input', 'image size the model takes, height × width × channels'],
    ['Multiply-adds', count(a.totals.macs ? `${fmtMacs(a.totals.macs)} / image` : '–'), 'summary-macs', 'forward pass cost of one image (FLOPs ≈ 2 × multiply-adds)'],
    ['Layers', count(String(a.layers.length)), 'summary-layers', 'primitive layers after expanding stages and blocks (PyTorch modules with weights or state)'],
    ['IBN-a layers', count(String(counts.ibn_a ?? 0)), 'summary-ibn', 'BatchNorms replaced by IBN-a (half InstanceNorm, half BatchNorm)'],
    ['IN layers', count(String(counts.instance_norm ?? 0)), 'summary-in', 'InstanceNorm layers outside IBN-a'],
    ['Non-local blocks', count(String(counts.non_local_attention ?? 0)), 'summary-non-local', "fast-reid's non-local blocks (WITH_NL): a stage's 'Non-local blocks' count, or a Non-local block from the palette"],
  ];
  return (
    <section className="panel summary" data-testid="summary">
      <div className="panel-title">Model summary</div>
      <dl className="facts">
        {rows.map(([k, v, id, why]) => (
          <div key={id} className="fact" title={why}>
            <dt>{k}</dt>
            <dd data-testid={id} data-explain={why}>
              {v}
            </dd>
          </div>
        ))}
      </dl>
      {partial && (
        <div className="muted small" data-testid="summary-partial">
          {partial}
        </div>
      )}
    </section>
  );
}
