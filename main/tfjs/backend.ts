/**
 * TensorFlow.js backend resolution on the Node side. Order (fastest first): the native TensorFlow
 * bindings (`@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`), the WebAssembly backend, the
 * plain JavaScript `cpu` backend. Each candidate that is skipped is reported with the reason (not
 * installed / failed to load, with the loader's message), so the UI and the CLI can show why training
 * runs where it runs (product.md #8).
 *
 * The native packages are optional dependencies whose install script downloads libtensorflow; where that
 * download fails npm drops them. They are loaded with a guarded dynamic import so users who have them
 * get them and everybody else falls through.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import { registerCustomLayers } from './layers/index.js';
import { installNodeUtilShim } from './node-compat.js';
import { diagnoseGpu } from './gpu.js';

/** Names as in the training settings (`core/training/settings.ts` backend enum); parsed without tfjs in choice.ts. */
import { BACKEND_NAMES, BackendError, parseBackendChoice, type BackendChoice, type BackendName } from './choice.js';
export { BACKEND_NAMES, BackendError, parseBackendChoice, type BackendChoice, type BackendName };

export interface BackendAttempt {
  name: BackendName;
  package: string;
  status: 'selected' | 'not-installed' | 'failed' | 'not-tried';
  message?: string;
}

export interface BackendReport {
  /** The backend in use. */
  backend: BackendName;
  /** tfjs's own backend name (`tensorflow`, `wasm`, `cpu`). */
  tfjsBackend: string;
  requested: BackendChoice;
  /** Why this one: first that loaded in the automatic order, or forced with --backend. */
  reason: string;
  attempts: BackendAttempt[];
  /** The wasm backend runs one thread in Node and has a 4 GB heap (platform-notes.md). */
  notes: string[];
  /** Where the tensors live: `gpu` only for tfjs-node-gpu with a GPU device TensorFlow can use. */
  device: 'cpu' | 'gpu';
  /** Set when tfjs-node-gpu loaded but TensorFlow sees no GPU device, so it silently computes on the CPU. */
  gpuFallback?: string;
}

const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/**
 * "Not installed" only when the package itself cannot be found. A package installed without its native
 * binding (npm --ignore-scripts) also fails with MODULE_NOT_FOUND, but for the `.node` file: that is a
 * failed load, reported with the loader's message.
 */
function isNotInstalled(e: unknown, pkg: string): boolean {
  const code = (e as { code?: string }).code;
  const msg = String((e as Error)?.message ?? e);
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && msg.includes(`'${pkg}'`);
}

/** One line of the loader's message (native binding errors can be long). */
function firstLine(e: unknown): string {
  const msg = String((e as Error)?.message ?? e);
  return msg.split('\n').find((l) => l.trim())?.trim().slice(0, 500) ?? msg;
}

/** Imports a package by a non-literal specifier so bundlers and tsc leave it alone (it may be absent). */
async function importOptional(spec: string): Promise<unknown> {
  return import(spec);
}

/**
 * The wasm glue (Emscripten) adds `uncaughtException` / `unhandledRejection` listeners that rethrow and
 * dump ~50 KB of minified code. Remove exactly the listeners it added; our code catches its own errors.
 */
async function withoutGlueHandlers<T>(f: () => Promise<T>): Promise<T> {
  const events = ['uncaughtException', 'unhandledRejection'];
  const listeners = (e: string) => process.listeners(e as 'uncaughtException') as ((...a: unknown[]) => void)[];
  const before = events.map((e) => new Set(listeners(e)));
  try {
    return await f();
  } finally {
    events.forEach((e, i) => {
      for (const l of listeners(e)) if (!before[i]!.has(l)) process.removeListener(e, l);
    });
  }
}

/**
 * The device a loaded backend computes on. tfjs-node's NodeJSKernelBackend carries `isGPUPackage` and
 * `isUsingGpuDevice` (the binding's `isUsingGpuDevice()`, true when TensorFlow's eager context lists a GPU
 * device: tfjs-node `src/nodejs_kernel_backend.ts`). tfjs-node-gpu without a usable CUDA 11.2 / cuDNN 8.1
 * still loads — TensorFlow logs "Could not load dynamic library 'libcudart.so.11.0'" on stderr and runs
 * every kernel on the CPU — so the flag is the only in-process sign. `why` explains the fallback (the GPU
 * diagnosis' first problem). Pure: tests pass the backend object.
 */
export function backendDevice(name: BackendName, tfBackend: { isGPUPackage?: boolean; isUsingGpuDevice?: boolean } | undefined, why?: () => string | undefined): { device: 'cpu' | 'gpu'; gpuFallback?: string } {
  if (name !== 'tensorflow-gpu') return { device: 'cpu' };
  if (tfBackend?.isUsingGpuDevice !== false) return { device: 'gpu' };
  const reason = why?.();
  return { device: 'cpu', gpuFallback: `${PACKAGES[name]} is running on the CPU: TensorFlow sees no GPU device${reason ? ` (${reason})` : ''}; training is no faster than tfjs-node` };
}

/** Legacy `util.is*` functions restored for tfjs-node on Node ≥ 23 (see node-compat.ts), for the report. */
let utilShim: string[] = [];

async function tryNative(name: 'tensorflow-gpu' | 'tensorflow'): Promise<void> {
  utilShim = installNodeUtilShim();
  await importOptional(PACKAGES[name]);
  if (!tf.findBackend('tensorflow')) throw new Error(`${PACKAGES[name]} loaded but registered no "tensorflow" backend (a second copy of @tensorflow/tfjs?)`);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('the "tensorflow" backend failed to initialise');
  await smokeTestBackend('tensorflow');
}

/** A fixed pseudo-random tensor (no RNG state of tfjs involved). */
function fixed(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.5), shape);
}

/**
 * Runs a small convolution forward and backward (loss = Σ conv2d(x, w, stride 2, same)², gradients for x
 * and w) on `backend` and on the reference (wasm, or the plain JS cpu backend where wasm cannot start),
 * and throws with the largest relative difference when they disagree beyond 1e-3 · max|ref|. A native
 * binding that loads but computes wrongly (ABI / library mismatch) is then skipped, not trained on.
 * Leaves `backend` active.
 */
export async function smokeTestBackend(backend: string): Promise<void> {
  const run = () =>
    tf.tidy(() => {
      const loss = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')));
      const x = fixed([2, 7, 6, 3], 1);
      const w = fixed([3, 3, 3, 4], 2);
      const [gx, gw] = tf.grads(loss)([x, w]);
      return [loss(x, w), gx!, gw!].map((t) => t.dataSync() as Float32Array);
    });
  if (!(await tf.setBackend(backend))) throw new Error(`smoke test: the "${backend}" backend failed to initialise`);
  const got = run();
  let reference = 'wasm';
  try {
    await withoutGlueHandlers(async () => {
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm failed to initialise');
      await tf.ready();
    });
    registerWasmTrainingKernels();
  } catch {
    reference = 'cpu';
    await tf.setBackend('cpu');
  }
  const want = run();
  if (!(await tf.setBackend(backend))) throw new Error(`smoke test: the "${backend}" backend failed to initialise again`);
  ['loss', 'input gradient', 'filter gradient'].forEach((what, i) => {
    const [a, b] = [got[i]!, want[i]!];
    let diff = a.length === b.length ? 0 : Infinity;
    let ref = 0;
    for (let k = 0; k < Math.min(a.length, b.length); k++) {
      const d = Math.abs(a[k]! - b[k]!);
      if (!(d <= diff)) diff = d;
      ref = Math.max(ref, Math.abs(b[k]!));
    }
    if (!(diff <= 1e-3 * ref)) throw new Error(`smoke test failed: a 3×3 convolution's ${what} on ${backend} differs from ${reference} by ${diff.toExponential(2)} (max|${reference}| ${ref.toExponential(2)})`);
  });
}

async function tryWasm(): Promise<void> {
  await withoutGlueHandlers(async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
    await tf.ready();
  });
  registerWasmTrainingKernels();
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
}

let current: BackendReport | undefined;

/** The backend report of the last successful `initBackend`, if any. */
export function backendReport(): BackendReport | undefined {
  return current;
}

/**
 * Selects and initialises the backend. `auto` tries the order above; a named backend is forced and its
 * failure is an error (BackendError with the loader's message). Idempotent for the same choice, and calls
 * made while one is initialising wait for it (two concurrent inits once raced: the second saw wasm half
 * set up and settled for the plain cpu backend).
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendReport> {
  while (initializing) await initializing.catch(() => undefined);
  if (current && (choice === 'auto' || choice === current.backend) && current.requested === choice) return current;
  const run = selectBackend(choice);
  initializing = run;
  try {
    return await run;
  } finally {
    if (initializing === run) initializing = null;
  }
}

/** The backend initialisation in progress, if any (initBackend serialises on it). */
let initializing: Promise<BackendReport> | null = null;

async function selectBackend(choice: BackendChoice): Promise<BackendReport> {
  // Quiet tfjs's "install the node backend" console hint: we report backends ourselves.
  tf.env().set('PROD', true);
  registerCustomLayers();
  const order: BackendName[] = choice === 'auto' ? [...BACKEND_NAMES] : [choice];
  const attempts: BackendAttempt[] = BACKEND_NAMES.map((name) => ({ name, package: PACKAGES[name], status: 'not-tried' }));
  const loaders: Record<BackendName, () => Promise<void>> = {
    'tensorflow-gpu': () => tryNative('tensorflow-gpu'),
    tensorflow: () => tryNative('tensorflow'),
    wasm: tryWasm,
    cpu: tryCpu,
  };
  for (const name of order) {
    const at = attempts.find((a) => a.name === name)!;
    try {
      await loaders[name]();
      at.status = 'selected';
      const skipped = attempts.filter((a) => a.status === 'not-installed' || a.status === 'failed');
      const reason =
        choice !== 'auto'
          ? `forced with --backend ${name}`
          : skipped.length
            ? `fastest available; skipped ${skipped.map((a) => `${a.name} (${a.status})`).join(', ')}`
            : 'fastest available';
      const notes: string[] = [];
      if (name === 'wasm') notes.push('WebAssembly in Node runs one thread with a 4 GB heap; gradient kernels for training are registered by ReID Studio');
      if (name === 'cpu') notes.push('the plain JavaScript backend is very slow for training');
      if ((name === 'tensorflow' || name === 'tensorflow-gpu') && utilShim.length) notes.push(`Node ${process.versions.node} lacks util.${utilShim.join(', util.')}: restored for ${PACKAGES[name]} 4.22`);
      if (name === 'tensorflow' || name === 'tensorflow-gpu') notes.push('passed the smoke test (3×3 convolution forward and backward equal to the WebAssembly backend)');
      const device = backendDevice(name, tf.backend() as { isUsingGpuDevice?: boolean }, () => diagnoseGpu().problems[0]);
      if (device.gpuFallback) notes.push(device.gpuFallback);
      current = { backend: name, tfjsBackend: tf.getBackend(), requested: choice, reason, attempts, notes, ...device };
      return current;
    } catch (e) {
      at.status = isNotInstalled(e, at.package) ? 'not-installed' : 'failed';
      at.message = at.status === 'not-installed' ? `${at.package} is not installed` : firstLine(e);
      if (choice !== 'auto') throw new BackendError(`backend ${name} is not available: ${at.message}`);
    }
  }
  throw new BackendError(`no TensorFlow.js backend could be initialised: ${attempts.map((a) => `${a.name}: ${a.message}`).join('; ')}`);
}

/** One line for logs and the CLI. */
export function describeBackend(r: BackendReport): string {
  const skipped = r.attempts.filter((a) => a.status === 'not-installed' || a.status === 'failed');
  return `backend ${r.backend} (${r.reason})${r.gpuFallback ? `; ${r.gpuFallback}` : ''}${skipped.length ? '; ' + skipped.map((a) => `${a.name}: ${a.message}`).join('; ') : ''}`;
}
