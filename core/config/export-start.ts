import type { GraphDoc } from '../graph/types.js';
import type { TrainingSettings } from '../training/settings.js';
import { readSettings, type ExportResult } from './common.js';
import { recognizeModel, type ModelSpec } from './model.js';

export type ExportStart =
  | { ok: false; result: ExportResult }
  | { ok: true; m: ModelSpec; settings: TrainingSettings; explicit: boolean; reasons: string[]; warnings: string[] };

/**
 * The common first step of every YAML exporter: recognise the model, read the training settings and
 * collect what the framework cannot express (`problems`). A framework-specific reason (e.g. GeM in RSB, a
 * depth it lacks) is clearer than the layer diff it causes, so it wins over the recogniser's reasons.
 */
export function startExport(doc: GraphDoc, problems: (m: ModelSpec) => string[]): ExportStart {
  const rec = recognizeModel(doc);
  const st = readSettings(doc);
  const reasons: string[] = [];
  if (!rec.ok) {
    const specific = rec.spec ? problems(rec.spec) : [];
    reasons.push(...(specific.length ? specific : rec.reasons));
  }
  if (!st.ok) reasons.push(st.reason);
  if (!rec.ok || !st.ok) return { ok: false, result: { ok: false, reasons } };
  reasons.push(...problems(rec.spec));
  return { ok: true, m: rec.spec, settings: st.settings, explicit: st.explicit, reasons, warnings: [] };
}
