/**
 * The engine that computes eval-mode features for `embed` and `eval`: onnxruntime (the lowered ONNX
 * graph, all cores) when onnxruntime-node is installed, the tfjs backend otherwise. `--backend onnxruntime`
 * forces it (an error when unavailable); a tfjs backend name forces tfjs; `auto` prefers onnxruntime and
 * falls back to tfjs with the reason (onnxruntime missing, or a graph without an ONNX form).
 */
import { CompileError, type CompiledModel } from '../../core/index.js';
import { onnxModelOf } from '../export/onnx.js';
import { BACKEND_NAMES, BackendError, extractFeatures, getWeightValues, parseBackendChoice, type BackendChoice, type BackendName, type ReidModel } from '../tfjs/index.js';
import { createFeatureSession, onnxRuntimeStatus, OnnxRuntimeError } from './runtime.js';

export const ONNXRUNTIME_ENGINE = 'onnxruntime';
export type EngineChoice = BackendChoice | typeof ONNXRUNTIME_ENGINE;

/** `--backend` values of eval / embed: the tfjs backends plus `onnxruntime`. */
export function parseEngineChoice(v: string | undefined): EngineChoice {
  if (v === ONNXRUNTIME_ENGINE) return v;
  try {
    return parseBackendChoice(v);
  } catch {
    throw new BackendError(`unknown backend "${v}" (choose one of auto, ${ONNXRUNTIME_ENGINE}, ${BACKEND_NAMES.join(', ')})`);
  }
}

/** The tfjs backend to initialise for a choice (onnxruntime still builds the model with tfjs to hold its weights). */
export function tfjsChoiceOf(choice: EngineChoice): BackendChoice {
  return choice === ONNXRUNTIME_ENGINE ? 'auto' : choice;
}

export interface FeatureEngine {
  /** `onnxruntime` or the tfjs backend in use. */
  name: typeof ONNXRUNTIME_ENGINE | BackendName;
  /** onnxruntime's intra-op threads (all cores); absent for tfjs. */
  threads?: number;
  /** Why this engine (and why onnxruntime was not used, when it was not). */
  reason: string;
  /** Eval features of `count` NHWC normalised images. */
  extract(images: Float32Array, count: number, batchSize?: number): Promise<{ features: Float32Array; dim: number }>;
  dispose(): Promise<void>;
}

/**
 * The feature engine for the model `reid` (its current weights) compiled as `compiled`, given the tfjs
 * backend already initialised (`tfjsBackend`). Throws BackendError when onnxruntime was forced and cannot run.
 */
export async function featureEngine(reid: ReidModel, compiled: CompiledModel, choice: EngineChoice, tfjsBackend: BackendName): Promise<FeatureEngine> {
  const tfjs = (reason: string): FeatureEngine => ({ name: tfjsBackend, reason, extract: (x, n, b = 16) => extractFeatures(reid, x, n, b), dispose: async () => {} });
  if (choice !== 'auto' && choice !== ONNXRUNTIME_ENGINE) return tfjs(`forced with --backend ${choice}`);
  const status = await onnxRuntimeStatus();
  const forced = choice === ONNXRUNTIME_ENGINE;
  if (!status.available) {
    if (forced) throw new BackendError(`backend onnxruntime is not available: ${status.message}`);
    return tfjs(`onnxruntime skipped (${status.message})`);
  }
  try {
    const session = await createFeatureSession(onnxModelOf(compiled, await getWeightValues(reid, compiled.layers)), { threads: status.threads });
    return {
      name: ONNXRUNTIME_ENGINE,
      threads: session.threads,
      reason: `${forced ? 'forced with --backend onnxruntime' : 'fastest available'}: onnxruntime-node ${status.version ?? ''} CPU, ${session.threads} thread(s)`,
      extract: (x, n, b = 16) => session.extract(x, n, b),
      dispose: () => session.release(),
    };
  } catch (e) {
    if (!(e instanceof CompileError || e instanceof OnnxRuntimeError)) throw e;
    if (forced) throw new BackendError(`backend onnxruntime cannot run this graph: ${e.message}`);
    return tfjs(`onnxruntime skipped (${e.message})`);
  }
}

/** One line for logs and the CLI. */
export function describeEngine(e: FeatureEngine): string {
  return `features on ${e.name}${e.threads ? ` (${e.threads} threads)` : ''}: ${e.reason}`;
}
