/**
 * The onnxruntime engine: `onnxruntime-node` (Microsoft's ONNX Runtime) runs the lowered eval-feature graph
 * on the CPU execution provider with all cores (intraOpNumThreads = os.availableParallelism()), or on the
 * WebGPU execution provider its binary bundles (main/onnx/webgpu.ts). The package is an optional
 * dependency loaded with a guarded dynamic import: without it the app evaluates on tfjs. Every session the
 * app creates takes its options from `ortSessionOptions`.
 */
import { availableParallelism } from 'node:os';
import type * as Ort from 'onnxruntime-node';
import type { OnnxModelJs } from '../../core/index.js';
import { ACTMAP_OUTPUT_NAME, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from '../../core/index.js';
import { serializeOnnx } from './serialize.js';
import { webgpuError } from './webgpu-errors.js';

export const ONNXRUNTIME_PACKAGE = 'onnxruntime-node';

/**
 * The work onnxruntime does when it is installed, one entry per kind (the `uses` of `reid-studio backend
 * --json`); the rest runs on the tfjs backend. An engine that moves to onnxruntime adds its entry here.
 */
export const ONNXRUNTIME_USES: readonly { work: string; label: string }[] = [
  { work: 'train', label: 'training (the whole P×K batch, forward + backward graphs)' },
  { work: 'eval', label: 'eval' },
  { work: 'embed', label: 'embed' },
  { work: 'train-eval', label: "a training run's evaluations" },
];

export interface OnnxRuntimeStatus {
  available: boolean;
  package: string;
  version?: string;
  /** Threads one session uses (intraOpNumThreads): all cores. */
  threads: number;
  /** Execution provider of the sessions (`cpu`; CUDA is not enabled). */
  executionProvider: 'cpu';
  /** The work it does when available (ONNXRUNTIME_USES). */
  uses: string[];
  /** Why it is unavailable (not installed / the loader's first line). */
  message?: string;
}

/** Imports by a non-literal specifier so bundlers and tsc leave it alone (it may be absent). */
async function importOptional(spec: string): Promise<unknown> {
  return import(spec);
}

/**
 * onnxruntime's intra-op threads: every core, or REID_STUDIO_ORT_THREADS when it is a whole number ≥ 1 (a
 * value that is not is ignored with a one-line note on stderr). Used by every onnxruntime session.
 */
export function onnxThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.REID_STUDIO_ORT_THREADS;
  if (raw === undefined || raw === '') return availableParallelism();
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 1 && n <= 1024) return n;
  if (!warnedThreads) process.stderr.write(`note: REID_STUDIO_ORT_THREADS=${JSON.stringify(raw)} is not a whole number from 1 to 1024; using all ${availableParallelism()} cores\n`);
  warnedThreads = true;
  return availableParallelism();
}
let warnedThreads = false;

let loaded: Promise<{ ort?: typeof Ort; status: OnnxRuntimeStatus }> | undefined;

async function load(): Promise<{ ort?: typeof Ort; status: OnnxRuntimeStatus }> {
  const threads = onnxThreads();
  const common = { package: ONNXRUNTIME_PACKAGE, threads, executionProvider: 'cpu' as const, uses: ONNXRUNTIME_USES.map((u) => u.work) };
  try {
    const mod = (await importOptional(ONNXRUNTIME_PACKAGE)) as typeof Ort & { default?: typeof Ort };
    const ort = mod.InferenceSession ? mod : mod.default!;
    return { ort, status: { available: true, ...common, version: ort.env.versions?.node } };
  } catch (e) {
    const code = (e as { code?: string }).code;
    const msg = String((e as Error)?.message ?? e);
    const notInstalled = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && msg.includes(`'${ONNXRUNTIME_PACKAGE}'`);
    const message = notInstalled ? `${ONNXRUNTIME_PACKAGE} is not installed` : msg.split('\n').find((l) => l.trim())?.trim().slice(0, 500) ?? msg;
    return { status: { available: false, ...common, message } };
  }
}

function loadOnce() {
  return (loaded ??= load());
}

/** Whether onnxruntime-node loads here, its version and thread count. Never throws. */
export async function onnxRuntimeStatus(): Promise<OnnxRuntimeStatus> {
  return (await loadOnce()).status;
}

export class OnnxRuntimeError extends Error {}

/** The execution providers the app creates sessions on: onnxruntime's CPU EP and its bundled WebGPU EP. */
export type OrtExecutionProvider = 'cpu' | 'webgpu';

export interface OrtSessionOptionsInput {
  /** Intra-op threads (CPU kernels; on webgpu, the nodes left on the CPU). Default: onnxThreads(). */
  threads?: number;
  /** onnxruntime's log severity (0 verbose … 4 fatal; default 3: errors are thrown, not logged). */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** Writes a per-node profile (JSON, each node's `provider`): node placement (main/onnx/placement.ts). */
  profileFilePrefix?: string;
  /** Where outputs stay: `gpu-buffer` keeps them on the device between runs (webgpu only). */
  preferredOutputLocation?: 'cpu' | 'gpu-buffer' | Record<string, 'cpu' | 'gpu-buffer'>;
  /** The WebGPU EP's tensor layout for Conv-like kernels (its default NHWC; NCHW avoids layout transposes). */
  preferredLayout?: 'NCHW' | 'NHWC';
  /**
   * false: idle intra-op threads sleep instead of spin-waiting between kernels (onnxruntime's session config
   * `session.intra_op.allow_spinning` = 0). Spinning burns the cores the data-loader workers and other
   * programs need; the training step turns it off (measured: bench/backends.ts, README "What runs where").
   */
  allowSpinning?: boolean;
}

/**
 * onnxruntime's graph transformers that can only rewrite quantized (QDQ, integer MatMul, n-bit weights) or
 * transformer-model (attention, GELU, LayerNorm) subgraphs: the app's graphs are float32 CNNs (ResNet / IBN /
 * SE / ResNeSt / non-local / MGN) and their training programs, where they never apply. Each still walks the
 * whole graph on every optimisation pass: on mgn_R50-ibn's training program (≈10,500 nodes, 96×32, batch 8,
 * 1 thread) they were half of the session's creation (7.5 → 3.8 s CPU). Disabling a transformer only skips
 * a rewrite (each preserves the graph's function); the names are onnxruntime 1.30's
 * (session config `optimization.disable_specified_optimizers`, `;`-separated; unknown names are ignored).
 */
export const INAPPLICABLE_ORT_TRANSFORMERS: readonly string[] = [
  'AttentionFusion', 'BiasDropoutFusion', 'BiasGeluFusion', 'BiasSkipLayerNormFusion', 'BiasSoftmaxFusion', 'EmbedLayerNormFusion',
  'FastGeluFusion', 'GeluFusionL1', 'GeluFusionL2', 'GroupQueryAttentionFusion', 'GroupQueryAttentionPreNormFusion', 'LayerNormFusionL1',
  'LayerNormFusionL2', 'QuickGeluFusion', 'SimplifiedLayerNormFusion', 'SkipLayerNormFusion',
  'DoubleQDQPairsRemover', 'DynamicQuantizeMatMulFusion', 'EnsureUniqueDQForNodeUnit', 'MatMulIntegerToFloatFusion', 'MatMulNBitsFusion',
  'QDQFinalCleanupTransformer', 'QDQPropagationTransformer', 'QDQS8ToU8Transformer', 'QDQSelectorActionTransformer', 'WeightBiasQuantization', 'WhereDummyDq',
];

/**
 * The session options of every onnxruntime session the app creates (eval, embed, training, smoke test,
 * benchmarks): the execution provider, intra-op threads (one inter-op thread: the graphs are chains),
 * full graph optimisation less the transformers that never apply to the app's graphs
 * (INAPPLICABLE_ORT_TRANSFORMERS). On `webgpu`, nodes the EP has no kernel for run on the CPU EP
 * (onnxruntime's fallback; main/onnx/placement.ts finds them).
 */
export function ortSessionOptions(ep: OrtExecutionProvider, o: OrtSessionOptionsInput = {}): Ort.InferenceSession.SessionOptions {
  const provider = ep === 'webgpu' ? (o.preferredLayout ? { name: 'webgpu' as const, preferredLayout: o.preferredLayout } : 'webgpu') : 'cpu';
  return {
    executionProviders: [provider] as Ort.InferenceSession.SessionOptions['executionProviders'],
    intraOpNumThreads: o.threads ?? onnxThreads(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: o.logSeverityLevel ?? 3,
    ...(o.profileFilePrefix ? { enableProfiling: true, profileFilePrefix: o.profileFilePrefix } : {}),
    ...(o.preferredOutputLocation ? { preferredOutputLocation: o.preferredOutputLocation } : {}),
    extra: {
      optimization: { disable_specified_optimizers: INAPPLICABLE_ORT_TRANSFORMERS.join(';') },
      ...(o.allowSpinning === false ? { session: { intra_op: { allow_spinning: '0' } } } : {}),
    },
  };
}

/** An onnxruntime session of a lowered feature model: NHWC images in, [count, dim] features out. */
export interface OnnxFeatureSession {
  threads: number;
  /** The execution provider it runs on. */
  ep: OrtExecutionProvider;
  /** Features of `count` images given NHWC normalised floats ([count, H, W, C], as loadImages gives them). */
  extract(nhwc: Float32Array, count: number, batchSize?: number): Promise<{ features: Float32Array; dim: number }>;
  /**
   * With a model lowered with `actmap`: per image the last feature map's squared activations summed over
   * channels ([count, h, w], not yet normalised; core/compile/actmap.ts).
   */
  actmaps?(nhwc: Float32Array, count: number, batchSize?: number): Promise<{ maps: Float32Array; h: number; w: number }>;
  release(): Promise<void>;
}

/** NHWC [n, h, w, c] → NCHW [n, c, h, w]. */
export function nhwcToNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++) out[((b * c + ch) * h + y) * w + xx] = x[((b * h + y) * w + xx) * c + ch]!;
  return out;
}

/**
 * Creates a session (`ortSessionOptions`: the CPU execution provider with all cores unless `threads` says
 * otherwise, or the WebGPU EP). Throws OnnxRuntimeError when onnxruntime-node is unavailable or rejects the
 * model; on webgpu, a session that cannot be created or run throws WebGpuError (stable code).
 */
export async function createFeatureSession(model: OnnxModelJs | Uint8Array, opts: { threads?: number; ep?: OrtExecutionProvider } = {}): Promise<OnnxFeatureSession> {
  const { ort, status } = await loadOnce();
  if (!ort) throw new OnnxRuntimeError(`the onnxruntime engine is not available: ${status.message}`);
  const threads = opts.threads ?? status.threads;
  const ep = opts.ep ?? 'cpu';
  const bytes = model instanceof Uint8Array ? model : serializeOnnx(model);
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, ortSessionOptions(ep, { threads }));
  } catch (e) {
    if (ep === 'webgpu') throw webgpuError(e, 'creating the WebGPU session');
    throw new OnnxRuntimeError(`onnxruntime rejected the model: ${(e as Error).message}`);
  }
  const inputMeta = model instanceof Uint8Array ? undefined : model.graph.inputs[0]!.shape;
  const hasActmap = !(model instanceof Uint8Array) && model.graph.outputs.some((o) => o.name === ACTMAP_OUTPUT_NAME);
  /** One output of every image, batch by batch: [count, ...dims] and the per-image dims. */
  const runBatches = async (nhwc: Float32Array, count: number, batchSize: number, output: string, what: string) => {
    const per = nhwc.length / Math.max(count, 1);
    const [c, h, w] = inputMeta ? (inputMeta.slice(1) as number[]) : [3, 0, 0];
    if (!inputMeta || c! * h! * w! !== per) throw new OnnxRuntimeError(`input has ${per} values per image, the model expects ${inputMeta?.slice(1).join('×')}`);
    let out: Float32Array | undefined;
    let dims: number[] = [];
    for (let i = 0; i < count; i += batchSize) {
      const n = Math.min(batchSize, count - i);
      const x = nhwcToNchw(nhwc.subarray(i * per, (i + n) * per), n, h!, w!, c!);
      let result: Ort.InferenceSession.ReturnType;
      try {
        result = await session.run({ [ONNX_INPUT_NAME]: new ort.Tensor('float32', x, [n, c!, h!, w!]) }, [output]);
      } catch (e) {
        if (ep === 'webgpu') throw webgpuError(e, `computing ${what} of images ${i + 1}–${i + n}`);
        throw e;
      }
      const t = result[output]!;
      dims = t.dims.slice(1).map(Number);
      const size = dims.reduce((a, b) => a * b, 1);
      out ??= new Float32Array(count * size);
      out.set(t.data as Float32Array, i * size);
      t.dispose();
    }
    return { data: out ?? new Float32Array(0), dims };
  };
  return {
    threads,
    ep,
    async extract(nhwc, count, batchSize = 16) {
      const r = await runBatches(nhwc, count, batchSize, ONNX_OUTPUT_NAME, 'features');
      return { features: r.data, dim: r.dims[0] ?? 0 };
    },
    ...(hasActmap
      ? {
          async actmaps(nhwc: Float32Array, count: number, batchSize = 16) {
            const r = await runBatches(nhwc, count, batchSize, ACTMAP_OUTPUT_NAME, 'activation maps');
            return { maps: r.data, h: r.dims[0] ?? 0, w: r.dims[1] ?? 0 };
          },
        }
      : {}),
    release: () => session.release(),
  };
}

/** The loaded onnxruntime-node module (absent when unavailable) and its status. */
export async function loadOnnxRuntime(): Promise<{ ort?: typeof Ort; status: OnnxRuntimeStatus }> {
  return loadOnce();
}
