/**
 * Out of memory on the one-program training engines is recognised (E_OUT_OF_MEMORY) with the P×K batch that
 * fits — really triggered, not mocked:
 *  - onnxruntime CPU: a batch whose first activation is one 32 GiB tensor, more than this machine's memory,
 *    so onnxruntime's arena really fails to allocate it ("Failed to allocate memory for requested buffer");
 *    a trial step then finds the batch that fits, and a real step at that batch runs.
 *  - webgpu (SwiftShader): a batch whose input tensor is larger than the adapter's buffer limit (WebGPU
 *    `maxBufferSize` / `maxStorageBufferBindingSize` as Dawn reports them) is refused before it runs, with
 *    the batch the limit allows.
 * The graph is the tiny engine graph with a wide stem (many filters, large input), so the tensors are big
 * while the arithmetic of the batch that fits stays small.
 */
import '../../webgpu-env.js';
import { totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { analyze, compileToKeras, seedInitializers, trainingSettingsSchema, type GraphDoc } from '../../../core/index.js';
import { webgpuStatus } from '../../../main/onnx/webgpu.js';
import { trainingEngine } from '../../../main/training/engine/engines.js';
import { deviceMemory } from '../../../main/training/engine/memory.js';
import { StepOutOfMemoryError } from '../../../main/training/engine/oom.js';
import { ReidLoss } from '../../../main/training/losses/index.js';
import { initBackend } from '../../../main/tfjs/index.js';
import { freshWeightStore } from '../../../main/weights/index.js';
import { tinyGraph } from './tiny.js';

const CLASSES = 1024;

function wideStem(h: number, w: number, filters: number): GraphDoc {
  const doc = tinyGraph(CLASSES, { h, w });
  return { ...doc, graph: { ...doc.graph, nodes: doc.graph.nodes.map((n) => (n.id === 'c1' ? { ...n, params: { ...n.params, filters } } : n)) } };
}

async function engineFor(doc: GraphDoc, p: number, k: number, choice: 'onnxruntime' | 'webgpu') {
  const backend = await initBackend('wasm');
  const analysis = analyze(doc.graph);
  const compiled = seedInitializers(compileToKeras(analysis), 3);
  const store = freshWeightStore(compiled);
  const settings = trainingSettingsSchema.parse({ batch: { p, k }, loss: { metric: 'triplet', labelSmooth: true }, optimizer: { name: 'sgd', baseLr: 0.01, weightDecay: 5e-4, momentum: 0.9 } });
  const featDim = analysis.layers.find((l) => l.name === analysis.outputs.trainFeature)!.shape[0]!;
  const loss = new ReidLoss(settings, CLASSES, featDim);
  const engine = await trainingEngine(
    { store, model: () => Promise.reject(new Error('the one-program engines build no tfjs model')), compiled, analysis, loss, optimizer: { name: 'sgd', weightDecay: 5e-4, momentum: 0.9 }, batch: p * k, pk: { p, k }, tfjsBackend: backend.backend, memory: deviceMemory(backend.backend) },
    choice,
  );
  return { engine, analysis, dispose: async () => (await engine.dispose(), loss.dispose()) };
}

const batchOf = (p: number, k: number, h: number, w: number) => ({
  images: new Float32Array(p * k * h * w * 3).fill(0.25),
  labels: Int32Array.from({ length: p * k }, (_, i) => Math.floor(i / k)),
});

async function stepError(run: () => Promise<unknown>): Promise<StepOutOfMemoryError> {
  const e = await run().then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(StepOutOfMemoryError);
  return e as StepOutOfMemoryError;
}

describe('out of memory on the one-program engines', () => {
  it('onnxruntime CPU: a real allocation failure is E_OUT_OF_MEMORY with the P×K a trial step fits, and that batch trains', async () => {
    // 1,024 stem filters at 256×128: the stem's output is 1024 × 128 × 64 floats = 32 MiB per image. P (a power
    // of two, K = 2) is the smallest whose stem output is larger than the machine's memory + 4 GiB: 512 (one
    // 32 GiB tensor) on a 23 GiB machine; a larger machine gets a larger batch, so the allocation fails anywhere.
    const [h, w] = [256, 128];
    const perImage = 1024 * 128 * 64 * 4;
    let P = 1;
    while (P * 2 * perImage <= totalmem() + 4 * 2 ** 30) P *= 2;
    const { engine, dispose } = await engineFor(wideStem(h, w, 1024), P, 2, 'onnxruntime');
    try {
      expect(engine.name).toBe('onnxruntime');
      const big = batchOf(P, 2, h, w);
      const e = await stepError(() => engine.step(big.images, big.labels, 0.01));
      expect(e.code).toBe('E_OUT_OF_MEMORY');
      expect(e.detail).toContain(`Failed to allocate memory for requested buffer of size ${P * 2 * perImage}`);
      expect(e.batch).toEqual({ p: P, k: 2 });
      expect(e.fits).not.toBeNull();
      expect(e.fits!.k).toBe(2);
      expect(e.fits!.p).toBeLessThan(P);
      expect(e.message).toContain(`--batch ${e.fits!.p},2`);
      // The batch it names trains (the weights were left as they were by the failed step and the trial).
      const fit = batchOf(e.fits!.p, 2, h, w);
      const r = await engine.step(fit.images, fit.labels, 0.01);
      expect(Number.isFinite(r.loss)).toBe(true);
    } finally {
      await dispose();
    }
  }, 600_000);

  it('webgpu: a batch over the adapter buffer limit is E_OUT_OF_MEMORY with the batch the limit allows', async () => {
    const status = await webgpuStatus();
    expect(status.available, status.message).toBe(true);
    const limits = status.adapter!.limits;
    // 512×256 input: 3 × 512 × 256 floats = 1.5 MiB per image, the largest tensor of this graph (the stem
    // has 4 filters at stride 2: 0.5 MiB). The limit allows ⌊limit / 1.5 MiB⌋ images.
    const [h, w] = [512, 256];
    const perImage = 3 * h * w * 4;
    const allowed = Math.floor(Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize) / perImage);
    const k = 2;
    const p = Math.floor(allowed / k) + 1;
    const { engine, dispose } = await engineFor(wideStem(h, w, 4), p, k, 'webgpu');
    try {
      expect(engine.name).toBe('webgpu');
      expect(engine.microBatchReason).toContain(`at most ${allowed} images per step`);
      const big = batchOf(p, k, h, w);
      const e = await stepError(() => engine.step(big.images, big.labels, 0.01));
      expect(e.code).toBe('E_OUT_OF_MEMORY');
      expect(e.fits).toEqual({ p: Math.floor(allowed / k), k });
      expect(e.message).toContain(`--batch ${Math.floor(allowed / k)},${k}`);
    } finally {
      await dispose();
    }
  }, 600_000);
});
