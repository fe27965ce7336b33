/**
 * Model exports (issue 6): `pytorch` (model.py + model.pth in reid-strong-baseline's state_dict layout) and
 * `tfjs` (model.json + weight shards + the custom-layer registration file), both folders written to a
 * temp folder and renamed into place, and `onnx` (one file). The CLI's `export` and the service call
 * `exportModel`. The weights go through the weight store (main/weights/store.ts): the `pytorch` and `onnx`
 * exports read it directly; only the `tfjs` export loads TensorFlow.js and builds the model from it.
 */
import { analyze, classifierIds, compileToKeras, CompileError, getKind, weightSpecs, type GraphDoc, type Layer } from '../../core/index.js';
import { exportStateDict, freshWeightStore, writeCheckpoint, WeightStoreError, type WeightStore } from '../weights/index.js';
import { ExportError } from './errors.js';
import { writeFolderAtomic } from './folder.js';
import { writeFileSynced } from '../io/files.js';
import { checkFastreidModel, FR_WRAP_KEY, toFastreidLayout } from './fastreid-layout.js';
import { exportPreprocessing } from './preprocessing.js';
import { generateModelPy, torchNameProblems } from './pytorch.js';
import { writeOnnxExport } from './onnx.js';
import { rsbLayoutNote, rsbUnusedModules } from './rsb-layout.js';
import { join } from 'node:path';

export { ExportError } from './errors.js';
export { generateModelPy, torchNameProblems } from './pytorch.js';
export { exportPreprocessing, type ExportPreprocessing } from './preprocessing.js';
export { fastreidKey } from './fastreid-layout.js';
export { rsbLayoutNote } from './rsb-layout.js';

/** Key layouts of the `pytorch` export's model.pth. Scripts depend on these names: add, never rename. */
export const PYTORCH_LAYOUTS = ['rsb', 'fastreid'] as const;
export type PytorchLayout = (typeof PYTORCH_LAYOUTS)[number];
export { writeTfjsExport, SHARD_BYTES } from './tfjs.js';
export { LAYERS_FILE } from './layers-bundle.js';
export { EXPORT_MANIFEST } from './folder.js';
export { writeOnnxExport, onnxModelOf, defaultPreprocessing } from './onnx.js';

export const MODEL_EXPORT_FORMATS = ['pytorch', 'tfjs', 'onnx'] as const;
export type ModelExportFormat = (typeof MODEL_EXPORT_FORMATS)[number];

export const MODEL_EXPORT_DESCRIPTIONS: Record<ModelExportFormat, string> = {
  pytorch: "folder: model.py (plain PyTorch module) + model.pth (state_dict, reid-strong-baseline keys; --layout fastreid: fast-reid's {'model': …})",
  tfjs: 'folder: model.json + weight shards + reid-studio-layers.js (tf.loadLayersModel)',
  onnx: 'file: ONNX model (opset 17, dynamic batch, eval feature output; preprocessing in metadata_props)',
};

export interface ExportOptions {
  /** Trained weights, `${layer}/${slot}` → tfjs layout (as `getWeightValues` / `planLoad` give them). */
  weights?: Map<string, Float32Array>;
  /**
   * Trained weights in PyTorch layout, `${layer}/${slot}` → the state_dict tensor's values (a run checkpoint's
   * or a file's, as readExportWeights gives them): the store takes the arrays as they are, so an ONNX or `.pth`
   * export writes them without a relayout. Used instead of `weights` when given.
   */
  torchWeights?: Map<string, Float32Array>;
  /** Shown in model.py's docstring (e.g. the graph file name). */
  title?: string;
  /** `pytorch` only: model.pth in reid-strong-baseline's keys (default) or fast-reid's `{'model': …}` layout. */
  layout?: string;
}

export interface ExportResult {
  format: ModelExportFormat;
  out: string;
  files: string[];
  /** Weight slots set from `weights`, of all the model's slots. */
  weights: { set: number; slots: number };
  warnings: string[];
}

function isClassifierSlot(key: string, layers: { name: string; nodeId: string }[], ids: Set<string>): boolean {
  const layer = key.slice(0, key.lastIndexOf('/'));
  return layers.some((l) => l.name === layer && ids.has(l.nodeId));
}

function withoutClassifier(values: Map<string, Float32Array>, layers: { name: string; nodeId: string }[], ids: Set<string>): Map<string, Float32Array> {
  return new Map([...values].filter(([k]) => !isClassifierSlot(k, layers, ids)));
}

/** RSB-keyed entries → the layout's keys, with RSB's off-forward-path modules added for `rsb` (rsb-layout.ts). */
function inLayout<T>(doc: GraphDoc, rsb: Map<string, T>, layout: PytorchLayout, unused: (shape: number[]) => T): Map<string, T> {
  if (layout === 'fastreid') return toFastreidLayout(rsb);
  for (const m of rsbUnusedModules(doc)) for (const t of m.tensors) rsb.set(t.key, unused(t.shape));
  return rsb;
}

/**
 * The `pytorch` export's model.pth state dict (torch layout) for the layers' tfjs values: reid-strong-baseline's
 * Baseline keys plus the modules RSB keeps off the forward path (written as zeros), or fast-reid's keys
 * (fastreid-layout.ts). Throws ExportError for a key fast-reid has no parameter for.
 */
export function pytorchStateDict(doc: GraphDoc, layers: Layer[], values: Map<string, Float32Array>, layout: PytorchLayout): Map<string, { shape: number[]; data: Float32Array }> {
  return storeStateDict(doc, exportStateDict(layers, values), layout);
}

/** `pytorchStateDict` for a state dict already in torch layout and the graph's keys (a weight store's `stateDict()`). */
function storeStateDict(doc: GraphDoc, rsb: Map<string, { shape: number[]; data: Float32Array }>, layout: PytorchLayout): Map<string, { shape: number[]; data: Float32Array }> {
  return inLayout(doc, rsb, layout, (shape) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }));
}

/** The `tfjs` export: loads TensorFlow.js, builds the model and fills it from the store. */
async function writeTfjsFromStore(dir: string, compiled: ReturnType<typeof compileToKeras>, store: WeightStore, preprocessing: ReturnType<typeof exportPreprocessing>): Promise<string[]> {
  const [{ backendReport, buildFromCompiled, disposeModel, initBackend, setWeightsFromValues }, { writeTfjsExport }] = await Promise.all([import('../tfjs/index.js'), import('./tfjs.js')]);
  if (!backendReport()) await initBackend('auto');
  const reid = await buildFromCompiled(compiled);
  try {
    setWeightsFromValues(reid, compiled.layers, store.tfjsValues());
    return await writeTfjsExport(dir, reid, preprocessing);
  } finally {
    disposeModel(reid);
  }
}

/** The keys and torch shapes `pytorchStateDict` writes for this document, without any values. */
export function pytorchStateShapes(doc: GraphDoc, layout: PytorchLayout): Map<string, number[]> {
  const layers = compileToKeras(analyze(doc.graph)).layers;
  const rsb = new Map(layers.flatMap((l) => weightSpecs(l).map((s) => [s.torchKey, [...s.torchShape]] as [string, number[]])));
  return inLayout(doc, rsb, layout, (shape) => shape);
}

/**
 * Exports the document's model with the given weights (slots without a value keep the app's fresh
 * initialisation, reported in `warnings`). Throws ExportError with a user message for a graph the
 * format cannot express, bad weights, or an unwritable target.
 */
export async function exportModel(doc: GraphDoc, format: string, outPath: string, opts: ExportOptions = {}): Promise<ExportResult> {
  if (!(MODEL_EXPORT_FORMATS as readonly string[]).includes(format)) throw new ExportError(`unknown model export format "${format}" (choose one of ${MODEL_EXPORT_FORMATS.join(', ')})`);
  const fmt = format as ModelExportFormat;
  if (!doc?.graph || !Array.isArray(doc.graph.nodes) || !Array.isArray(doc.graph.edges)) throw new ExportError('not a graph document');
  const analysis = analyze(doc.graph);
  let compiled;
  try {
    compiled = compileToKeras(analysis);
  } catch (e) {
    if (e instanceof CompileError) throw new ExportError(`the graph cannot be exported: ${e.message}`);
    throw e;
  }
  const layout = opts.layout ?? 'rsb';
  if (!(PYTORCH_LAYOUTS as readonly string[]).includes(layout)) throw new ExportError(`unknown layout "${layout}" (choose one of ${PYTORCH_LAYOUTS.join(', ')})`);
  if (fmt !== 'pytorch' && opts.layout !== undefined) throw new ExportError('a key layout applies to the pytorch export only');
  if (fmt === 'pytorch') {
    const problems = torchNameProblems(compiled.layers);
    if (problems.length) throw new ExportError(`the graph cannot be exported to PyTorch: ${problems.join('; ')}`);
    if (layout === 'fastreid') checkFastreidModel(doc);
  }
  const inputShape = compiled.layers.find((l) => getKind(l.kind)?.imageInput)?.shape ?? [];
  const preprocessing = exportPreprocessing(doc, inputShape);

  const warnings: string[] = [];
  const rsbNote = fmt === 'pytorch' && layout === 'rsb' ? rsbLayoutNote(doc) : null;
  if (rsbNote) warnings.push(rsbNote);
  const specs = new Map<string, ReturnType<typeof weightSpecs>[number]>(compiled.layers.flatMap((l) => weightSpecs(l).map((s) => [`${l.name}/${s.slot}`, s] as const)));
  const slots = [...specs.keys()];
  const torchGiven = opts.torchWeights !== undefined;
  let given = opts.torchWeights ?? opts.weights ?? new Map<string, Float32Array>();
  // ONNX holds the eval path only (the feature output): the identity classifier is not in the file, so its
  // weights are neither needed nor checked.
  if (fmt === 'onnx') given = withoutClassifier(given, compiled.layers, classifierIds(doc.graph));
  const unknown = [...given.keys()].filter((k) => !specs.has(k));
  if (unknown.length) warnings.push(`${unknown.length} weight(s) belong to no layer of the exported model and were ignored (e.g. ${unknown.slice(0, 3).join(', ')})`);
  const wrong = [...given].flatMap(([k, v]) => {
    const s = specs.get(k);
    return s && v.length !== s.shape.reduce((a, b) => a * b, 1) ? [`${s.torchKey}: ${v.length} values for shape [${s.torchShape.join(', ')}]`] : [];
  });
  if (wrong.length) throw new ExportError(`bad weights: ${wrong.length} tensor(s) do not fit the graph (${wrong.slice(0, 3).join('; ')}${wrong.length > 3 ? '; …' : ''})`);

  const store = freshWeightStore(compiled);
  let set: string[];
  try {
    set = torchGiven ? store.setTorchValues(given) : store.setTfjsValues(given);
  } catch (e) {
    if (e instanceof WeightStoreError) throw new ExportError(`bad weights: ${e.message}`);
    throw e;
  }
  if (!opts.weights && !torchGiven) warnings.push('no weights given: the export holds the freshly initialised model');
  else if (fmt === 'onnx') {
    const used = slots.filter((k) => !isClassifierSlot(k, compiled.layers, classifierIds(doc.graph)));
    const unset = used.filter((k) => !given.has(k)).length;
    if (unset) warnings.push(`${unset} of ${used.length} weight slots had no value and keep their fresh initialisation`);
  } else if (set.length < slots.length) warnings.push(`${slots.length - set.length} of ${slots.length} weight slots had no value and keep their fresh initialisation`);

  let files: string[];
  if (fmt === 'pytorch') {
    const fr = layout === 'fastreid';
    const unused = fr ? [] : rsbUnusedModules(doc);
    const text = generateModelPy(compiled, { title: opts.title, weightsFile: 'model.pth', layout: fr ? 'fastreid' : 'rsb', preprocessing, unused });
    const state = storeStateDict(doc, store.stateDict(), fr ? 'fastreid' : 'rsb');
    files = await writeFolderAtomic(outPath, fmt, async (dir) => {
      await writeFileSynced(join(dir, 'model.py'), text);
      await writeCheckpoint(join(dir, 'model.pth'), state, { format: 'pth', wrap: fr ? FR_WRAP_KEY : undefined });
      return ['model.py', 'model.pth'];
    });
  } else if (fmt === 'onnx') {
    const onnxPre = { inputSize: preprocessing.size, mean: preprocessing.mean, std: preprocessing.std, interpolation: preprocessing.interpolation };
    files = [await writeOnnxExport(outPath, compiled, store.tfjsLookup(), { title: opts.title, preprocessing: onnxPre })];
  } else {
    files = await writeFolderAtomic(outPath, fmt, (dir) => writeTfjsFromStore(dir, compiled, store, preprocessing));
  }
  return { format: fmt, out: outPath, files, weights: { set: set.length, slots: slots.length }, warnings };
}
