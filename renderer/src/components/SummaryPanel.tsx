import { layerKindCounts } from '../../../core/index.js';
import { fmtInt, fmtMacs, fmtShape } from '../lib/format.js';
import { useEditor } from '../store/editor.js';

/** Whole-model numbers from core's analysis: the figures users compare against torchvision / the paper. */
export function SummaryPanel() {
  const a = useEditor((s) => s.analysis);
  const counts = layerKindCounts(a);
  const rows: [string, string, string][] = [
    ['Total parameters', fmtInt(a.totals.params), 'summary-total'],
    ['Trainable', fmtInt(a.totals.trainable), 'summary-trainable'],
    ['Frozen', fmtInt(a.totals.params - a.totals.trainable), 'summary-frozen'],
    ['Feature dim', a.featureDim ? String(a.featureDim) : '–', 'summary-feature-dim'],
    ['Feature map', fmtShape(a.featureMap), 'summary-feature-map'],
    ['Input', fmtShape(a.inputShape), 'summary-input'],
    ['Multiply-adds', a.totals.macs ? `${fmtMacs(a.totals.macs)} / image` : '–', 'summary-macs'],
    ['Layers', String(a.layers.length), 'summary-layers'],
    ['IBN-a layers', String(counts.ibn_a ?? 0), 'summary-ibn'],
    ['IN layers', String(counts.instance_norm ?? 0), 'summary-in'],
  ];
  return (
    <section className="panel summary" data-testid="summary">
      <div className="panel-title">Model summary</div>
      <dl className="facts">
        {rows.map(([k, v, id]) => (
          <div key={id} className="fact">
            <dt>{k}</dt>
            <dd data-testid={id}>{v}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
