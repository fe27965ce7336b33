import { parseTrainingSettings, type TrainingSettings } from '../../../core/index.js';
import type { CallInput } from '../../../core/api/contract.js';

export type DataSource = CallInput<'dataset.inspect'>['data'];

/** The data source the training settings name (null: a folder dataset with no folder chosen yet). */
export function dataSourceOf(s: TrainingSettings): DataSource | null {
  if (s.dataset.kind === 'demo') return { kind: 'demo', size: s.dataset.demoSize };
  if (!s.dataset.path) return null;
  return { kind: 'folder', path: s.dataset.path, layout: s.dataset.kind };
}

const keys = new WeakMap<object, string | null>();
/** `JSON.stringify` of the document's data source (null if none or invalid settings); memoised per training block. */
export function dataSourceKey(training: Record<string, unknown> | undefined): string | null {
  if (!training) return sourceKeyOf({});
  let k = keys.get(training);
  if (k === undefined) keys.set(training, (k = sourceKeyOf(training)));
  return k;
}
function sourceKeyOf(training: Record<string, unknown>): string | null {
  const p = parseTrainingSettings(training);
  const src = p.ok ? dataSourceOf(p.settings) : null;
  return src ? JSON.stringify(src) : null;
}
