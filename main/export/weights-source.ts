/**
 * Weights for an export given as a path (the CLI's `--weights`, the service's weights choice): a run folder
 * or a PyTorch / safetensors file, read by the one resolver (main/runs/store/run-weights.ts) with the
 * classifier kept when its class count matches. Problems of the load become warnings.
 *
 * A run folder's classifier has one output per training identity of the run's dataset (the trainer sizes
 * it, training/engine/prepare.ts `sizeClassifier`, as reid-strong-baseline's `make_model(cfg, num_classes)`
 * and fast-reid's `MODEL.HEADS.NUM_CLASSES` do): `forRunWeights` sizes the exported graph the same way.
 */
import { readFile, stat } from 'node:fs/promises';
import { fsPath } from '../io/raw-names.js';
import { basename, dirname, join } from 'node:path';
import { classifierIds, withClassifierSize, type GraphDoc, type Layer } from '../../core/index.js';
import { DATASET_LAYOUT_IDS } from '../../core/config/index.js';
import { DEMO_MARKER } from '../training/data/demo.js';
import { BEST_DIR } from '../runs/store/best-checkpoint.js';
import { resolveWeights } from '../runs/store/run-weights.js';
import { CheckpointError } from '../weights/index.js';
import { ExportError } from './errors.js';

/**
 * The weights at `path` for `layers`: `torch`, PyTorch layout by `${layer}/${slot}` (what the ONNX and `.pth`
 * exports take through the weight store, ExportOptions.torchWeights: no relayout), `values` the same in tfjs
 * layout, made when first read; problems of the load as `warnings`. Throws ExportError with a user message.
 */
export async function readExportWeights(path: string, layers: Layer[]): Promise<{ readonly values: Map<string, Float32Array>; torch?: Map<string, Float32Array>; warnings: string[] }> {
  let r;
  try {
    r = await resolveWeights(path, layers, { keepClassifier: true });
  } catch (e) {
    if (e instanceof CheckpointError) throw new ExportError(`cannot read weights ${path}: ${e.message}`);
    throw new ExportError((e as Error).message);
  }
  const warnings: string[] = [];
  const report = r.report;
  if (report) {
    if (report.counts.mismatched) warnings.push(`${report.counts.mismatched} tensor(s) of ${path} have the wrong shape for the graph (e.g. ${report.mismatched[0]!.key}): not used`);
    const classifier = report.skipped.find((s) => s.key.includes('classifier'));
    if (classifier) warnings.push(`${classifier.key}: ${classifier.reason}`);
  }
  return {
    get values() {
      return r.values;
    },
    ...(r.torch ? { torch: r.torch } : {}),
    warnings,
  };
}

const isFolder = async (p: string) => (await stat(fsPath(p)).catch(() => null))?.isDirectory() ?? false;

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(fsPath(file), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The number of training identities a run folder's classifier was sized to: run.json's `numClasses`
 * (written by the trainer), else the classifier units of the run's graph.json. Undefined for a file, a
 * folder that is not a run, or a run whose files say neither.
 */
export async function runClassCount(weightsPath: string): Promise<number | undefined> {
  // A run's best checkpoint (RUN_DIR/best) belongs to the run around it.
  const path = basename(weightsPath) === BEST_DIR && (await readJson(join(dirname(weightsPath), 'run.json'))) !== undefined ? dirname(weightsPath) : weightsPath;
  if (!(await isFolder(path))) return undefined;
  const info = (await readJson(join(path, 'run.json'))) as { numClasses?: unknown } | undefined;
  if (typeof info?.numClasses === 'number' && Number.isInteger(info.numClasses) && info.numClasses > 0) return info.numClasses;
  const doc = (await readJson(join(path, 'graph.json'))) as GraphDoc | undefined;
  if (!doc?.graph || !Array.isArray(doc.graph.nodes) || !Array.isArray(doc.graph.edges)) return undefined;
  const ids = classifierIds(doc.graph);
  const units = doc.graph.nodes.find((n) => ids.has(n.id))?.params?.units;
  return typeof units === 'number' && units > 0 ? units : undefined;
}

/** The classifier size of `doc` (its first identity classifier's units), undefined when it has none. */
function docClassCount(doc: GraphDoc): number | undefined {
  const ids = classifierIds(doc.graph);
  const units = doc.graph.nodes.find((n) => ids.has(n.id))?.params?.units;
  return typeof units === 'number' ? units : undefined;
}

/**
 * `doc` as it must be exported with the weights at `path`: for a run folder whose classifier was sized to
 * a different number of training identities than `doc`'s, `doc` with its classifier sized as training did,
 * and a note saying so (shown before Export in the dialog, and with the export's warnings). Files and
 * matching runs return `doc` unchanged.
 */
export async function forRunWeights(doc: GraphDoc, path: string | undefined): Promise<{ doc: GraphDoc; notes: string[] }> {
  if (!path) return { doc, notes: [] };
  const classes = await runClassCount(path);
  const current = docClassCount(doc);
  if (classes === undefined || current === undefined || classes === current) return { doc, notes: [] };
  return {
    doc: structuredClone({ ...doc, graph: withClassifierSize(doc.graph, classes) }) as GraphDoc,
    notes: [`classifier.weight is sized from the run as training sized it: ${classes} training identities (the graph says ${current})`],
  };
}

/** Formats whose output carries the training settings: the YACS configs and the training jobs built on them. */
const SETTINGS_FORMATS: readonly string[] = ['rsb-yaml', 'fastreid-yaml', 'rsb-job', 'fastreid-job'];

/**
 * The dataset a run trained on, as the settings' `dataset` block, from run.json (what the trainer loaded:
 * its layout and folder); the demo cache folder (its marker file, main/training/data/demo.ts) is the demo
 * dataset of that size. Undefined when run.json does not say.
 */
async function runDataset(runDir: string): Promise<Record<string, unknown> | undefined> {
  const info = (await readJson(join(runDir, 'run.json'))) as { dataset?: { kind?: unknown; root?: unknown } } | undefined;
  const { kind, root } = info?.dataset ?? {};
  if (typeof root !== 'string' || typeof kind !== 'string') return undefined;
  const demo = (await readJson(join(root, DEMO_MARKER))) as { size?: unknown } | undefined;
  if (demo && typeof demo.size === 'string') return { kind: 'demo', demoSize: demo.size };
  return (DATASET_LAYOUT_IDS as readonly string[]).includes(kind) ? { kind, path: root } : undefined;
}

/**
 * `doc` (a run's graph.json) with the settings the run trained with as its training block, for the config
 * and job formats: graph.json is the document as given to `train` (a CLI `--preset` run has none, and flags
 * such as `--epochs` override it), settings.json is what trained (main/training/engine/trainer.ts), and
 * run.json names the data loaded (the CLI's `--demo` / `--data` do not reach settings.json's dataset). Without
 * them a CLI run's config fell back to the framework's recipe and Market-1501. Other formats, folders that
 * are no run, and runs without settings.json return `doc`.
 */
export async function withRunSettings(doc: GraphDoc, runDir: string | undefined, format: string): Promise<GraphDoc> {
  if (!runDir || !SETTINGS_FORMATS.includes(format)) return doc;
  const settings = await readJson(join(runDir, 'settings.json'));
  if (!settings || typeof settings !== 'object' || Array.isArray(settings)) return doc;
  const dataset = await runDataset(runDir);
  return { ...doc, training: { ...(settings as Record<string, unknown>), ...(dataset ? { dataset } : {}) } } as GraphDoc;
}
