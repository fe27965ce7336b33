import { imagePreprocessOf } from '../image/decode.js';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyze, compileToKeras, preprocessOf, weightSpecs } from '../../core/index.js';
import { describeEngine, featureEngine, parseEngineChoice, tfjsChoiceOf, type FeatureEngine } from '../onnx/engine.js';
import { BackendError, buildFromCompiled, describeBackend, disposeModel, initBackend, setWeightsFromValues } from '../tfjs/index.js';
import { ImageError, listImages, loadImages } from '../tfjs/preprocess.js';
import { forRunWeights } from '../export/weights-source.js';
import { resolveWeights, WeightsSourceError, type ResolvedWeights } from '../runs/store/run-weights.js';
import { CheckpointError, NonFiniteWeightsError, sourceRefusal } from '../weights/index.js';
import { sourceModelDoc } from './source-model.js';
import { CliError } from './errors.js';
import { featureFormat, writeFeatures } from './features-out.js';
import { GRAPH_OPTIONS, resolveGraph } from './graph-args.js';
import { parseProgressMode, progressReporter, PROGRESS_OPTION } from './progress.js';
import { assertFiniteFeatures, NonFiniteFeaturesError } from '../training/eval/finite.js';
import { parseWholeNumber } from './numbers.js';

/**
 * `embed [GRAPH.json | --preset NAME …] --weights FILE|RUN_DIR --images DIR --out FEATS.npy|.safetensors|.json
 * [--backend NAME] [--progress MODE] [--allow-partial] [--source-model]`: eval-mode features of every image in DIR (sorted by file name),
 * pre-processed as the frameworks do at test time with the document's pre-processing (resize filter,
 * pixel mean / std; RSB's without a block). The format follows --out's extension
 * (main/cli/features-out.ts); JSON (a script contract: add fields, never rename) is
 * { files, features, backend, load: <weights load report>, backendReport, dim, engine }. `backend` is the engine
 * that computed the features: `onnxruntime` (when onnxruntime-node is installed, or forced with
 * --backend onnxruntime) or the tfjs backend; `engine` says why ({ name, threads?, reason }); `weights` says
 * where they came from ({ source: 'file' | 'checkpoint', step? }; `load` is given for files only).
 * --weights takes a run folder as `eval` and `export` do (its last checkpoint, the classifier sized from the
 * run). Weights that leave any tensor of the feature path (the eval model) missing or of another shape are
 * refused (exit 2, the counts and the first keys): features of a partly random network are no answer. With
 * --allow-partial they are computed anyway, with a warning, as Train goes on once the user confirms.
 * A re-ID checkpoint built on torchvision's ResNet (torchreid, Person_reID_baseline_pytorch ft_net;
 * main/weights/source-model.ts) into a graph whose stem or head is not its model's is refused with the reason
 * (exit 2); --source-model embeds with the checkpoint's own model instead (core/presets/torchvision.ts: the
 * input size from the graph options, the last stride from --last-stride or the code base's default).
 */
export async function embedCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...GRAPH_OPTIONS,
      weights: { type: 'string' },
      images: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
      'batch-size': { type: 'string' },
      'allow-partial': { type: 'boolean' },
      'source-model': { type: 'boolean' },
      ...PROGRESS_OPTION,
    },
  });
  if (!values.weights) throw new CliError('--weights FILE|RUN_DIR is required (a PyTorch .pth or .safetensors state dict, or a training run folder)');
  if (!values.images) throw new CliError('--images DIR is required');
  if (!values.out) throw new CliError('--out FEATS.npy|FEATS.safetensors|FEATS.json is required');
  featureFormat(values.out); // refuse an unknown extension before any work
  const progress = progressReporter(parseProgressMode(values.progress));
  const batchSize = values['batch-size'] === undefined ? 16 : parseWholeNumber('batch-size', values['batch-size'], 1, 1024);
  let choice;
  try {
    choice = parseEngineChoice(values.backend);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const given = resolveGraph(positionals[0], values, { requireValid: true });
  // A run folder's classifier has the run's training identities (export does the same); --source-model: the
  // checkpoint's own model (a torchreid / ft_net file: torchvision's stem and its head).
  const doc = values['source-model'] ? await sourceModelDoc(given, values.weights, values['last-stride']) : (await forRunWeights(given, values.weights)).doc;
  const analysis = analyze(doc.graph);
  const compiled = compileToKeras(analysis);
  const [h, w] = compiled.metadata.inputShape as [number, number, number];
  const pre = imagePreprocessOf(doc);

  let files: string[];
  try {
    files = await listImages(values.images);
  } catch (e) {
    if (e instanceof ImageError) throw new CliError(e.message);
    throw e;
  }
  if (!files.length) throw new CliError(`no image files in ${values.images} (looked for .jpg, .jpeg, .png, .webp, .tif, .gif, .avif)`);

  let weights: ResolvedWeights;
  try {
    weights = await resolveWeights(values.weights, analysis.layers);
  } catch (e) {
    if (e instanceof NonFiniteWeightsError) throw new CliError(`${e.message} (${e.code})`);
    if (e instanceof WeightsSourceError) throw new CliError(e.message);
    if (e instanceof CheckpointError || (e as NodeJS.ErrnoException).code) throw new CliError(`${values.weights}: ${(e as Error).message}`);
    throw e;
  }
  const load = weights.report;
  const refused = sourceRefusal(basename(values.weights), load);
  if (refused) throw new CliError(refused);
  const specById = new Map(compiled.layers.flatMap((l) => weightSpecs(l).map((s) => [`${l.name}/${s.slot}`, s] as [string, ReturnType<typeof weightSpecs>[number]])));
  if (load && load.counts.loaded === 0) throw new CliError(`${values.weights}: no tensor of this checkpoint fits the graph (${load.counts.tensors} tensors, ${load.counts.mismatched} shape mismatches); check the preset and options`);

  let report;
  try {
    report = await initBackend(tfjsChoiceOf(choice));
  } catch (e) {
    if (e instanceof BackendError) throw new CliError(e.message);
    throw e;
  }
  process.stderr.write(`reid-studio: ${describeBackend(report)}\n`);
  const reid = await buildFromCompiled(compiled);
  let engine: FeatureEngine | undefined;
  try {
    // Slots of the eval path that the weights do not provide (or give in another shape) would keep a random
    // initialisation: refused unless --allow-partial. Named by their PyTorch keys.
    const evalLayers = new Set(reid.evalModel.layers.map((l) => l.name));
    const evalSpecs = compiled.layers.filter((l) => evalLayers.has(l.name)).flatMap((l) => weightSpecs(l).map((s) => ({ id: `${l.name}/${s.slot}`, s })));
    const gaps = evalSpecs.filter(({ id, s }) => weights.values.get(id)?.length !== s.shape.reduce((a, b) => a * b, 1));
    if (gaps.length) {
      const otherShape = new Set((load?.mismatched ?? []).map((m) => `${m.layer}/${m.slot}`));
      const missing = gaps.filter(({ id }) => !weights.values.has(id) && !otherShape.has(id)).length;
      const line = `${gaps.length} of ${evalSpecs.length} weight(s) of the feature path are not in ${basename(values.weights)} (${missing} missing, ${gaps.length - missing} of another shape) and would stay randomly initialised (first: ${gaps.slice(0, 3).map((g) => g.s.torchKey).join(', ')})`;
      if (!values['allow-partial']) throw new CliError(`${line}; check the preset and options, or pass --allow-partial to embed anyway`);
      process.stderr.write(`reid-studio: warning: ${line}\n`);
    }
    const usable = new Map([...weights.values].filter(([id, v]) => {
      const s = specById.get(id);
      return s !== undefined && v.length === s.shape.reduce((a, b) => a * b, 1);
    }));
    setWeightsFromValues(reid, analysis.layers, usable);
    try {
      engine = await featureEngine(reid, compiled, choice, report.backend);
    } catch (e) {
      if (e instanceof BackendError) throw new CliError(e.message);
      throw e;
    }
    process.stderr.write(`reid-studio: ${describeEngine(engine)}\n`);
    // Batch by batch, so a large query/gallery folder never sits in memory as one float array.
    let rows = new Float32Array(0);
    let dim = 0;
    let resized = 0;
    for (let i = 0; i < files.length; i += batchSize) {
      const chunk = files.slice(i, i + batchSize);
      let data: Float32Array;
      try {
        const loaded = await loadImages(values.images, chunk, [h, w], pre);
        data = loaded.data;
        resized += loaded.resized;
      } catch (e) {
        if (e instanceof ImageError) throw new CliError(e.message);
        throw e;
      }
      const f = await engine.extract(data, chunk.length, batchSize);
      try {
        assertFiniteFeatures(f.features, f.dim, chunk.length, (j) => join(values.images ?? '', chunk[j]!));
      } catch (e) {
        if (e instanceof NonFiniteFeaturesError) throw new CliError(`${e.message} (${e.code})`);
        throw e;
      }
      if (!dim) {
        dim = f.dim;
        rows = new Float32Array(files.length * dim);
      }
      rows.set(f.features.subarray(0, chunk.length * dim), i * dim);
      progress.update('embed', Math.min(files.length, i + chunk.length), files.length);
    }
    progress.end();
    if (resized) process.stderr.write(`reid-studio: resized ${resized} image(s) to ${h}×${w} (${pre.interpolation}, as PIL)\n`);
    const source = weights.kind === 'run' ? { source: 'checkpoint', ...(weights.step !== undefined ? { step: weights.step } : {}) } : { source: 'file' };
    const extra = { backend: engine.name, ...(load ? { load } : {}), weights: source, backendReport: report, engine: { name: engine.name, threads: engine.threads, reason: engine.reason } };
    const written = await writeFeatures(values.out, { files, data: rows, dim, extra });
    process.stderr.write(`reid-studio: wrote ${files.length} features of dimension ${dim} to ${written.join(' + ')}\n`);
  } finally {
    await engine?.dispose();
    disposeModel(reid);
  }
}
