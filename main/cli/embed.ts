import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyze, compileToKeras, preprocessOf } from '../../core/index.js';
import { describeEngine, featureEngine, parseEngineChoice, tfjsChoiceOf, type FeatureEngine } from '../onnx/engine.js';
import { BackendError, buildFromCompiled, describeBackend, disposeModel, initBackend, setWeightsFromValues } from '../tfjs/index.js';
import { ImageError, listImages, loadImages } from '../tfjs/preprocess.js';
import { assertFiniteWeights, CheckpointError, NonFiniteWeightsError, planLoad, readCheckpoint } from '../weights/index.js';
import { CliError } from './errors.js';
import { featureFormat, writeFeatures } from './features-out.js';
import { GRAPH_OPTIONS, resolveGraph } from './graph-args.js';
import { parseProgressMode, progressReporter, PROGRESS_OPTION } from './progress.js';
import { assertFiniteFeatures, NonFiniteFeaturesError } from '../training/eval/finite.js';

/**
 * `embed [GRAPH.json | --preset NAME …] --weights FILE --images DIR --out FEATS.npy|.safetensors|.json
 * [--backend NAME] [--progress MODE]`: eval-mode features of every image in DIR (sorted by file name),
 * pre-processed as the frameworks do at test time with the document's pre-processing (resize filter,
 * pixel mean / std; RSB's without a block). The format follows --out's extension
 * (main/cli/features-out.ts); JSON (a script contract: add fields, never rename) is
 * { files, features, backend, load: <weights load report>, backendReport, dim, engine }. `backend` is the engine
 * that computed the features: `onnxruntime` (when onnxruntime-node is installed, or forced with
 * --backend onnxruntime) or the tfjs backend; `engine` says why ({ name, threads?, reason }).
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
      ...PROGRESS_OPTION,
    },
  });
  if (!values.weights) throw new CliError('--weights FILE is required (a PyTorch .pth or .safetensors state dict)');
  if (!values.images) throw new CliError('--images DIR is required');
  if (!values.out) throw new CliError('--out FEATS.npy|FEATS.safetensors|FEATS.json is required');
  featureFormat(values.out); // refuse an unknown extension before any work
  const progress = progressReporter(parseProgressMode(values.progress));
  const batchSize = values['batch-size'] === undefined ? 16 : Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1024) throw new CliError(`--batch-size must be a whole number between 1 and 1024 (got "${values['batch-size']}")`);
  let choice;
  try {
    choice = parseEngineChoice(values.backend);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const doc = resolveGraph(positionals[0], values, { requireValid: true });
  const analysis = analyze(doc.graph);
  const compiled = compileToKeras(analysis);
  const [h, w] = compiled.metadata.inputShape as [number, number, number];
  const pre = preprocessOf(doc);

  let files: string[];
  try {
    files = await listImages(values.images);
  } catch (e) {
    if (e instanceof ImageError) throw new CliError(e.message);
    throw e;
  }
  if (!files.length) throw new CliError(`no image files in ${values.images} (looked for .jpg, .jpeg, .png, .webp, .tif, .gif, .avif)`);

  let ckpt;
  try {
    ckpt = await readCheckpoint(values.weights);
  } catch (e) {
    if (e instanceof CheckpointError || (e as NodeJS.ErrnoException).code) throw new CliError(`${values.weights}: ${(e as Error).message}`);
    throw e;
  }
  const plan = planLoad(analysis.layers, ckpt);
  try {
    assertFiniteWeights(plan.report, values.weights);
  } catch (e) {
    if (e instanceof NonFiniteWeightsError) throw new CliError(`${e.message} (${e.code})`);
    throw e;
  }
  if (plan.report.counts.loaded === 0) throw new CliError(`${values.weights}: no tensor of this checkpoint fits the graph (${plan.report.counts.tensors} tensors, ${plan.report.counts.mismatched} shape mismatches); check the preset and options`);

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
    setWeightsFromValues(reid, analysis.layers, plan.values);
    try {
      engine = await featureEngine(reid, compiled, choice, report.backend);
    } catch (e) {
      if (e instanceof BackendError) throw new CliError(e.message);
      throw e;
    }
    process.stderr.write(`reid-studio: ${describeEngine(engine)}\n`);
    // Slots of the eval path that the file did not provide keep a random initialisation: say so.
    const evalLayers = new Set(reid.evalModel.layers.map((l) => l.name));
    const gaps = [...plan.report.missing, ...plan.report.mismatched].filter((m) => evalLayers.has(m.layer));
    if (gaps.length) process.stderr.write(`reid-studio: warning: ${gaps.length} weight(s) of the feature path are not in ${basename(values.weights)} and stay randomly initialised (first: ${gaps[0]!.key})\n`);
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
    const extra = { backend: engine.name, load: plan.report, backendReport: report, engine: { name: engine.name, threads: engine.threads, reason: engine.reason } };
    const written = await writeFeatures(values.out, { files, data: rows, dim, extra });
    process.stderr.write(`reid-studio: wrote ${files.length} features of dimension ${dim} to ${written.join(' + ')}\n`);
  } finally {
    await engine?.dispose();
    disposeModel(reid);
  }
}
