/**
 * A framework's training output folder becomes a run (issue 21 "In"): the use case behind
 * `reid-studio runs import DIR` and the service's `runs.import`. The source folder is only read; the run
 * folder (inside the runs folder, like any run) gets what the app writes for its own runs:
 *   run.json       status `external`, `external: { framework, source, … }` (where it came from, when it last changed)
 *   graph.json     the config's model (core/config import), classifier sized to the checkpoint
 *   settings.json  the config's training settings (Compare's graph / settings diff works against local runs)
 *   metrics.jsonl  one `step` record per logged iteration (loss terms by the app's ids, fast-reid's
 *                  loss_dict names kept in `lossDict`), one `eval` record per evaluation
 *   eval.json      the framework's last evaluation (mAP, rank-1/5/10, mINP as fractions, epoch, step)
 *   checkpoint/    the framework's newest checkpoint as the run's weights (Evaluate on…, rank lists, exports)
 *   load-report.json  how its tensors mapped onto the graph
 * Deleting the run deletes this folder only. `syncExternalRun` re-reads the source (live follow).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { analyze, parseTrainingSettings, withClassifierSize, type GraphDoc, type TrainingSettings } from '../../../core/index.js';
import { ConfigError, importConfig } from '../../../core/config/index.js';
import { readTextFileSync, writeFileAtomic } from '../../io/files.js';
import { RunDir } from '../store/run-dir.js';
import { writeCheckpoint } from '../store/checkpoint.js';
import { encodeWeights, PYTORCH_LAYOUT } from '../store/checkpoint-keys.js';
import { createImportedRun } from '../lifecycle.js';
import { RunLockedError, withRunLock } from '../store/lock.js';
import { byStateDictKey, planLoad, readCheckpoint as readTorchCheckpoint, CheckpointError, type Checkpoint, type LoadReport } from '../../weights/index.js';
import { readFastreidFolder } from './fastreid-folder.js';
import { FRAMEWORK_LABELS, readIfExists, type ExternalFolder, type ExternalFramework } from './folder-common.js';
import { readRsbFolder, rsbConfigBlock } from './rsb-folder.js';

/** A folder that cannot be imported; the message is one line for the user. */
export class ExternalImportError extends Error {
  readonly code = 'E_IMPORT_FOLDER';
}

const NOT_A_FOLDER =
  'is not a fast-reid or reid-strong-baseline training folder: looked for config.yaml with metrics.json / log.txt / last_checkpoint (fast-reid OUTPUT_DIR) and log.txt with a "Running with config:" block (reid-strong-baseline OUTPUT_DIR)';

interface Loaded {
  folder: ExternalFolder;
  doc: GraphDoc;
  settings: TrainingSettings;
  ignored: string[];
  warnings: string[];
}

function importText(text: string, path: string, framework: ExternalFramework): { doc: GraphDoc; ignored: string[]; warnings: string[] } {
  let r;
  try {
    r = importConfig(text, { path, resolveBase: (p) => readTextFileSync(p, 'config') });
  } catch (e) {
    if (e instanceof ConfigError) throw new ExternalImportError(`${path}: the app cannot model this config: ${e.message}`);
    throw e;
  }
  if (r.framework !== framework) throw new ExternalImportError(`${path} is a ${FRAMEWORK_LABELS[r.framework]} config in a ${FRAMEWORK_LABELS[framework]} folder`);
  return r;
}

/** Reads the source folder: which framework, its config as a document, its curves, evaluations and newest checkpoint. */
export async function loadExternalFolder(source: string): Promise<Loaded> {
  const dir = resolve(source);
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new ExternalImportError(`${source}: no such folder`);
  }
  if (!st.isDirectory()) throw new ExternalImportError(`${source} is not a folder (pass a training output folder, OUTPUT_DIR)`);
  const cfgText = await readIfExists(join(dir, 'config.yaml'));
  let framework: ExternalFramework;
  let configPath: string;
  let imported;
  if (cfgText !== null) {
    framework = 'fastreid';
    configPath = join(dir, 'config.yaml');
    imported = importText(cfgText, configPath, framework);
  } else {
    const log = await readIfExists(join(dir, 'log.txt'));
    const block = log === null ? null : rsbConfigBlock(log);
    if (block === null) throw new ExternalImportError(`${source} ${NOT_A_FOLDER}`);
    framework = 'rsb';
    configPath = join(dir, 'log.txt');
    imported = importText(block, `${configPath} ("Running with config")`, framework);
    // The block is the CfgNode's str(), which prints strings unquoted (`IF_WITH_CENTER: no`): the YAML
    // quoting advice is for config files, not for this printout, whose values are the merged config's.
    imported = { ...imported, warnings: imported.warnings.filter((w) => !/ is an unquoted /.test(w)) };
  }
  const st2 = parseTrainingSettings(imported.doc.training);
  if (!st2.ok) throw new ExternalImportError(`${configPath}: the training settings cannot be modelled: ${st2.message}`);
  const settings = st2.settings;
  const read =
    framework === 'fastreid'
      ? await readFastreidFolder(dir, { evalPeriod: settings.evalPeriod, maxEpoch: settings.epochs })
      : await readRsbFolder(dir, rsbModelName((await readIfExists(configPath)) ?? ''));
  if (!read) throw new ExternalImportError(`${source} ${NOT_A_FOLDER}`);
  return { folder: { ...read, configPath }, doc: imported.doc, settings, ignored: imported.ignored, warnings: [...imported.warnings, ...read.warnings] };
}

/** reid-strong-baseline names its checkpoints after MODEL.NAME (resnet18, resnet50_ibn_a, …): read from the config block. */
function rsbModelName(log: string): string {
  const m = /^MODEL:\n(?:  .*\n)*?  NAME: (\S+)$/m.exec(rsbConfigBlock(log) ?? '');
  return m ? m[1]! : 'resnet50';
}

interface ConvertedCheckpoint {
  doc: GraphDoc;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  weightKeys: string[];
  report: LoadReport;
}

/**
 * The framework checkpoint `file` as the run's weights for `doc`: every tensor mapped through the load
 * plan (main/weights: fast-reid `{'model': …}` and RSB whole-model pickles, never executed), the classifier
 * sized to the checkpoint's. Throws ExternalImportError when the tensors do not fit the config's model,
 * CheckpointError when the file cannot be read (a checkpoint still being written).
 */
export async function convertCheckpoint(doc: GraphDoc, file: string, configPath: string): Promise<ConvertedCheckpoint> {
  const ckpt = await readTorchCheckpoint(file);
  let cur = doc;
  let plan = planLoad(analyze(cur.graph).layers, ckpt, { keepClassifier: true });
  // The frameworks size the classifier from the training identities at run time (fast-reid writes
  // NUM_CLASSES into config.yaml, RSB does not log it): the checkpoint's classifier says how many.
  const n = classifierRows(ckpt);
  if (n !== null && plan.report.missing.some((m) => m.layer === 'classifier')) {
    cur = { ...cur, graph: withClassifierSize(cur.graph, n) } as GraphDoc;
    plan = planLoad(analyze(cur.graph).layers, ckpt, { keepClassifier: true });
  }
  const { mismatched, missing } = plan.report;
  const missingTrained = missing.filter((m) => m.layer !== 'classifier');
  if (mismatched.length) {
    const m = mismatched[0]!;
    throw new ExternalImportError(`${file} does not match ${configPath}: ${mismatched.length} tensor(s) have other shapes (e.g. ${m.source || m.key}: the config's model has [${m.expected.join(', ')}], the checkpoint [${m.got.join(', ')}])`);
  }
  if (missingTrained.length) {
    const m = missingTrained[0]!;
    throw new ExternalImportError(`${file} does not match ${configPath}: ${missingTrained.length} weight(s) of the config's model are not in the checkpoint (e.g. ${m.key})`);
  }
  // The file's tensors as read (PyTorch layout), stored under the graph's state_dict keys: no relayout.
  const layers = analyze(cur.graph).layers;
  const { tensors, weightKeys } = encodeWeights(layers, byStateDictKey(layers, plan.torch));
  return { doc: cur, tensors, weightKeys, report: plan.report };
}

/** Rows of the checkpoint's classifier (fast-reid `heads.weight` / `heads.classifier.weight`, RSB `classifier.weight`), under any wrapper prefix. */
function classifierRows(ckpt: Checkpoint): number | null {
  for (const [k, t] of ckpt.tensors) if (/(^|\.)(heads\.weight|heads\.classifier\.weight|classifier\.weight)$/.test(k) && t.shape.length === 2) return t.shape[0]!;
  return null;
}

/**
 * The records the run's metrics.jsonl holds for the folder's curves and evaluations, in step order, in the
 * trainer's record shape (core/api trainEventSchema `step` / `eval`), so the dashboard and Compare read them as
 * a local run's. Images/s is IMS_PER_BATCH over the framework's per-iteration `time` (0 when not logged); the
 * ETA is the framework's own (fast-reid `eta_seconds`, else 0); a run whose iterations per epoch are unknown
 * counts every logged iteration in epoch 1.
 */
function metricRecords(f: ExternalFolder, batch: number): Array<Record<string, unknown>> {
  const steps = f.steps.map((s) => ({
    type: 'step',
    step: s.step,
    epoch: s.epoch ?? 1,
    iter: s.iter ?? s.step,
    iters: s.iters ?? 0,
    loss: s.loss,
    acc: s.acc ?? 0,
    lr: s.lr ?? 0,
    imgPerSec: s.seconds ? batch / s.seconds : 0,
    etaSeconds: s.eta ?? 0,
    ...s.terms,
    ...(s.lossDict ? { lossDict: s.lossDict } : {}),
  }));
  const evals = f.evals.map((e) => ({ type: 'eval', ...(e.epoch !== null ? { epoch: e.epoch } : {}), ...(e.step !== null ? { step: e.step } : {}), mAP: e.mAP, rank1: e.rank1, rank5: e.rank5, rank10: e.rank10, mINP: e.mINP, source: e.source }));
  const key = (r: { step?: number }) => r.step ?? Infinity;
  return [...steps, ...evals].sort((a, b) => key(a) - key(b) || (a.type === 'eval' ? 1 : 0) - (b.type === 'eval' ? 1 : 0));
}

/** Latest modification time of the files the importer reads in `dir` (ISO), for "last changed". */
async function lastChanged(dir: string, f: ExternalFolder): Promise<string | null> {
  let t = 0;
  const names = ['config.yaml', 'metrics.json', 'log.txt', 'last_checkpoint', ...(f.checkpoint ? [f.checkpoint.file] : [])];
  for (const n of names) {
    try {
      t = Math.max(t, (await stat(join(dir, n))).mtimeMs);
    } catch {
      // absent
    }
  }
  return t ? new Date(t).toISOString() : null;
}

export interface ImportedRun {
  runId: string;
  runDir: string;
  framework: ExternalFramework;
  frameworkLabel: string;
  source: string;
  steps: number;
  evals: number;
  skippedLines: number;
  checkpoint: { file: string; epoch: number | null } | null;
  ignored: string[];
  warnings: string[];
}

/**
 * Imports `source` as a new run in `runsDir`. `data` (optional): the dataset folder the run trained on,
 * recorded so Evaluate on… can use it as the run's own. Throws ExternalImportError (one line) for a folder
 * that is not a training folder, a config the app cannot model, or a checkpoint that does not match it.
 */
export async function importTrainingFolder(source: string, runsDir: string, opts: { name?: string; data?: string; now?: Date } = {}): Promise<ImportedRun> {
  const loaded = await loadExternalFolder(source);
  const { folder } = loaded;
  const src = resolve(source);
  let doc = loaded.doc;
  let converted: ConvertedCheckpoint | null = null;
  const warnings = [...loaded.warnings];
  if (folder.checkpoint) {
    try {
      converted = await convertCheckpoint(doc, join(src, folder.checkpoint.file), folder.configPath);
      doc = converted.doc;
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      // A checkpoint still being written (or unreadable): the run has no weights until the next read.
      warnings.push(`${folder.checkpoint.file} cannot be read yet (${e.message}); it is read again when the folder changes`);
    }
  }
  if (folder.skippedLines) warnings.push(`${folder.skippedLines} unreadable metric line(s) skipped`);
  const label = FRAMEWORK_LABELS[folder.framework];
  const name = opts.name ?? `${label} ${src.split(/[/\\]/).filter(Boolean).pop() ?? ''}`.trim();
  const { id: runId, dir: runDir } = await createImportedRun(
    runsDir,
    name,
    async (run, id) => {
      const now = (opts.now ?? new Date()).toISOString();
      await run.writeJson('graph.json', doc);
      await run.writeJson('settings.json', loaded.settings);
      await writeRecords(run, folder, converted, loaded.settings.batch.p * loaded.settings.batch.k);
      const last = folder.evals[folder.evals.length - 1];
      if (last) await run.writeJson('eval.json', evalJson(last, label));
      const lastStep = folder.steps[folder.steps.length - 1];
      await run.writeJson('run.json', {
        id,
        name,
        status: 'external',
        created: now,
        updated: now,
        backend: label,
        epochs: loaded.settings.epochs,
        ...(lastStep ? { step: lastStep.step, ...(lastStep.epoch !== undefined ? { epoch: lastStep.epoch } : {}) } : {}),
        ...(opts.data ? { dataset: { kind: loaded.settings.dataset?.kind ?? 'market1501', root: resolve(opts.data) } } : {}),
        message: `external: ${label}`,
        external: {
          framework: folder.framework,
          source: src,
          config: folder.configPath,
          importedAt: now,
          lastChanged: await lastChanged(src, folder),
          itersPerEpoch: folder.itersPerEpoch,
          skippedLines: folder.skippedLines,
          checkpoint: converted && folder.checkpoint ? folder.checkpoint : null,
          ignoredKeys: loaded.ignored,
        },
      });
    },
    opts.now,
  );
  return { runId, runDir, framework: folder.framework, frameworkLabel: label, source: src, steps: folder.steps.length, evals: folder.evals.length, skippedLines: folder.skippedLines, checkpoint: converted ? folder.checkpoint : null, ignored: loaded.ignored, warnings };
}

function evalJson(e: ExternalFolder['evals'][number], label: string): Record<string, unknown> {
  return { mAP: e.mAP, rank1: e.rank1, rank5: e.rank5, rank10: e.rank10, mINP: e.mINP, ...(e.epoch !== null ? { epoch: e.epoch } : {}), ...(e.step !== null ? { step: e.step } : {}), source: `${label} ${e.source}` };
}

async function writeRecords(run: RunDir, folder: ExternalFolder, converted: ConvertedCheckpoint | null, batch: number): Promise<void> {
  const lines = metricRecords(folder, batch).map((r) => JSON.stringify(r));
  await writeFileAtomic(join(run.dir, 'metrics.jsonl'), lines.join('\n') + (lines.length ? '\n' : ''));
  if (converted && folder.checkpoint) {
    const epochs = folder.checkpoint.epoch;
    const step = epochs !== null && folder.itersPerEpoch ? epochs * folder.itersPerEpoch : (folder.steps[folder.steps.length - 1]?.step ?? 0);
    // The trainer's meta: `epoch` is the 1-based epoch training would resume at, `batch` the position in it.
    await writeCheckpoint(run.dir, { tensors: converted.tensors, meta: { layout: PYTORCH_LAYOUT, weightKeys: converted.weightKeys, step, ...(epochs !== null ? { epoch: epochs + 1, batch: 0 } : {}), external: { file: folder.checkpoint.file } } });
    await run.writeJson('load-report.json', converted.report);
  }
}

/**
 * Live follow: re-reads an imported run's source folder and brings the run up to date (new metric lines,
 * a newer checkpoint once it is complete). A torn last line or a checkpoint still being written is left
 * for the next call. Returns whether anything changed. Never writes to the source.
 */
export async function syncExternalRun(runDir: string): Promise<boolean> {
  // One writer per run folder: a second reader of the same run (the Runs list and the dashboard at once) waits its turn.
  return withRunLock(runDir, 'follow the source folder', () => syncUnlocked(runDir)).catch((e: unknown) => {
    if (e instanceof RunLockedError) return false;
    throw e;
  });
}

async function syncUnlocked(runDir: string): Promise<boolean> {
  const run = new RunDir(runDir);
  const info = await run.readJson<{ external?: { source: string; lastChanged: string | null; checkpoint: { file: string } | null } } & Record<string, unknown>>('run.json');
  const ext = info?.external;
  if (!ext?.source) return false;
  let loaded: Loaded;
  try {
    loaded = await loadExternalFolder(ext.source);
  } catch {
    return false; // the source went away or is unreadable right now: keep what was imported
  }
  const changed = await lastChanged(ext.source, loaded.folder);
  if (changed === ext.lastChanged) return false;
  const graph = await run.readJson<GraphDoc>('graph.json');
  let converted: ConvertedCheckpoint | null = null;
  const f = loaded.folder;
  if (f.checkpoint && graph) {
    try {
      converted = await convertCheckpoint(graph, join(ext.source, f.checkpoint.file), f.configPath);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
    }
  }
  await writeRecords(run, f, converted, loaded.settings.batch.p * loaded.settings.batch.k);
  const last = f.evals[f.evals.length - 1];
  // eval.json is the framework's last evaluation until the app evaluates the run (Evaluate on…): that one stays.
  const current = await run.readJson<{ source?: unknown }>('eval.json');
  if (last && (!current || typeof current.source === 'string')) await run.writeJson('eval.json', evalJson(last, FRAMEWORK_LABELS[f.framework]));
  const lastStep = f.steps[f.steps.length - 1];
  await run.updateInfo({
    ...(lastStep ? { step: lastStep.step, ...(lastStep.epoch !== undefined ? { epoch: lastStep.epoch } : {}) } : {}),
    external: { ...ext, lastChanged: changed, itersPerEpoch: f.itersPerEpoch, skippedLines: f.skippedLines, checkpoint: converted ? f.checkpoint : ext.checkpoint },
  });
  return true;
}
