import { create } from 'zustand';
import { LOSS_TERM_IDS, parseTrainingSettings, serializeDocument, setTraining, type GraphDoc, type LossTermId, type TrainingSettings } from '../../../core/index.js';
import { trainEventSchema } from '../../../core/api/training-contract.js';
import type { CallInput, CallOutput, LoadReportData, RunSummary, TrainEventData } from '../../../core/api/contract.js';
import { api, ClientError } from '../api/client.js';
import { notify, run as runCommand, setDatasetClasses, useEditor } from './editor.js';
import { dataSourceOf, type DataSource } from '../lib/data-source.js';
import { describeConcerns, hasConcerns, weightsConcerns } from '../lib/weights-check.js';

export type Tab = 'setup' | 'dashboard' | 'results' | 'runs';
export type Inspection = CallOutput<'dataset.inspect'>;
export type RunDetail = CallOutput<'runs.get'>;
export type Comparison = CallOutput<'runs.compare'>;
export type RankList = CallOutput<'runs.ranklist'>;

/** Columnar step metrics (what the live charts plot): one column per loss term (core/training/losses.ts), NaN where the term is absent. */
export interface Series extends Record<LossTermId, number[]> {
  step: number[];
  loss: number[];
  acc: number[];
  lr: number[];
}
/** Training events as the contract types them (core/api/training-contract.ts). */
type EventOf<T extends TrainEventData['type']> = Extract<TrainEventData, { type: T }>;
export type StepInfo = EventOf<'step'>;
export type StartInfo = Omit<EventOf<'start'>, 'type' | 'runDir' | 'startEpoch'>;
export type EvalSummary = EventOf<'eval'>;
export type RunPhase = 'starting' | 'running' | 'pausing' | 'stopping' | 'evaluating' | 'paused' | 'stopped' | 'completed' | 'failed' | 'interrupted';

/** The run shown on the dashboard / results tabs: live while it trains, loaded from its folder otherwise. */
export interface RunView {
  runId: string;
  name: string;
  phase: RunPhase;
  start: StartInfo | null;
  last: StepInfo | null;
  series: Series;
  /** Bumped on every data change so charts redraw without comparing arrays. */
  version: number;
  /** The last checkpoint: `epoch` / `batch` where training resumes (batch 0: epoch − 1 is complete). */
  checkpoint: { epoch: number; step: number; batch?: number } | null;
  /** The run folder holds a checkpoint: Resume is possible. */
  hasCheckpoint: boolean;
  evalSummary: EvalSummary | null;
  /** Every evaluation of the run so far, in order (mAP / rank-1 against epoch on the dashboard). */
  evalHistory: EvalSummary[];
  message: string | null;
  detail: RunDetail | null;
}

export interface TrainingState {
  open: boolean;
  tab: Tab;
  inspection: Inspection | null;
  inspecting: boolean;
  inspectError: string | null;
  /** The data source the inspection is for (JSON), to know when it is stale. */
  inspectedKey: string | null;
  current: RunView | null;
  runs: RunSummary[];
  compareIds: string[];
  comparison: Comparison | null;
  busy: boolean;
  /** The pretrained weights file checked against the document (`weights.inspect`) before Train. */
  weightsCheck: WeightsCheck | null;
}

/** A weights file read and matched against the graph: its load report, or why it cannot be read. */
export interface WeightsCheck {
  /** `path` + the graph it was checked against. */
  key: string;
  path: string;
  state: 'checking' | 'ok' | 'error';
  report?: LoadReportData;
  tensors?: number;
  message?: string;
}

const emptySeries = (): Series => ({ step: [], loss: [], acc: [], lr: [], ...(Object.fromEntries(LOSS_TERM_IDS.map((id) => [id, [] as number[]])) as Record<LossTermId, number[]>) });

export const useTraining = create<TrainingState>(() => ({
  open: false,
  tab: 'setup',
  inspection: null,
  inspecting: false,
  inspectError: null,
  inspectedKey: null,
  current: null,
  runs: [],
  compareIds: [],
  comparison: null,
  busy: false,
  weightsCheck: null,
}));
const get = useTraining.getState;
const set = useTraining.setState;

const errText = (e: unknown) => (e instanceof ClientError ? e.message : `unexpected error: ${(e as Error).message}`);

/** The document's training block with defaults filled in (or the reason it is invalid). */
export function currentSettings(training: Record<string, unknown> | undefined): ReturnType<typeof parseTrainingSettings> {
  return parseTrainingSettings(training ?? {});
}

/**
 * One undoable edit of the training settings (the same history as graph edits). An edit the settings schema
 * refuses is not stored (it would turn the whole Setup view into "training settings invalid"): it becomes an
 * error toast naming the field, and the function returns false.
 */
export function editSettings(label: string, change: (s: TrainingSettings) => void): boolean {
  const parsed = currentSettings(useEditor.getState().history.doc.training);
  const s: TrainingSettings = parsed.ok ? structuredClone(parsed.settings) : parseTrainingSettingsDefault();
  change(s);
  const checked = parseTrainingSettings(s);
  if (!checked.ok) {
    notify(`Training: ${label} refused — ${checked.message}`, 'error');
    return false;
  }
  return runCommand({ ...setTraining(s as unknown as Record<string, unknown>), label: `Training: ${label}` });
}
function parseTrainingSettingsDefault(): TrainingSettings {
  return (parseTrainingSettings({}) as { ok: true; settings: TrainingSettings }).settings;
}

export { dataSourceOf, type DataSource } from '../lib/data-source.js';

export function openTraining(tab?: Tab): void {
  set({ open: true, ...(tab ? { tab } : {}) });
  void refreshRuns();
}

export async function inspect(data: DataSource): Promise<Inspection | null> {
  const key = JSON.stringify(data);
  set({ inspecting: true, inspectError: null, inspectedKey: key });
  try {
    const r = await api.call('dataset.inspect', { data });
    if (get().inspectedKey === key) {
      set({ inspection: r, inspecting: false });
      // Training sizes the classifier to the dataset's identities: the editor shows that size too.
      setDatasetClasses({ key, n: r.numClasses });
    }
    return r;
  } catch (e) {
    if (get().inspectedKey === key) {
      set({ inspection: null, inspecting: false, inspectError: errText(e) });
      setDatasetClasses(null);
    }
    return null;
  }
}

function newView(runId: string, name: string, phase: RunPhase): RunView {
  return { runId, name, phase, start: null, last: null, series: emptySeries(), version: 0, checkpoint: null, hasCheckpoint: false, evalSummary: null, evalHistory: [], message: null, detail: null };
}

/**
 * Reads the weights file and plans loading it into the document's graph (what loads, what is missing,
 * skipped or of another shape), once per path and document text. The result is kept for the setup view.
 */
export async function checkWeights(path: string, doc: GraphDoc): Promise<WeightsCheck> {
  const text = serializeDocument(doc);
  // Training settings do not change how the file loads: only the path and the graph matter.
  const key = `${path}\n${JSON.stringify(doc.graph)}`;
  const prev = get().weightsCheck;
  if (prev?.key === key && prev.state !== 'checking') return prev;
  set({ weightsCheck: { key, path, state: 'checking' } });
  let result: WeightsCheck;
  try {
    const r = await api.call('weights.inspect', { path, graph: { kind: 'doc', text }, keepClassifier: false });
    result = { key, path, state: 'ok', report: r.report ?? undefined, tensors: r.count };
  } catch (e) {
    result = { key, path, state: 'error', message: errText(e) };
  }
  if (get().weightsCheck?.key === key) set({ weightsCheck: result });
  return result;
}

export async function startTraining(name: string): Promise<void> {
  const doc = useEditor.getState().history.doc;
  const parsed = currentSettings(doc.training);
  if (!parsed.ok) return notify(parsed.message, 'error');
  const data = dataSourceOf(parsed.settings);
  if (!data) return notify('choose a dataset folder first', 'error');
  const { choice, path } = parsed.settings.pretrained;
  if (choice !== 'none' && path) {
    // The file is checked before Train (exists, readable, how it loads); mismatches need a yes.
    const c = await checkWeights(path, doc);
    if (c.state === 'error') return notify(`Train: ${c.message}`, 'error');
    const concerns = c.report ? weightsConcerns(c.report, choice) : null;
    if (concerns && hasConcerns(concerns))
      return void useEditor.setState({
        dialog: {
          kind: 'confirm',
          title: 'The weights do not fully match the model',
          message: `${path}: ${describeConcerns(concerns).join('. ')}. Train anyway?`,
          choices: [
            { label: 'Cancel', run: () => useEditor.setState({ dialog: null }) },
            { label: 'Train anyway', primary: true, run: () => (useEditor.setState({ dialog: null }), void launch(name, doc, parsed.settings, data)) },
          ],
        },
      });
  }
  await launch(name, doc, parsed.settings, data);
}

async function launch(name: string, doc: GraphDoc, settings: TrainingSettings, data: DataSource): Promise<void> {
  set({ busy: true });
  try {
    const weights = settings.pretrained.choice !== 'none' ? (settings.pretrained.path ?? null) : null;
    const r = await api.call('train.start', { doc: serializeDocument(doc), data, weights, backend: settings.backend, ...(name.trim() ? { name: name.trim() } : {}) });
    set({ current: newView(r.runId, name.trim() || r.runId, 'starting'), tab: 'dashboard', comparison: null });
    void refreshRuns();
  } catch (e) {
    notify(`Train: ${errText(e)}`, 'error');
  } finally {
    set({ busy: false });
  }
}

export async function control(action: 'stop' | 'pause'): Promise<void> {
  const c = get().current;
  if (!c) return;
  // A paused run has no process: the service marks it stopped at once (train.exit follows).
  if (c.phase !== 'paused') patchView(c.runId, { phase: action === 'stop' ? 'stopping' : 'pausing' });
  try {
    await api.call('train.control', { runId: c.runId, action });
  } catch (e) {
    notify(errText(e), 'error');
  }
}

export async function resume(): Promise<void> {
  const c = get().current;
  if (!c) return;
  // The run's 'done' event arrives just before its training process has exited: retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await api.call('train.resume', { runId: c.runId });
      patchView(c.runId, { phase: 'starting', message: null });
      return;
    } catch (e) {
      if (attempt < 20 && e instanceof ClientError && /already running/.test(e.message)) await new Promise((r) => setTimeout(r, 250));
      else return notify(`Resume: ${errText(e)}`, 'error');
    }
  }
}

function patchView(runId: string, patch: Partial<RunView>): void {
  const c = get().current;
  if (c?.runId === runId) set({ current: { ...c, ...patch, version: c.version + 1 } });
}

function push(series: Series, e: StepInfo): void {
  series.step.push(e.step);
  series.loss.push(e.loss);
  for (const id of LOSS_TERM_IDS) series[id].push(e[id] ?? NaN);
  series.acc.push(e.acc);
  series.lr.push(e.lr);
}

function truncate(series: Series, maxStep: number): Series {
  const n = series.step.findIndex((s) => s > maxStep);
  if (n < 0) return series;
  const out = emptySeries();
  for (const k of Object.keys(out) as (keyof Series)[]) out[k] = series[k].slice(0, n);
  return out;
}

/** Live events of the service: only the run on the dashboard is tracked in detail; every event refreshes the list lazily. */
export function startTrainingEvents(): () => void {
  const offEvent = api.on('train.event', ({ runId, event }) => {
    const c = get().current;
    if (!c || c.runId !== runId) return;
    const e = event;
    switch (e.type) {
      case 'start': {
        const start: StartInfo = e;
        const series = start.resumedFromStep !== undefined ? truncate(c.series, start.resumedFromStep) : c.series;
        patchView(runId, { start, series, phase: 'running', message: null });
        // The run folder now holds the settings snapshot and the weights load report.
        void loadDetail(runId);
        break;
      }
      case 'step':
        push(c.series, e);
        patchView(runId, { last: e, phase: c.phase === 'starting' ? 'running' : c.phase });
        break;
      case 'epoch':
        if (e.epoch === c.start?.epochs && c.phase === 'running') patchView(runId, { phase: 'evaluating' });
        break;
      case 'checkpoint':
        patchView(runId, { checkpoint: { epoch: e.epoch, step: e.step, ...(e.batch !== undefined ? { batch: e.batch } : {}) }, hasCheckpoint: true });
        break;
      case 'eval':
        patchView(runId, { evalSummary: e, evalHistory: [...c.evalHistory.filter((x) => x.epoch !== e.epoch), e] });
        break;
      case 'done':
        patchView(runId, { phase: e.status });
        break;
    }
  });
  const offExit = api.on('train.exit', ({ runId, status, message }) => {
    // The service forgets the process when it has exited, a moment after this event.
    setTimeout(() => void refreshRuns(), 1000);
    const c = get().current;
    // Announced wherever the user is (editor or training view).
    const name = c?.runId === runId ? c.name : runId;
    if (status === 'completed') notify(`Run "${name}" completed`);
    else if (status === 'failed') notify(`Run "${name}" failed: ${message ?? 'the training process ended'}`, 'error');
    if (!c || c.runId !== runId) return;
    patchView(runId, { phase: status as RunPhase, message: message ?? null });
    if (status === 'completed') void loadDetail(runId).then(() => set({ tab: 'results' }));
    else void loadDetail(runId);
  });
  // Subscribed first, then attached: a page reloaded (or a second tab opened) while a run trains shows that run
  // live on the dashboard and in the status bar, with Pause / Stop, instead of "No run yet".
  void attachLiveRun();
  return () => {
    offEvent();
    offExit();
  };
}

/** The run the service is training now (a live training process), opened on the dashboard when none is shown. */
async function attachLiveRun(): Promise<void> {
  if (get().current) return;
  try {
    const runs = await api.call('runs.list', {});
    set({ runs });
    const live = runs.find((r) => r.active);
    if (live && !get().current) await openRun(live.id, true);
  } catch {
    // The Runs tab shows why the list cannot be read when it is opened.
  }
}

export async function refreshRuns(): Promise<void> {
  try {
    set({ runs: await api.call('runs.list', {}) });
  } catch (e) {
    notify(`Runs: ${errText(e)}`, 'error');
  }
}

export async function loadDetail(runId: string): Promise<void> {
  try {
    const d = await api.call('runs.get', { runId });
    const c = get().current;
    if (c?.runId === runId) set({ current: { ...c, detail: d, name: d.summary.name, version: c.version + 1 } });
  } catch (e) {
    notify(errText(e), 'error');
  }
}

// The same words as the Runs list (the service's run status): a run reads the same everywhere.
// An imported run (`external`) is never resumed by the app: it reads as finished here, its badge says external.
const PHASES: Record<string, RunPhase> = { running: 'running', paused: 'paused', stopped: 'stopped', completed: 'completed', failed: 'failed', interrupted: 'interrupted', external: 'completed' };

/**
 * Reopens a run from the runs list: its metrics become the dashboard series, its evaluation the results.
 * `follow`: a refresh of the run shown (an imported run whose source folder is still written): the tab stays.
 */
export async function openRun(runId: string, follow = false): Promise<void> {
  try {
    const d = await api.call('runs.get', { runId });
    const view = newView(runId, d.summary.name, PHASES[d.summary.status] ?? 'stopped');
    view.hasCheckpoint = !!d.summary.hasCheckpoint;
    let last: StepInfo | null = null;
    for (const raw of d.metrics) {
      // metrics.jsonl holds the engine's events (plus a time stamp): typed by the contract's schema.
      const m = trainEventSchema.safeParse(raw);
      if (!m.success) continue;
      if (m.data.type === 'step') {
        push(view.series, m.data);
        last = m.data;
      }
      if (m.data.type === 'eval') {
        view.evalSummary = m.data;
        view.evalHistory = [...view.evalHistory.filter((x) => x.epoch !== (m.data as EvalSummary).epoch), m.data];
      }
    }
    const info = d.info as { backend?: string; epochs?: number; device?: 'cpu' | 'gpu'; adapter?: string };
    set({
      current: {
        ...view,
        last,
        detail: d,
        message: d.summary.message ?? null,
        start: last ? { backend: info.backend ?? d.summary.backend ?? '?', ...(info.device ? { device: info.device } : {}), ...(info.adapter ? { adapter: info.adapter } : {}), epochs: d.summary.epochs ?? info.epochs ?? 0, itersPerEpoch: last.iters, microBatch: 0, microBatchReason: '', loss: '', numClasses: 0 } : null,
      },
      ...(follow ? {} : { tab: d.eval ? 'results' : 'dashboard' }),
    });
  } catch (e) {
    notify(errText(e), 'error');
  }
}

/** Runs ▸ Import training folder…: a fast-reid / reid-strong-baseline output folder becomes a run (runs.import). */
export async function importTrainingFolder(path: string): Promise<string | null> {
  try {
    const r = await api.call('runs.import', { path });
    await refreshRuns();
    notify(`Imported ${r.frameworkLabel} run: ${r.steps} logged iterations, ${r.evals} evaluations${r.checkpoint ? `, weights from ${r.checkpoint.file}` : ''}${r.skippedLines ? ` (${r.skippedLines} unreadable metric lines skipped)` : ''}`, 'info');
    return r.runId;
  } catch (e) {
    notify(errText(e), 'error');
    return null;
  }
}

export async function renameRun(runId: string, name: string): Promise<void> {
  try {
    await api.call('runs.rename', { runId, name });
    const c = get().current;
    if (c?.runId === runId) set({ current: { ...c, name } });
    await refreshRuns();
  } catch (e) {
    notify(errText(e), 'error');
  }
}

export async function deleteRun(runId: string): Promise<void> {
  try {
    await api.call('runs.delete', { runId });
    const c = get().current;
    set({ compareIds: get().compareIds.filter((id) => id !== runId), ...(c?.runId === runId ? { current: null } : {}) });
    await refreshRuns();
  } catch (e) {
    notify(errText(e), 'error');
  }
}

export function toggleCompare(runId: string): void {
  const ids = get().compareIds;
  set({ compareIds: ids.includes(runId) ? ids.filter((x) => x !== runId) : [...ids, runId].slice(-8) });
}

export async function compare(): Promise<void> {
  // Oldest first, so "what changed" reads as the history of the experiments.
  const order = new Map(get().runs.map((r) => [r.id, r.created]));
  const ids = [...get().compareIds].sort((a, b) => (order.get(a) ?? '').localeCompare(order.get(b) ?? ''));
  try {
    set({ comparison: await api.call('runs.compare', { runIds: ids }) });
  } catch (e) {
    notify(`Compare: ${errText(e)}`, 'error');
  }
}
