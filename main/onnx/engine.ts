/**
 * The engine that computes eval-mode features for `embed`, `eval` and a run's evaluations: the lowered ONNX
 * graph on onnxruntime's WebGPU EP or CPU EP (all cores), or the tfjs backend. The choice follows the one
 * policy (policy.ts): `auto` prefers a hardware WebGPU adapter that passes the smoke test, then the CPU
 * engine, then tfjs, and falls back with the reason (onnxruntime missing, a graph without an ONNX form);
 * `--backend webgpu` / `onnxruntime` force an engine (an error when it cannot run); a tfjs backend name
 * forces tfjs.
 */
import { CompileError, type CompiledModel, type OnnxWeightSource } from '../../core/index.js';
import { onnxModelOf } from './model.js';
import { BACKEND_NAMES, BackendError, parseBackendChoice, type BackendChoice, type BackendName } from '../tfjs/choice.js';
import type { ReidModel } from '../tfjs/index.js';
import { chooseEngine, CPU_ENGINE, type EngineWork } from './policy.js';
import { createFeatureSession, onnxRuntimeStatus, OnnxRuntimeError } from './runtime.js';
import { WEBGPU_ENGINE } from './webgpu.js';
import { WebGpuError } from './webgpu-errors.js';

export const ONNXRUNTIME_ENGINE = CPU_ENGINE;
export type EngineChoice = BackendChoice | typeof ONNXRUNTIME_ENGINE | typeof WEBGPU_ENGINE;

/** Every `--backend` value, in the order the CLI lists them. */
export const ENGINE_CHOICES: readonly string[] = ['auto', WEBGPU_ENGINE, ONNXRUNTIME_ENGINE, ...BACKEND_NAMES];

/** `--backend` values of eval / embed / train: `auto`, `webgpu`, `onnxruntime` and the tfjs backends. */
export function parseEngineChoice(v: string | undefined): EngineChoice {
  if (v === ONNXRUNTIME_ENGINE || v === WEBGPU_ENGINE) return v;
  try {
    return parseBackendChoice(v);
  } catch {
    throw new BackendError(`unknown backend "${v}" (choose one of ${ENGINE_CHOICES.join(', ')})`);
  }
}

/** The tfjs backend to initialise for a choice when tfjs runs (the onnxruntime engines need none: they read a weight store). */
export function tfjsChoiceOf(choice: EngineChoice): BackendChoice {
  return choice === ONNXRUNTIME_ENGINE || choice === WEBGPU_ENGINE ? 'auto' : choice;
}

export interface FeatureEngine {
  /** `webgpu`, `onnxruntime` or the tfjs backend in use. */
  name: typeof ONNXRUNTIME_ENGINE | typeof WEBGPU_ENGINE | BackendName;
  /** onnxruntime's intra-op threads (all cores); absent for tfjs. */
  threads?: number;
  /** The WebGPU adapter the features are computed on ("NVIDIA H100 (Vulkan)", "SwiftShader (software)"). */
  adapter?: string;
  /** Why this engine (and why faster ones were not used, when they were not). */
  reason: string;
  /** Eval features of `count` NHWC normalised images. */
  extract(images: Float32Array, count: number, batchSize?: number): Promise<{ features: Float32Array; dim: number }>;
  /**
   * With `{ actmap: true }`: per image Σ_c x² of the last feature map, [count, h, w], computed by this engine
   * as an extra output of the same graph (core/compile/actmap.ts normalises and draws them).
   */
  actmaps?(images: Float32Array, count: number, batchSize?: number): Promise<{ maps: Float32Array; h: number; w: number }>;
  dispose(): Promise<void>;
}

/**
 * Where a feature engine's weights come from. `weights`: tfjs-layout values keyed `${layer}/${slot}` (a
 * weight store's `tfjsLookup()`, main/weights/store.ts), read only when an ONNX engine runs. `tfjs`: the tfjs
 * engine, made only when tfjs computes the features (it loads TensorFlow.js and builds the model then).
 */
export interface EngineSource {
  weights(): OnnxWeightSource | Promise<OnnxWeightSource>;
  tfjs(reason: string): Promise<FeatureEngine>;
}

/**
 * The feature engine for the model compiled as `compiled` with the weights of `source`, following the policy
 * (policy.ts); `actmap`: the engine gives activation maps too (the lowered graph's activation-map output).
 * Neither loads nor builds tfjs unless tfjs computes the features. Throws BackendError when
 * webgpu / onnxruntime was forced and cannot run, WebGpuError (a stable code) when a forced WebGPU session fails.
 */
export async function featureEngineOf(compiled: CompiledModel, choice: EngineChoice, source: EngineSource, work: EngineWork = 'eval', opts: { actmap?: boolean } = {}): Promise<FeatureEngine> {
  const tfjs = (reason: string) => source.tfjs(reason);
  const decision = await chooseEngine(choice, work);
  if (decision.engine === 'tfjs') return tfjs(decision.reason);
  const status = await onnxRuntimeStatus();
  const forced = decision.forced;
  if (!status.available) {
    if (forced) throw new BackendError(`backend ${decision.engine} is not available: ${status.message}`);
    return tfjs(`onnxruntime skipped (${status.message})`);
  }
  let webgpuSkipped = decision.candidates.find((c) => c.engine === WEBGPU_ENGINE && !c.chosen)?.why;
  const cpuReason = () => `${forced ? 'forced with --backend onnxruntime' : 'fastest available'}: onnxruntime-node ${status.version ?? ''} CPU, ${status.threads} thread(s)${webgpuSkipped && !forced ? `; webgpu skipped (${webgpuSkipped})` : ''}`;
  let model;
  try {
    model = onnxModelOf(compiled, await source.weights(), { actmap: opts.actmap === true });
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    if (forced) throw new BackendError(`backend ${decision.engine} cannot run this graph: ${e.message}`);
    return tfjs(`onnxruntime skipped (${e.message})`);
  }
  if (decision.engine === WEBGPU_ENGINE) {
    const adapter = decision.webgpu?.adapter?.label;
    try {
      const session = await createFeatureSession(model, { threads: status.threads, ep: 'webgpu' });
      return {
        name: WEBGPU_ENGINE,
        threads: session.threads,
        ...(adapter ? { adapter } : {}),
        reason: decision.reason,
        extract: (x, n, b = 16) => session.extract(x, n, b),
        ...(session.actmaps ? { actmaps: session.actmaps } : {}),
        dispose: () => session.release(),
      };
    } catch (e) {
      if (forced || !(e instanceof WebGpuError || e instanceof OnnxRuntimeError)) throw e;
      // The smoke test passed but this graph's session did not: the CPU engine computes the same features.
      webgpuSkipped = e.message;
    }
  }
  try {
    const session = await createFeatureSession(model, { threads: status.threads });
    return {
      name: ONNXRUNTIME_ENGINE,
      threads: session.threads,
      reason: cpuReason(),
      extract: (x, n, b = 16) => session.extract(x, n, b),
      ...(session.actmaps ? { actmaps: session.actmaps } : {}),
      dispose: () => session.release(),
    };
  } catch (e) {
    if (!(e instanceof OnnxRuntimeError)) throw e;
    if (forced) throw new BackendError(`backend onnxruntime cannot run this graph: ${e.message}`);
    return tfjs(`onnxruntime skipped (${e.message})`);
  }
}

/** The tfjs engine over a built tfjs model (`extractFeatures`; `actmap`: `extractActmaps` too). */
export async function tfjsFeatureEngine(reid: ReidModel, compiled: CompiledModel, tfjsBackend: BackendName, reason: string, opts: { actmap?: boolean } = {}): Promise<FeatureEngine> {
  const { extractActmaps, extractFeatures } = await import('../tfjs/index.js');
  return {
    name: tfjsBackend,
    reason,
    extract: (x, n, b = 16) => extractFeatures(reid, x, n, b),
    ...(opts.actmap ? { actmaps: (x: Float32Array, n: number, b = 16) => extractActmaps(reid, compiled.layers, x, n, b) } : {}),
    dispose: async () => {},
  };
}

/**
 * The feature engine for a built tfjs model `reid` (its current weights) compiled as `compiled`, given the
 * tfjs backend already initialised (`tfjsBackend`): featureEngineOf with the model's weights (the trainer's
 * evaluations, whose weights live in the model it trains).
 */
export async function featureEngine(
  reid: ReidModel,
  compiled: CompiledModel,
  choice: EngineChoice,
  tfjsBackend: BackendName,
  work: EngineWork = 'eval',
  opts: { actmap?: boolean } = {},
): Promise<FeatureEngine> {
  const source: EngineSource = {
    weights: async () => (await import('../tfjs/index.js')).getWeightValues(reid, compiled.layers),
    tfjs: (reason) => tfjsFeatureEngine(reid, compiled, tfjsBackend, reason, opts),
  };
  return featureEngineOf(compiled, choice, source, work, opts);
}

/** One line for logs and the CLI. */
export function describeEngine(e: FeatureEngine): string {
  return `features on ${e.name}${e.adapter ? ` · ${e.adapter}` : ''}${e.threads && !e.adapter ? ` (${e.threads} threads)` : ''}: ${e.reason}`;
}
