/**
 * One evaluation of a graph with weights on a dataset, shared by the CLI's `eval` and the service's
 * `eval.run` (which runs it in the training process, main/runs/worker.ts): fill a weight store
 * (main/weights/store.ts) through the one resolver (a run folder's checkpoint or a .pth / .safetensors file), embed query
 * and gallery, rank (CMC, mAP, mINP; optional k-reciprocal re-ranking) and, for a run, keep the result in
 * the run folder as a new evaluation record (main/runs/store/eval-records.ts: the record + the features its
 * rank lists are drawn from), never over the training-time evaluation (eval.json).
 */
import { resolve } from 'node:path';
import { imagePreprocessOf } from '../../image/decode.js';
import { analyze, compileToKeras, preprocessOf, type GraphDoc, type TrainingSettings } from '../../../core/index.js';
import { describeEngine, featureEngineOf, tfjsChoiceOf, tfjsFeatureEngine, type EngineChoice, type FeatureEngine } from '../../onnx/engine.js';
import { buildFromCompiled, disposeModel, initBackend, setWeightsFromValues, type ReidModel } from '../../tfjs/index.js';
import { CheckpointError, freshWeightStore, sourceRefusal } from '../../weights/index.js';
import type { LoadedDataset } from '../data/datasets.js';
import { DataLoaderPool } from '../data/pipeline.js';
import type { EvalAnalysis, EvalResult } from '../eval/evaluate.js';
import { writeEvalFeatures } from './eval-features.js';
import { evaluateModel, type EvalModelProgress } from './evaluate-model.js';
import { resolveWeights, WeightsSourceError } from '../../runs/store/run-weights.js';
import { RunDir } from '../../runs/store/run-dir.js';
import { appendEvalRecord } from '../../runs/store/eval-records.js';
import { FileError, type FileErrorCode } from '../../io/files.js';

/** Weights that cannot be loaded for the evaluation: the message is for the user. */
/** The weights could not be used; `code` is the checkpoint reader's API error code when it has one. */
export class EvalWeightsError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface EvalRunOptions {
  doc: GraphDoc;
  /** Evaluation settings (metric, feature normalisation, re-ranking) come from `settings.test`. */
  settings: TrainingSettings;
  dataset: LoadedDataset;
  /** A .pth / .safetensors file or a run folder; without it, `runDir`'s checkpoint, else fresh weights. */
  weights?: string;
  runDir?: string;
  /** Append an evaluation record (with its features) to `runDir`; eval.json, the training-time evaluation, is never written here. */
  saveToRun?: boolean;
  /** webgpu, onnxruntime (all cores) or a tfjs backend; `auto` follows main/onnx/policy.ts. */
  backend?: EngineChoice;
  onProgress?: EvalModelProgress;
  /** Told which engine computes the features, in words (once, before embedding). */
  onEngine?: (description: string) => void;
}

/**
 * `backend`: the engine that computed the features (onnxruntime or the tfjs backend); `engine` says why.
 * `epoch` / `iteration`: with a run checkpoint's weights, the epochs they completed and iterations into the next.
 */
export type EvalRunResult = EvalResult & Partial<EvalAnalysis> & { /** The evaluation's record in the run folder (main/runs/store/eval-records.ts), when saved to a run. */ evalId?: string; /** The record could not be written (a read-only run folder, a full disk): the result is complete, only not kept. */ saveError?: EvalSaveError; epoch?: number; iteration?: number; queryFiles: string[]; galleryFiles: string[]; backend: string; adapter?: string; engine: { name: string; threads?: number; adapter?: string; reason: string }; weights: Record<string, unknown>; dataset: string };

/** Why an evaluation's record was not kept: the file error's errno-like code and its one-line message (path and reason). */
export interface EvalSaveError {
  code: FileErrorCode;
  message: string;
}

/**
 * Evaluates `o.doc` with its weights on `o.dataset`. Everything is computed in memory first; with
 * `saveToRun`, the record is then written to the run folder. A run folder that cannot be written (read-only,
 * full disk: a FileError) does not lose the numbers: the result comes back complete with `saveError` set
 * (issue #25); the caller reports it. Throws EvalWeightsError for weights that cannot be used.
 */
export async function evaluateRun(o: EvalRunOptions): Promise<EvalRunResult> {
  const choice = o.backend ?? 'auto';
  const analysis = analyze(o.doc.graph);
  const compiled = compileToKeras(analysis);
  const store = freshWeightStore(compiled);
  let reid: ReidModel | undefined;
  const pool = new DataLoaderPool({ height: analysis.inputShape![0]!, width: analysis.inputShape![1]!, preprocess: imagePreprocessOf(o.doc), workers: 1 });
  let engine: FeatureEngine | undefined;
  try {
    let weightsInfo: Record<string, unknown> = { source: 'initialised (untrained)' };
    try {
      if (o.weights) {
        const w = await resolveWeights(o.weights, analysis.layers);
        // A torchreid / ft_net checkpoint into a graph that is not its model: no silent wrong mAP (#22).
        const refused = sourceRefusal(o.weights, w.report);
        if (refused) throw new EvalWeightsError(refused);
        if (w.torch) store.setTorchValues(w.torch);
        else store.setTfjsValues(w.values);
        weightsInfo = w.kind === 'run' ? { source: o.weights, step: w.step, epoch: w.epoch, iteration: w.iteration } : { source: o.weights, load: w.report };
      } else if (o.runDir) {
        const w = await resolveWeights(o.runDir, analysis.layers).catch((e: Error) => {
          throw e instanceof WeightsSourceError && /without a run checkpoint/.test(e.message) ? new WeightsSourceError(`${o.runDir} has no checkpoint yet`) : e;
        });
        // A run checkpoint decodes to PyTorch layout: the store takes its arrays as stored.
        if (w.torch) store.setTorchValues(w.torch);
        else store.setTfjsValues(w.values);
        weightsInfo = { source: 'checkpoint', step: w.step ?? 0, ...(w.epoch !== undefined ? { epoch: w.epoch, iteration: w.iteration ?? 0 } : {}) };
      }
    } catch (e) {
      if (e instanceof CheckpointError) throw new EvalWeightsError(e.message, e.code);
      if (e instanceof WeightsSourceError) throw new EvalWeightsError(e.message);
      throw new EvalWeightsError((e as Error).message);
    }
    // TensorFlow.js is initialised and the model built only when tfjs computes the features.
    const tfjs = async (reason: string) => {
      const backend = await initBackend(tfjsChoiceOf(choice));
      reid = await buildFromCompiled(compiled);
      setWeightsFromValues(reid, compiled.layers, store.tfjsValues());
      return tfjsFeatureEngine(reid, compiled, backend.backend, reason);
    };
    const s = o.settings;
    engine = await featureEngineOf(compiled, choice, { weights: () => store.tfjsLookup(), tfjs });
    o.onEngine?.(describeEngine(engine));
    const { features, ...r } = await evaluateModel(reid, o.dataset, s, pool, o.onProgress, engine.extract);
    // A run checkpoint's weights: the epoch they come from, as the trainer's own evaluations record it.
    const epoch = typeof weightsInfo.epoch === 'number' ? { epoch: weightsInfo.epoch, ...(weightsInfo.iteration ? { iteration: weightsInfo.iteration as number } : {}) } : {};
    const result = { ...r, ...epoch, backend: engine.name, ...(engine.adapter ? { adapter: engine.adapter } : {}), engine: { name: engine.name, ...(engine.threads !== undefined ? { threads: engine.threads } : {}), ...(engine.adapter ? { adapter: engine.adapter } : {}), reason: engine.reason }, weights: weightsInfo, dataset: o.dataset.root };
    if (o.runDir && o.saveToRun) {
      // Its own record, beside the training-time evaluation (eval.json), which it never replaces (#22).
      const trained = (await new RunDir(o.runDir).readJson<{ dataset?: { kind?: string; root?: string } }>('run.json'))?.dataset;
      const { mAP, rank1, rank5, rank10, mINP, cmc, numQuery, numGallery, numValidQuery, numSkippedQuery, seconds } = r;
      const record = await appendEvalRecord(
        o.runDir,
        {
          dataset: { root: o.dataset.root, kind: o.dataset.kind, numQuery, numGallery },
          split: 'query/gallery',
          inDomain: !!trained && resolve(trained.root ?? '') === resolve(o.dataset.root) && trained.kind === o.dataset.kind,
          metric: s.test.metric,
          featNorm: s.test.featNorm,
          reRanking: s.test.reRanking,
          ...(typeof weightsInfo.epoch === 'number' ? { epoch: weightsInfo.epoch, iteration: typeof weightsInfo.iteration === 'number' ? weightsInfo.iteration : 0 } : {}),
          ...(typeof weightsInfo.step === 'number' ? { step: weightsInfo.step } : {}),
          weights: weightsInfo,
          backend: result.backend,
          ...(result.adapter ? { adapter: result.adapter } : {}),
          engine: result.engine,
          results: { mAP, rank1, rank5, rank10, mINP, cmc, numQuery, numGallery, numValidQuery, numSkippedQuery, ...(seconds !== undefined ? { seconds } : {}) },
        },
        (dir) => writeEvalFeatures(dir, features, s.test.metric, s.test.featNorm),
      ).catch((e: unknown) => {
        if (e instanceof FileError) return { saveError: { code: e.code, message: e.message } };
        throw e;
      });
      return 'saveError' in record ? { ...result, saveError: record.saveError } : { ...result, evalId: record.id };
    }
    return result;
  } finally {
    await pool.close();
    await engine?.dispose();
    if (reid) disposeModel(reid);
  }
}
