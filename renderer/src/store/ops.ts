import { create } from 'zustand';
import { parseDocument, serializeDocument } from '../../../core/index.js';
import { EXPORT_FORMATS, type CallOutput, type CallParsed, type EvalProgress, type ExportFormat, type ExportProgress, type GraphSource, type WeightsSource } from '../../../core/api/contract.js';
import { api, ClientError } from '../api/client.js';
import type { PickSpec } from '../components/FileDialog.js';
import { loadDoc, notify, useEditor } from './editor.js';
import { guardUnsaved } from './files.js';
import { nativeOpen } from './native.js';

/**
 * File ▸ Export…, File ▸ Import config… and a run's Export / Evaluate on…: dialog state and the calls
 * behind them (`export.check`, `export.run`, `config.import`, `eval.run`). Progress comes from the
 * service's `export.progress` / `eval.progress` events, matched by the job id this window chose.
 */
export type ExportCheck = CallOutput<'export.check'>;
export type ExportResult = CallOutput<'export.run'>;
export type EvalResult = CallOutput<'eval.run'>;
export type ImportResult = CallOutput<'config.import'>;
export type EvalData = CallParsed<'eval.run'>['data'];

export interface ExportDialogState {
  /** What is exported: the editor's document or a run's graph snapshot (`runName` for the title). */
  graph: GraphSource;
  runName?: string;
  format: ExportFormat;
  weights: WeightsSource;
  fastreidStem: boolean;
  out: string;
  check: ExportCheck | null;
  checking: boolean;
  jobId: string | null;
  progress: ExportProgress | null;
  result: ExportResult | null;
  error: string | null;
}

export interface EvalDialogState {
  runId: string;
  runName: string;
  data: EvalData;
  metric: 'cosine' | 'euclidean';
  reRanking: boolean;
  /** The run's last checkpoint or its best by mAP. */
  checkpoint: 'last' | 'best';
  jobId: string | null;
  progress: EvalProgress | null;
  result: EvalResult | null;
  error: string | null;
}

interface OpsState {
  exporting: ExportDialogState | null;
  evaluating: EvalDialogState | null;
  imported: (ImportResult & { path: string }) | null;
  /** The in-app path picker (browser mode, where there are no native dialogs). */
  picker: Omit<PickSpec, 'onClose'> | null;
}

export const useOps = create<OpsState>(() => ({ exporting: null, evaluating: null, imported: null, picker: null }));
const get = useOps.getState;
const set = useOps.setState;

const errText = (e: unknown) => (e instanceof ClientError ? e.message : `unexpected error: ${(e as Error).message}`);
let jobCounter = 0;
const newJobId = () => `ui-${Date.now().toString(36)}-${++jobCounter}`;

/** A path from the host's native dialog, or from the in-app picker in browser mode. */
export async function pickPath(native: () => Promise<{ native: boolean; path: string | null }>, spec: Omit<PickSpec, 'onClose' | 'onPick'>): Promise<string | null> {
  const r = await native();
  if (r.native) return r.path;
  return new Promise((resolve) => {
    set({
      picker: {
        ...spec,
        onPick: (path) => {
          set({ picker: null });
          resolve(path);
        },
      },
    });
    // Cancel resolves null: closePicker() below.
    pendingCancel = () => resolve(null);
  });
}
let pendingCancel: (() => void) | null = null;
export function closePicker(): void {
  set({ picker: null });
  pendingCancel?.();
  pendingCancel = null;
}

/** Opens File ▸ Export… for the editor's document, or for a run (its graph; weights / config presets). */
export function openExport(opts: { graph?: GraphSource; runName?: string; format?: ExportFormat; weights?: WeightsSource } = {}): void {
  const graph = opts.graph ?? { kind: 'doc', text: serializeDocument(useEditor.getState().history.doc) };
  set({
    exporting: {
      graph,
      ...(opts.runName ? { runName: opts.runName } : {}),
      format: opts.format ?? 'graph',
      weights: opts.weights ?? { kind: 'none' },
      fastreidStem: false,
      out: '',
      check: null,
      checking: false,
      jobId: null,
      progress: null,
      result: null,
      error: null,
    },
  });
  void recheck();
}

export function patchExport(patch: Partial<ExportDialogState>): void {
  const cur = get().exporting;
  if (!cur) return;
  const next = { ...cur, ...patch };
  set({ exporting: next });
  if ('format' in patch || 'fastreidStem' in patch || 'weights' in patch) void recheck();
}

/**
 * The fast-reid formats (its YAML and its training job): both refuse reid-strong-baseline's stem unless the
 * dialog's "Convert the stem to fast-reid's" is checked (the service's fastreidStem).
 */
export const usesFastreidStem = (format: ExportFormat): boolean => format === 'fastreid-yaml' || format === 'fastreid-job';

/**
 * The weights a request sends: the dialog's choice for a format that carries weights, none for the others (a
 * choice made for PyTorch, or the run's weights of "Export weights…", stays in the dialog when the format changes
 * to a YAML or the graph document, and the service refuses weights for those).
 */
function sentWeights(cur: ExportDialogState): WeightsSource {
  return EXPORT_FORMATS[cur.format].weights ? cur.weights : { kind: 'none' };
}

/** Refusals with their reasons before anything is written. */
async function recheck(): Promise<void> {
  const cur = get().exporting;
  if (!cur) return;
  const key = { format: cur.format, fastreidStem: cur.fastreidStem, weights: cur.weights };
  set({ exporting: { ...cur, checking: true, check: null, result: null, error: null } });
  try {
    const check = await api.call('export.check', { format: cur.format, graph: cur.graph, weights: sentWeights(cur), fastreidStem: cur.fastreidStem && usesFastreidStem(cur.format) });
    const now = get().exporting;
    if (now && now.format === key.format && now.fastreidStem === key.fastreidStem && now.weights === key.weights) set({ exporting: { ...now, check, checking: false } });
  } catch (e) {
    const now = get().exporting;
    if (now) set({ exporting: { ...now, checking: false, error: errText(e) } });
  }
}

export async function runExportDialog(): Promise<void> {
  const cur = get().exporting;
  if (!cur || !cur.out) return;
  const jobId = newJobId();
  set({ exporting: { ...cur, jobId, progress: { jobId, stage: 'checking' }, result: null, error: null } });
  try {
    const result = await api.call('export.run', {
      format: cur.format,
      graph: cur.graph,
      weights: sentWeights(cur),
      fastreidStem: cur.fastreidStem && usesFastreidStem(cur.format),
      out: cur.out,
      jobId,
    });
    const now = get().exporting;
    if (now?.jobId === jobId) set({ exporting: { ...now, result, progress: { jobId, stage: result.ok ? 'done' : 'failed' } } });
    if (result.ok) notify(`Exported ${result.out}`);
  } catch (e) {
    const now = get().exporting;
    if (now?.jobId === jobId) set({ exporting: { ...now, error: errText(e), progress: { jobId, stage: 'failed' } } });
  }
}

/** File ▸ Import config…: a reid-strong-baseline / fast-reid YAML becomes a new (unsaved) document. */
export function importConfigAction(): void {
  guardUnsaved('import a config', () => {
    void pickPath(() => nativeOpen('config'), { title: 'Import config (reid-strong-baseline / fast-reid YAML)', mode: 'open', extensions: ['.yml', '.yaml'], confirm: 'Import' }).then((path) => void (path && importConfigFrom(path)));
  });
}

export async function importConfigFrom(path: string): Promise<boolean> {
  try {
    const r = await api.call('config.import', { path });
    loadDoc(parseDocument(r.text), null, false);
    set({ imported: { ...r, path } });
    return true;
  } catch (e) {
    notify(`Import failed: ${errText(e)}`, 'error');
    return false;
  }
}

/** A run's Evaluate on…: its own dataset by default, cosine distance, no re-ranking. */
export function openEval(runId: string, runName: string): void {
  set({ evaluating: { runId, runName, data: null, metric: 'cosine', reRanking: false, checkpoint: 'last', jobId: null, progress: null, result: null, error: null } });
}

export function patchEval(patch: Partial<EvalDialogState>): void {
  const cur = get().evaluating;
  if (cur) set({ evaluating: { ...cur, ...patch } });
}

export async function runEvalDialog(onSaved: (runId: string) => void): Promise<void> {
  const cur = get().evaluating;
  if (!cur) return;
  const jobId = newJobId();
  set({ evaluating: { ...cur, jobId, progress: { jobId, stage: 'loading', done: 0, total: 1 }, result: null, error: null } });
  try {
    const result = await api.call('eval.run', { graph: { kind: 'run', runId: cur.runId }, ...(cur.checkpoint === 'best' ? { weights: { kind: 'run' as const, runId: cur.runId, checkpoint: 'best' as const } } : {}), data: cur.data, metric: cur.metric, reRanking: cur.reRanking, jobId });
    const now = get().evaluating;
    if (now?.jobId === jobId) set({ evaluating: { ...now, result, progress: { jobId, stage: 'done', done: 1, total: 1 } } });
    if (result.savedToRun) onSaved(cur.runId);
  } catch (e) {
    const now = get().evaluating;
    if (now?.jobId === jobId) set({ evaluating: { ...now, error: errText(e), progress: { jobId, stage: 'failed', done: 0, total: 0 } } });
  }
}

/** Progress events of this window's jobs. */
export function startOpsEvents(): () => void {
  const offExport = api.on('export.progress', (p) => {
    const cur = get().exporting;
    if (cur?.jobId === p.jobId && !cur.result) set({ exporting: { ...cur, progress: p } });
  });
  const offEval = api.on('eval.progress', (p) => {
    const cur = get().evaluating;
    if (cur?.jobId === p.jobId && !cur.result) set({ evaluating: { ...cur, progress: p } });
  });
  return () => {
    offExport();
    offEval();
  };
}
