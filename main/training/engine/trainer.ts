/**
 * The training engine: one run of the reid-strong-baseline recipe on a compiled graph. Streams progress
 * events, checkpoints atomically, resumes exactly (weights incl. BN statistics, Adam moments, centers,
 * LR-schedule position, sampler RNG and position within the epoch) and evaluates retrieval.
 */
import { imagePreprocessOf } from '../../image/decode.js';
import * as tf from '@tensorflow/tfjs';
import { analyze, compileToKeras, lrAt, preprocessOf, seedInitializers, type GraphDoc, type LossTermValues, type TrainingSettings } from '../../../core/index.js';
import { buildFromCompiled, disposeModel, initBackend, setWeightsFromValues, type ReidModel } from '../../tfjs/index.js';
import { freshWeightStore } from '../../weights/index.js';
import { datasetFingerprint, formatDatasetSummary, type LoadedDataset } from '../data/datasets.js';
import { recordedDataset } from '../sources.js';
import { DataLoaderPool } from '../data/pipeline.js';
import { makeSampler, type SamplerState } from '../data/samplers.js';
import { ReidLoss } from '../losses/index.js';
import { recoverCheckpoint, writeCheckpoint } from '../../runs/store/checkpoint.js';
import { keepBestCheckpoint, readBestInfo } from '../../runs/store/best-checkpoint.js';
import { planFileWeights } from '../../runs/store/run-weights.js';
import { evaluateModel } from './evaluate-model.js';
import { featureEngineOf, tfjsChoiceOf, tfjsFeatureEngine, type EngineChoice } from '../../onnx/engine.js';
import { writeEvalFeatures } from './eval-features.js';
import { trainingEngine, type TrainingEngine } from './engines.js';
import { deviceMemory } from './memory.js';
import { isOutOfMemory, oomDetail, outOfMemoryMessage, OUT_OF_MEMORY_CODE, StepOutOfMemoryError } from './oom.js';
import { RunDir, type RunInfo } from '../../runs/store/run-dir.js';
import { decodeTrainingState, encodeTrainingState, type CheckpointMeta as RunCheckpointMeta } from '../../runs/store/checkpoint-keys.js';
import { NonFiniteLossError } from './step.js';
import { sizeClassifier } from './prepare.js';

export type TrainEvent =
  | { type: 'start'; runDir: string; backend: string; /** 'cpu' also for tfjs-node-gpu without a GPU device (backendWarning says so) */ device?: 'cpu' | 'gpu'; /** the WebGPU adapter the webgpu engine trains on */ adapter?: string; backendWarning?: string; epochs: number; startEpoch: number; itersPerEpoch: number; microBatch: number; microBatchReason: string; loss: string; numClasses: number; resumedFromStep?: number }
  | ({ type: 'step'; epoch: number; iter: number; iters: number; step: number; loss: number; acc: number; lr: number; imgPerSec: number; etaSeconds: number } & LossTermValues)
  | { type: 'epoch'; epoch: number; loss: number; acc: number; seconds: number }
  | { type: 'checkpoint'; epoch: number; step: number; /** iteration within `epoch` to resume at (0: `epoch` starts afresh, i.e. epoch − 1 is complete) */ batch?: number }
  | { type: 'eval'; epoch: number; mAP: number; rank1: number; rank5: number; rank10: number; mINP?: number }
  | { type: 'done'; status: 'completed' | 'stopped' | 'paused'; step: number; epoch: number };

export interface TrainControl {
  /** 'stop' ends the run after the current step (checkpointed); 'pause' the same, marked resumable. */
  request?: 'stop' | 'pause';
}

export interface TrainOptions {
  doc: GraphDoc;
  settings: TrainingSettings;
  dataset: LoadedDataset;
  runDir: string;
  /** A tfjs backend, `onnxruntime` or `auto` (onnxruntime when installed and the graph has a training form there). */
  backend?: EngineChoice;
  /** Pretrained weights (.pth / .safetensors) loaded before training (RSB load_param). */
  weights?: string;
  /** Continue from the run folder's checkpoint. */
  resume?: boolean;
  microBatch?: number;
  /** Checkpoint every N steps within an epoch as well as at epoch ends (default 25). */
  checkpointEverySteps?: number;
  /** Tests: stop after this many steps in total (like a user pressing Stop). */
  maxSteps?: number;
  /** Worker threads of the image pipeline. */
  dataWorkers?: number;
  control?: TrainControl;
  onEvent?: (e: TrainEvent) => void;
}

/**
 * Settings the onnxruntime training engine does not implement yet, or undefined: fast-reid's margin
 * classification layers (their logits need the class weight inside the loss), FREEZE_ITERS, and a micro-batch
 * the user set (onnxruntime always takes the whole batch).
 */
function onnxUnsupported(s: TrainingSettings, microBatch: number | undefined): string | undefined {
  const why = [
    ...(s.classifier.layer !== 'Linear' ? [`the ${s.classifier.layer} classification layer`] : []),
    ...(s.freezeBackboneIters > 0 ? ['freezing the backbone for the first iterations (FREEZE_ITERS)'] : []),
    // onnxruntime takes the whole batch in one pass; a micro-batch the user set is honoured on tfjs.
    ...(microBatch !== undefined ? [`a micro-batch of ${microBatch} (set by the user)`] : []),
  ];
  return why.length ? `${why.join(' and ')} train on tfjs for now` : undefined;
}

/** An engine as the run log names it: `webgpu (GPU: <adapter>)`, `onnxruntime (CPU)`, `wasm (CPU)`. */
const engineText = (e: { backend?: unknown; device?: unknown; adapter?: unknown }) =>
  `${String(e.backend)} (${e.device === 'gpu' ? 'GPU' : 'CPU'}${typeof e.adapter === 'string' && e.adapter ? `: ${e.adapter}` : ''})`;

/**
 * The run-log line of a resume on another engine than the run last trained on (run.json's `backend` /
 * `device` / `adapter`, written when it started), or undefined when the engine is the same or unknown.
 * Checkpoints are engine-neutral (weights, BatchNorm statistics, optimizer moments and centers in one
 * layout), so the run continues exactly; the engines' float32 rounding differs, which the line says.
 */
export function engineChange(before: Pick<RunInfo, 'backend'> & { device?: unknown; adapter?: unknown } | null, now: { backend: string; device: 'cpu' | 'gpu'; adapter?: string }, step: number): string | undefined {
  if (!before?.backend) return undefined;
  const was = engineText(before);
  const is = engineText(now);
  if (was === is) return undefined;
  return `resumed on another engine: the run trained on ${was} up to step ${step} and continues on ${is}; the checkpoint is engine-neutral, only float32 rounding differs between engines`;
}

export class TrainError extends Error {}

/** A training step ran out of its device's memory (TensorFlow RESOURCE_EXHAUSTED / CUDA, wasm heap, V8). */
export class OutOfMemoryError extends TrainError {
  readonly code = OUT_OF_MEMORY_CODE;
}

type CheckpointMeta = RunCheckpointMeta<SamplerState>;

/** A stop request (TrainControl) that arrived during an evaluation: it ends there, unrecorded. */
class EvaluationStopped extends Error {}

export async function train(o: TrainOptions): Promise<{ status: 'completed' | 'stopped' | 'paused'; eval?: unknown }> {
  const s = o.settings;
  const emit = o.onEvent ?? (() => undefined);
  // Pretrained weights are read and checked before anything is written: NaN / Inf in them refuses the run.
  const pretrained = o.weights && !o.resume ? await planFileWeights(analyze(sizeClassifier(o.doc, o.dataset.numClasses).graph).layers, o.weights) : undefined;
  const run = new RunDir(o.runDir);
  await run.init();
  const backend = await initBackend(tfjsChoiceOf(o.backend ?? 'auto'));
  const doc = sizeClassifier(o.doc, o.dataset.numClasses);
  const analysis = analyze(doc.graph);
  const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new TrainError(`the graph has problems: ${errors.map((d) => `[${d.code}] ${d.message}`).join('; ')}`);
  const heads = analysis.outputs.heads ?? [];
  const hasLogits = !!analysis.outputs.logits || heads.some((h) => h.logits);
  const hasFeature = !!analysis.outputs.trainFeature || heads.some((h) => h.feature);
  if (!hasLogits || !hasFeature) throw new TrainError('training needs the logits and the metric-loss feature connected to "Model outputs" (or to head losses)');
  // Seeded initialisation: the same seed gives the same starting weights (reproducible runs and resumes), drawn
  // into the run's weight store (PyTorch layout) as tfjs-layers draws them (main/weights/init.ts), on every engine.
  const compiled = seedInitializers(compileToKeras(analysis), s.seed);
  const store = freshWeightStore(compiled);
  // Pretrained weights (RSB load_param) replace the slots they provide, in PyTorch layout as read.
  if (pretrained) store.setTorchValues(pretrained.torch);
  // The tfjs model: built (and filled from the store) only where tfjs trains or computes the features.
  let reid: ReidModel | undefined;
  // Set when the tfjs engine takes the model to train it (its weights are then the model's own).
  let tfjsTrains = false;
  const tfjsModel = async (): Promise<ReidModel> => {
    if (!reid) {
      reid = await buildFromCompiled(compiled);
      setWeightsFromValues(reid, analysis.layers, store.tfjsValues());
    }
    return reid;
  };
  // The run's evaluations, of the weights the engine holds now (written into the store): on onnxruntime (all
  // cores) when installed and the backend is automatic, else tfjs — the training model when tfjs trains.
  const evaluateNow = async () => {
    await trainer?.syncWeights();
    const features = await featureEngineOf(compiled, o.backend ?? 'auto', {
      weights: () => store.tfjsLookup(),
      tfjs: async (reason) => {
        const model = await tfjsModel();
        if (!tfjsTrains) setWeightsFromValues(model, analysis.layers, store.tfjsValues());
        return tfjsFeatureEngine(model, compiled, backend.backend, reason);
      },
    });
    try {
      // A stop asked for during an evaluation (Ctrl-C, the app's Stop) ends it at the next batch of images.
      const extract: typeof features.extract = (...args) => {
        if (o.control?.request) throw new EvaluationStopped();
        return features.extract(...args);
      };
      return await evaluateModel(undefined, o.dataset, s, pool, undefined, extract);
    } finally {
      await features.dispose();
    }
  };
  const pool = new DataLoaderPool({ height: analysis.inputShape![0]!, width: analysis.inputShape![1]!, preprocess: imagePreprocessOf(doc), ...(o.dataWorkers ? { workers: o.dataWorkers } : {}) });
  let loss: ReidLoss | undefined;
  let trainer: TrainingEngine | undefined;
  try {
    const featName = analysis.outputs.trainFeature ?? heads.find((h) => h.feature)!.feature;
    const featDim = analysis.layers.find((l) => l.name === featName)!.shape[0]!;
    loss = new ReidLoss(s, o.dataset.numClasses, featDim);
    const batchSize = s.batch.p * s.batch.k;
    const engine = await trainingEngine(
      { store, model: () => ((tfjsTrains = true), tfjsModel()), compiled, analysis, loss, optimizer: { name: s.optimizer.name, weightDecay: s.optimizer.weightDecay, momentum: s.optimizer.momentum }, batch: batchSize,
        tfjsBackend: backend.backend,
        pk: s.batch,
        memory: deviceMemory(backend.backend, { onGpu: backend.device === 'gpu' }),
        ...((o.microBatch ?? s.microBatch) !== undefined ? { microBatchOverride: (o.microBatch ?? s.microBatch)! } : {}),
        ...(onnxUnsupported(s, o.microBatch ?? s.microBatch) ? { onnxUnsupported: onnxUnsupported(s, o.microBatch ?? s.microBatch)! } : {}),
      },
      o.backend ?? 'auto',
    );
    trainer = engine;
    const mb = { microBatch: engine.microBatch, reason: engine.microBatchReason };
    const engineDevice: 'cpu' | 'gpu' = engine.device ?? (engine.name === backend.backend ? (backend.device ?? 'cpu') : 'cpu');
    const gpuWarning = engine.name === backend.backend ? backend.gpuFallback : undefined;
    const labels = o.dataset.train.map((r) => r.label);
    const sampler = makeSampler(s.sampler, labels, s.batch.p, s.batch.k, s.seed);
    const records = o.dataset.train.map((r) => ({ path: r.path, label: r.label }));

    let epoch = 1;
    let startBatch = 0;
    let step = 0;
    let resumedFromStep: number | undefined;
    const saved = o.resume ? await recoverCheckpoint<CheckpointMeta>(o.runDir) : null;
    if (o.resume && !saved) throw new TrainError(`${o.runDir} has no checkpoint to resume from`);
    if (saved) {
      // A checkpoint holding NaN / ±Inf (a damaged file) would resume into a NaN loss blamed on the learning rate.
      const bad = [...saved.tensors].filter(([, t]) => t.data.some((x) => !Number.isFinite(x))).map(([k]) => k);
      if (bad.length) throw new TrainError(`cannot resume: the checkpoint in ${o.runDir} holds NaN / ±Inf values in ${bad.length} tensor(s) (${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ', …' : ''}): the file is damaged`);
      const state = decodeTrainingState(analysis.layers, saved);
      await engine.setWeightValues(state.weights);
      engine.setOptimizerState(state.optimizer);
      if (state.centers && loss.center) loss.center.centers.assign(tf.tensor(state.centers.data, state.centers.shape));
      const m = state.position;
      sampler.setState(m.sampler);
      epoch = m.epoch;
      startBatch = m.batch;
      step = m.step;
      resumedFromStep = step;
      await run.truncateMetrics(step);
      await run.log(`resumed from step ${step} (epoch ${epoch}, batch ${startBatch})`);
      const other = engineChange(await run.readJson<RunInfo>('run.json'), { backend: engine.name, device: engineDevice, ...(engine.adapter ? { adapter: engine.adapter } : {}) }, step);
      if (other) await run.log(other);
    } else {
      await run.writeJson('graph.json', doc);
      // The data trained on, as chosen (the demo of its size, or the folder in its layout): resume and eval reopen it.
      await run.writeJson('settings.json', { ...s, dataset: recordedDataset(o.dataset) });
      // The engine started from the store, pretrained weights included.
      if (pretrained) await run.writeJson('load-report.json', pretrained.report);
    }
    await run.updateInfo({
      status: 'running',
      backend: engine.name,
      device: engineDevice,
      adapter: engine.adapter,
      ...(engine.threads ? { threads: engine.threads } : {}),
      backendReason: engine.reason,
      epochs: s.epochs,
      microBatch: mb.microBatch,
      microBatchReason: mb.reason,
      loss: loss.plan.describe,
      numClasses: o.dataset.numClasses,
      dataset: { kind: o.dataset.kind, root: o.dataset.root, summary: o.dataset.summary, fingerprint: datasetFingerprint(o.dataset) },
    });

    const save = async (nextEpoch: number, nextBatch: number, samplerState: SamplerState) => {
      const weights = await engine.weightValues();
      const centers = loss!.center ? { shape: loss!.center.centers.shape, data: (await loss!.center.centers.data()) as Float32Array } : undefined;
      const { tensors, meta } = encodeTrainingState<SamplerState>(analysis.layers, { weights, optimizer: await engine.optimizerState(), ...(centers ? { centers } : {}), position: { epoch: nextEpoch, batch: nextBatch, step, sampler: samplerState } });
      await writeCheckpoint(o.runDir, { tensors, meta });
      emit({ type: 'checkpoint', epoch: nextEpoch, step, batch: nextBatch });
    };

    emit({ type: 'start', runDir: o.runDir, backend: engine.name, device: engineDevice, ...(engine.adapter ? { adapter: engine.adapter } : {}), ...(gpuWarning ? { backendWarning: gpuWarning } : {}), epochs: s.epochs, startEpoch: epoch, itersPerEpoch: sampler.batchesPerEpoch, microBatch: mb.microBatch, microBatchReason: mb.reason, loss: loss.plan.describe, numClasses: o.dataset.numClasses, ...(resumedFromStep !== undefined ? { resumedFromStep } : {}) });
    await run.log(`start: backend ${engine.name} (${engine.adapter ?? (engineDevice === 'gpu' ? 'GPU' : 'CPU')}${engine.threads && engineDevice === 'cpu' ? `, ${engine.threads} threads` : ''})${gpuWarning ? ` — ${gpuWarning}` : ''} — ${engine.reason}; ${mb.reason}, loss ${loss.plan.describe}`);
    await run.log(formatDatasetSummary(o.dataset));
    const everySteps = o.checkpointEverySteps ?? 25;
    let lastEval: Record<string, unknown> | undefined;
    // The best checkpoint by mAP (main/runs/store/best-checkpoint.ts), kept beside the last as evaluations land.
    let best = await readBestInfo(o.runDir);
    const keepBest = async (epoch: number, r: { mAP: number; rank1: number }) => {
      if (best && !(r.mAP > best.mAP)) return;
      const info = { mAP: r.mAP, rank1: r.rank1, epoch, step };
      if (await keepBestCheckpoint(o.runDir, analysis.layers, await engine.weightValues(), info, best)) {
        best = info;
        await run.log(`best checkpoint: epoch ${epoch}, mAP ${(r.mAP * 100).toFixed(1)}%`);
      }
    };
    /**
     * Evaluates the weights after `epoch` and records it (eval.json, eval features, metrics, train.log, best/);
     * false when a stop request ended the evaluation (nothing recorded).
     */
    const recordEval = async (epoch: number): Promise<boolean> => {
      let evaluated;
      try {
        evaluated = await evaluateNow();
      } catch (e) {
        if (e instanceof EvaluationStopped) return false;
        throw e;
      }
      const { features, ...r } = evaluated;
      await writeEvalFeatures(o.runDir, features, s.test.metric, s.test.featNorm);
      lastEval = { ...r, epoch, step };
      await run.writeJson('eval.json', lastEval);
      await run.metric({ type: 'eval', epoch, step, mAP: r.mAP, rank1: r.rank1, rank5: r.rank5, rank10: r.rank10, mINP: r.mINP });
      emit({ type: 'eval', epoch, mAP: r.mAP, rank1: r.rank1, rank5: r.rank5, rank10: r.rank10, mINP: r.mINP });
      await run.log(`eval epoch ${epoch}: mAP ${(r.mAP * 100).toFixed(1)}%, rank-1 ${(r.rank1 * 100).toFixed(1)}%`);
      await keepBest(epoch, r);
      return true;
    };
    /**
     * The run stopped (or paused) during the evaluation after `epoch`: its weights are checkpointed (`save` when
     * that epoch had no checkpoint yet), the evaluation is not recorded, train.log says so.
     */
    const stoppedInEval = async (epoch: number, save?: () => Promise<void>): Promise<{ status: 'stopped' | 'paused' }> => {
      if (save) await save();
      const status = o.control?.request === 'pause' ? 'paused' : 'stopped';
      await run.log(`${status} during the evaluation after epoch ${epoch}: not evaluated; ${epoch === s.epochs ? 'train --resume runs the final evaluation' : `the checkpoint holds epoch ${epoch}'s weights (reid-studio eval RUN_DIR evaluates them)`}`);
      await run.updateInfo({ status, step, epoch });
      emit({ type: 'done', status, step, epoch });
      return { status };
    };
    const t0 = performance.now();
    let imagesDone = 0;
    for (; epoch <= s.epochs; epoch++) {
      const samplerState = sampler.getState();
      const batches = sampler.nextEpoch();
      let lr = lrAt(s, epoch, startBatch, batches.length);
      const te = performance.now();
      let sumLoss = 0;
      let sumAcc = 0;
      let count = 0;
      for await (const batch of pool.trainBatches(records, batches, s.augment, { seed: s.seed, epoch, startBatch })) {
        let result;
        try {
          lr = lrAt(s, epoch, batch.index, batches.length);
          // fast-reid LayerFreeze (engine/hooks.py): the backbone gets no update while iteration < FREEZE_ITERS.
          result = await engine.step(batch.images, batch.labels, lr, { freezeBackbone: step < s.freezeBackboneIters });
        } catch (e) {
          if (e instanceof NonFiniteLossError) throw new TrainError(`${e.message} at epoch ${epoch}, iteration ${batch.index + 1} (step ${step + 1}); training stopped — lower the learning rate or check the data`);
          if (e instanceof StepOutOfMemoryError) throw new OutOfMemoryError(`at epoch ${epoch}, iteration ${batch.index + 1} on ${engine.name}: ${e.message}`);
          const msg = String((e as Error).message ?? e);
          if (isOutOfMemory(msg)) throw new OutOfMemoryError(outOfMemoryMessage(`at epoch ${epoch}, iteration ${batch.index + 1} on ${engine.name}`, mb.microBatch, oomDetail(msg)));
          throw e;
        }
        step++;
        // The bytes that crossed in this process's first two steps (the first also brings the state to the
        // engine), measured by the engine on the tensors it moved.
        if (imagesDone < 2 * batch.size && engine.bytesPerStep) await run.log(`bytes per step (measured, step ${step}): ${engine.bytesPerStep.in} in, ${engine.bytesPerStep.out} out — ${engine.bytesPerStep.what}`);
        imagesDone += batch.size;
        count++;
        sumLoss += result.loss;
        sumAcc += result.acc;
        const elapsed = (performance.now() - t0) / 1000;
        const imgPerSec = imagesDone / Math.max(elapsed, 1e-6);
        const itersLeft = (s.epochs - epoch) * batches.length + (batches.length - batch.index - 1);
        const ev = { type: 'step' as const, epoch, iter: batch.index + 1, iters: batches.length, step, lr, imgPerSec, etaSeconds: (itersLeft * batch.size) / Math.max(imgPerSec, 1e-6), ...result };
        emit(ev);
        await run.metric(ev);
        const stopNow = o.control?.request || (o.maxSteps !== undefined && step >= o.maxSteps);
        const last = batch.index + 1 === batches.length;
        if (stopNow || (!last && step % everySteps === 0)) await save(last ? epoch + 1 : epoch, last ? 0 : batch.index + 1, last ? sampler.getState() : samplerState);
        if (stopNow) {
          const status = o.control?.request === 'pause' ? 'paused' : 'stopped';
          await run.updateInfo({ status, step, epoch });
          emit({ type: 'done', status, step, epoch });
          return { status };
        }
      }
      startBatch = 0;
      const epochRecord = { type: 'epoch' as const, epoch, loss: sumLoss / Math.max(count, 1), acc: sumAcc / Math.max(count, 1), seconds: (performance.now() - te) / 1000 };
      emit(epochRecord);
      await run.metric({ ...epochRecord, step });
      await run.log(`epoch ${epoch}: loss ${epochRecord.loss.toFixed(4)}, acc ${(epochRecord.acc * 100).toFixed(1)}%, lr ${lr.toExponential(3)}`);
      const checkpointed = epoch % s.checkpointPeriod === 0 || epoch === s.epochs;
      if (checkpointed) await save(epoch + 1, 0, sampler.getState());
      if ((epoch % s.evalPeriod === 0 || epoch === s.epochs) && !(await recordEval(epoch))) return stoppedInEval(epoch, checkpointed ? undefined : () => save(epoch + 1, 0, sampler.getState()));
    }
    // A run stopped right after its last step (or during its final evaluation) resumes with no step left: it still
    // owes the final evaluation.
    if (!lastEval && (await run.readJson<{ epoch?: number }>('eval.json'))?.epoch !== s.epochs && !(await recordEval(s.epochs))) return stoppedInEval(s.epochs);
    await run.updateInfo({ status: 'completed', step, epoch: s.epochs });
    emit({ type: 'done', status: 'completed', step, epoch: s.epochs });
    return { status: 'completed', eval: lastEval };
  } catch (e) {
    await run.updateInfo({ status: 'failed', message: (e as Error).message });
    await run.log(`failed: ${(e as Error).message}`);
    throw e;
  } finally {
    await pool.close();
    loss?.dispose();
    await trainer?.dispose();
    if (reid) disposeModel(reid);
  }
}
