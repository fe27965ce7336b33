/**
 * What `embed` and `actmap` share: the graph (a run folder's own, classifier sized from the run), the image
 * folder's files, the weights (a file or a run folder, refused when they leave tensors of the feature path
 * randomly initialised unless --allow-partial) in a weight store (main/weights/store.ts), and the feature
 * engine chosen by the one policy (main/onnx/engine.ts). TensorFlow.js is loaded only where it runs or
 * reports: a tfjs backend, or `auto` (whose JSON carries the tfjs backendReport); with --backend onnxruntime /
 * webgpu the ONNX session reads the store and tfjs is never loaded. Every user error is a CliError (one line, exit 2).
 */
import { basename } from 'node:path';
import { analyze, compileToKeras, featurePath, weightSpecs, type CompiledModel } from '../../core/index.js';
import { imagePreprocessOf } from '../image/decode.js';
import { describeEngine, featureEngineOf, ONNXRUNTIME_ENGINE, tfjsChoiceOf, tfjsFeatureEngine, type EngineChoice, type FeatureEngine } from '../onnx/engine.js';
import { WEBGPU_ENGINE } from '../onnx/webgpu.js';
import { BackendError } from '../tfjs/choice.js';
import type { BackendReport, ReidModel } from '../tfjs/index.js';
import { ImageError, listImages } from '../tfjs/preprocess.js';
import { forRunWeights } from '../export/weights-source.js';
import { resolveWeights, WeightsSourceError, type ResolvedWeights } from '../runs/store/run-weights.js';
import { CheckpointError, freshWeightStore, NonFiniteWeightsError, sourceRefusal, type LoadReport } from '../weights/index.js';
import { sourceModelDoc } from './source-model.js';
import { CHECKPOINT_OPTION, runCheckpointPath, runGraphOf } from './checkpoint-arg.js';
import { BEST_DIR } from '../runs/store/best-checkpoint.js';
import { CliError } from './errors.js';
import { GRAPH_OPTIONS, resolveGraph, type GraphArgs } from './graph-args.js';
import { parseWholeNumber } from './numbers.js';
import { parseProgressMode, progressReporter, PROGRESS_OPTION } from './progress.js';
import { parseEngineChoice } from '../onnx/engine.js';

/** The flags `embed` and `actmap` share (parseArgs options). */
export const IMAGE_MODEL_OPTIONS = {
  ...GRAPH_OPTIONS,
  weights: { type: 'string' },
  images: { type: 'string' },
  out: { type: 'string' },
  backend: { type: 'string' },
  'batch-size': { type: 'string' },
  'allow-partial': { type: 'boolean' },
  'source-model': { type: 'boolean' },
  ...CHECKPOINT_OPTION,
  ...PROGRESS_OPTION,
} as const;

/**
 * The shared flags checked in order (--weights, --images, --out with `outHint`, `checkOut`, --progress,
 * --batch-size, --backend): one-line CliErrors.
 */
export function imageModelArgs(values: { weights?: string; images?: string; out?: string; progress?: string; backend?: string; 'batch-size'?: string; checkpoint?: string }, outHint: string, checkOut: (out: string) => void = () => {}) {
  if (!values.weights) throw new CliError('--weights FILE|RUN_DIR is required (a PyTorch .pth or .safetensors state dict, or a training run folder)');
  if (!values.images) throw new CliError('--images DIR is required');
  if (!values.out) throw new CliError(`--out ${outHint} is required`);
  checkOut(values.out);
  const progress = progressReporter(parseProgressMode(values.progress));
  const batchSize = values['batch-size'] === undefined ? 16 : parseWholeNumber('batch-size', values['batch-size'], 1, 1024);
  let choice;
  try {
    choice = parseEngineChoice(values.backend);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  return { weights: runCheckpointPath(values.weights, values.checkpoint), images: values.images, out: values.out, progress, batchSize, choice };
}

export interface ImageModel {
  compiled: CompiledModel;
  /** The document's test-time pre-processing (resize filter, pixel mean / std). */
  pre: ReturnType<typeof imagePreprocessOf>;
  /** [height, width] of the model input. */
  size: [number, number];
  files: string[];
  weights: ResolvedWeights;
  /** Where the weights came from, as the JSON outputs say it: { source: 'file' } or { source: 'checkpoint', step? }. */
  weightsSource: { source: string; step?: number; checkpoint?: string };
  load: LoadReport | undefined;
  /** The TensorFlow.js backend, when tfjs was loaded (not with --backend onnxruntime / webgpu). */
  report: BackendReport | undefined;
  /** The tfjs model, built only when tfjs computes the features. */
  reid: ReidModel | undefined;
  engine: FeatureEngine;
  /** Frees the engine and the model. */
  dispose(): Promise<void>;
}

/**
 * Loads the model for `command` (`embed`, `actmap`) from the CLI's graph arguments, `--weights`, `--images`,
 * `--allow-partial`, with the engine for `choice` (`actmap`: the lowered graph's activation-map output too).
 */
export async function loadImageModel(
  command: string,
  positional: string | undefined,
  values: GraphArgs & { weights: string; images: string; 'allow-partial'?: boolean; 'source-model'?: boolean },
  choice: EngineChoice,
  opts: { actmap?: boolean } = {},
): Promise<ImageModel> {
  const given = resolveGraph(positional ?? (values.preset || values['source-model'] ? undefined : runGraphOf(values.weights)), values, { requireValid: true });
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

  let report: BackendReport | undefined;
  let announced = false;
  /** The tfjs backend, initialised once; `announce`: it computes the features, so stderr names it (once). */
  const loadTfjs = async (announce: boolean) => {
    const t = await import('../tfjs/index.js');
    if (!report) {
      try {
        report = await t.initBackend(tfjsChoiceOf(choice));
      } catch (e) {
        if (e instanceof BackendError) throw new CliError(e.message);
        throw e;
      }
    }
    // Only the engine that computes the features is named: a tfjs backend initialised for `auto` and then not
    // used printed "backend wasm" above "features on onnxruntime".
    if (announce && !announced) {
      announced = true;
      process.stderr.write(`reid-studio: ${t.describeBackend(report)}\n`);
    }
    return t;
  };
  if (choice !== ONNXRUNTIME_ENGINE && choice !== WEBGPU_ENGINE) await loadTfjs(false);
  let reid: ReidModel | undefined;
  const disposeReid = async () => {
    if (reid) (await import('../tfjs/index.js')).disposeModel(reid);
  };
  try {
    // Slots of the eval path that the weights do not provide (or give in another shape) would keep a random
    // initialisation: refused unless --allow-partial. Named by their PyTorch keys.
    const evalLayers = new Set(featurePath(compiled.layers, compiled.metadata.roles.evalFeature).map((l) => l.name));
    const evalSpecs = compiled.layers.filter((l) => evalLayers.has(l.name)).flatMap((l) => weightSpecs(l).map((s) => ({ id: `${l.name}/${s.slot}`, s })));
    // A file's tensors as read (PyTorch layout: the same sizes), so the store takes them without a relayout.
    const given = weights.torch ?? weights.values;
    const gaps = evalSpecs.filter(({ id, s }) => given.get(id)?.length !== s.shape.reduce((a, b) => a * b, 1));
    if (gaps.length) {
      const otherShape = new Set((load?.mismatched ?? []).map((m) => `${m.layer}/${m.slot}`));
      const missing = gaps.filter(({ id }) => !given.has(id) && !otherShape.has(id)).length;
      const line = `${gaps.length} of ${evalSpecs.length} weight(s) of the feature path are not in ${basename(values.weights)} (${missing} missing, ${gaps.length - missing} of another shape) and would stay randomly initialised (first: ${gaps.slice(0, 3).map((g) => g.s.torchKey).join(', ')})`;
      if (!values['allow-partial']) throw new CliError(`${line}; check the preset and options, or pass --allow-partial to ${command} anyway`);
      process.stderr.write(`reid-studio: warning: ${line}\n`);
    }
    const usable = new Map([...given].filter(([id, v]) => {
      const s = specById.get(id);
      return s !== undefined && v.length === s.shape.reduce((a, b) => a * b, 1);
    }));
    const store = freshWeightStore(compiled);
    if (weights.torch) store.setTorchValues(usable);
    else store.setTfjsValues(usable);
    usable.clear();
    const tfjs = async (reason: string) => {
      const t = await loadTfjs(true);
      reid = await t.buildFromCompiled(compiled);
      t.setWeightsFromValues(reid, compiled.layers, store.tfjsValues());
      return tfjsFeatureEngine(reid, compiled, report!.backend, reason, opts);
    };
    let engine: FeatureEngine;
    try {
      engine = await featureEngineOf(compiled, choice, { weights: () => store.tfjsLookup(), tfjs }, 'eval', opts);
    } catch (e) {
      if (e instanceof BackendError) throw new CliError(e.message);
      throw e;
    }
    process.stderr.write(`reid-studio: ${describeEngine(engine)}\n`);
    return {
      compiled,
      pre,
      size: [h, w],
      files,
      weights,
      weightsSource: weights.kind === 'run' ? { source: 'checkpoint', ...(weights.step !== undefined ? { step: weights.step } : {}), ...(basename(values.weights) === BEST_DIR ? { checkpoint: 'best' } : {}) } : { source: 'file' },
      load,
      report,
      reid,
      engine,
      async dispose() {
        await engine.dispose();
        await disposeReid();
      },
    };
  } catch (e) {
    await disposeReid();
    throw e;
  }
}
