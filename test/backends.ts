/**
 * The compute backends present on this machine, for parity and training tests that `describe.each` over
 * them, so the same PyTorch references run on every engine a machine has. A tfjs backend is present when
 * its package is installed and `initBackend` selects it — the app's own check, including the native
 * bindings' smoke test (a 3×3 convolution forward and backward equal to wasm's). onnxruntime is present
 * when onnxruntime-node loads; webgpu (onnxruntime's WebGPU EP) when the app's own status says it runs here —
 * on the build machine, SwiftShader set up by test/webgpu-env.ts (slow: suites give it a few tiny cases). A
 * backend that is absent is simply not listed (never a skipped test).
 *
 * Not listed: the plain JavaScript `cpu` backend (the reference the smoke test falls back to; the parity
 * tests keep their own small cpu subset). Training lists tfjs backends only: onnxruntime trains through
 * its own engine, whose tests are its own.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CompiledModel } from '../core/index.js';
import './webgpu-env.js';
import { featureEngine } from '../main/onnx/engine.js';
import { onnxRuntimeStatus } from '../main/onnx/runtime.js';
import { webgpuStatus } from '../main/onnx/webgpu.js';
import { forwardEval, initBackend, type BackendName, type ReidModel } from '../main/tfjs/index.js';

const NATIVE: Partial<Record<BackendName, string>> = { 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu', tensorflow: '@tensorflow/tfjs-node' };

/** tfjs backends that load and pass the app's check, fastest first (wasm always: it ships with the app). */
async function tfjsBackends(): Promise<BackendName[]> {
  const present: BackendName[] = [];
  for (const name of ['tensorflow-gpu', 'tensorflow', 'wasm'] as const) {
    const pkg = NATIVE[name];
    if (pkg && !existsSync(join(process.cwd(), 'node_modules', pkg, 'package.json'))) continue;
    try {
      await initBackend(name);
      present.push(name);
    } catch (e) {
      // An installed native package that fails its check is not a backend the app would use; say why.
      console.warn(`test backends: ${name} is installed but not usable: ${(e as Error).message}`);
    }
  }
  await initBackend('wasm');
  return present;
}

export const TFJS_BACKENDS: readonly BackendName[] = await tfjsBackends();

/** Engines that compute eval-mode features: the tfjs backends, then onnxruntime and webgpu where they run. */
export const EVAL_ENGINES: readonly (BackendName | 'onnxruntime' | 'webgpu')[] = [
  ...TFJS_BACKENDS,
  ...((await onnxRuntimeStatus()).available ? (['onnxruntime'] as const) : []),
  ...((await webgpuStatus()).available ? (['webgpu'] as const) : []),
];

/** Backends that run the training step (forward + backward through tfjs). */
export const TRAIN_BACKENDS: readonly BackendName[] = TFJS_BACKENDS;

/** The tfjs backend to initialise for an eval engine (the onnxruntime engines take their weights from a model built on wasm). */
export const tfjsBackendOf = (engine: (typeof EVAL_ENGINES)[number]): BackendName => (engine === 'onnxruntime' || engine === 'webgpu' ? 'wasm' : engine);

/**
 * Eval-mode features of `count` NHWC normalised images on `engine`: the tfjs model's eval output on the
 * active tfjs backend, or onnxruntime (CPU or WebGPU EP) running the lowered ONNX graph of `compiled` with the model's weights.
 */
export async function evalFeatures(engine: (typeof EVAL_ENGINES)[number] | 'cpu', reid: ReidModel, compiled: CompiledModel, input: Float32Array, count: number): Promise<Float32Array> {
  if (engine === 'onnxruntime' || engine === 'webgpu') {
    const ort = await featureEngine(reid, compiled, engine, 'wasm');
    try {
      if (ort.name !== engine) throw new Error(`${engine} did not run: ${ort.reason}`);
      return (await ort.extract(input, count, count)).features;
    } finally {
      await ort.dispose();
    }
  }
  const [h, w, c] = reid.metadata.inputShape as [number, number, number];
  const x = tf.tensor4d(input, [count, h, w, c]);
  const f = forwardEval(reid, x);
  const out = (await f.data()) as Float32Array;
  tf.dispose([x, f]);
  return out;
}
