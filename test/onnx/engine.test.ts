/**
 * The onnxruntime feature engine of `eval` / `embed` (main/onnx/engine.ts): onnxruntime-node runs the
 * lowered graph with all cores and its features equal the tfjs path's within 1e-4 · max|ref|; `auto`
 * picks it when installed, a tfjs backend name forces tfjs, and the CLI says which engine ran.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, compileToKeras } from '../../core/index.js';
import { featureEngine, parseEngineChoice } from '../../main/onnx/engine.js';
import { onnxRuntimeStatus } from '../../main/onnx/runtime.js';
import { buildFromCompiled, disposeModel, extractFeatures, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { randomInput, randomWeights } from '../export/graphs.js';
import { maxDiff } from '../parity/fixtures.js';

const CLI = 'bin/reid-studio.js';
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 240_000 });

beforeAll(async () => {
  await initBackend('wasm');
});

describe('onnxruntime feature engine', () => {
  it('onnxruntime-node is installed here and uses every core', async () => {
    const s = await onnxRuntimeStatus();
    expect(s).toMatchObject({ available: true, package: 'onnxruntime-node', threads: availableParallelism() });
    expect(s.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('auto picks onnxruntime; its features equal the tfjs wasm backend\'s (resnet50_ibn_a, BNNeck after, batches of 2 over 5 images)', async () => {
    const compiled = compileToKeras(analyze(buildPreset('resnet50_ibn_a', { input: [64, 32], numClasses: 5 }).graph));
    const reid = await buildFromCompiled(compiled);
    try {
      setWeightsFromValues(reid, compiled.layers, randomWeights(compiled.layers, 11));
      const engine = await featureEngine(reid, compiled, 'auto', 'wasm');
      try {
        expect(engine.name).toBe('onnxruntime');
        expect(engine.threads).toBe(availableParallelism());
        const x = randomInput(5, 64, 32, 3, 12);
        const got = await engine.extract(x, 5, 2);
        const want = await extractFeatures(reid, x, 5, 5);
        expect(got.dim).toBe(2048);
        const { diff, ref } = maxDiff(got.features, want.features);
        expect(ref).toBeGreaterThan(0.01);
        expect(diff).toBeLessThanOrEqual(1e-4 * ref);
      } finally {
        await engine.dispose();
      }
      const forced = await featureEngine(reid, compiled, 'wasm', 'wasm');
      expect(forced).toMatchObject({ name: 'wasm', reason: 'forced with --backend wasm' });
    } finally {
      disposeModel(reid);
    }
  }, 240_000);

  it('--backend accepts onnxruntime and lists it among the choices', () => {
    expect(parseEngineChoice('onnxruntime')).toBe('onnxruntime');
    expect(parseEngineChoice(undefined)).toBe('auto');
    expect(parseEngineChoice('wasm')).toBe('wasm');
    expect(() => parseEngineChoice('gpu')).toThrow(/unknown backend "gpu" \(choose one of auto, webgpu, onnxruntime, tensorflow-gpu/);
  });
});

describe('the CLI shows the engine', () => {
  it('eval on the tiny demo set: onnxruntime by default, the same retrieval metrics as --backend wasm', () => {
    const args = ['eval', '--preset', 'resnet18', '--input', '64x32', '--demo', '--demo-size', 'tiny', '--json'];
    const a = cli(...args);
    expect(a.status, a.stderr).toBe(0);
    const ortEval = JSON.parse(a.stdout);
    expect(ortEval).toMatchObject({ backend: 'onnxruntime', engine: { name: 'onnxruntime', threads: availableParallelism() } });
    const b = cli(...args, '--backend', 'wasm');
    expect(b.status, b.stderr).toBe(0);
    const wasmEval = JSON.parse(b.stdout);
    expect(wasmEval.backend).toBe('wasm');
    expect(ortEval.numQuery).toBe(wasmEval.numQuery);
    // Feature parity is asserted above (1e-4 · max|ref|); an untrained model's gallery distances have near
    // ties that a 1e-5 difference can reorder, so the metrics agree closely, not bit for bit: at most one
    // query's ranking may change (each query weighs 1 / numValidQuery in mAP and rank-1).
    for (const k of ['mAP', 'rank1']) expect(Math.abs(ortEval[k] - wasmEval[k])).toBeLessThanOrEqual(1 / wasmEval.numValidQuery + 1e-9);
  }, 300_000);

  it('backend lists onnxruntime with its thread count and what runs on it (training first)', () => {
    const r = cli('backend', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.onnxruntime).toMatchObject({ available: true, threads: availableParallelism(), executionProvider: 'cpu', uses: ['train', 'eval', 'embed', 'train-eval'] });
    // Fields the README documents are kept; the device is added (the wasm backend computes on the CPU).
    expect(j).toMatchObject({ backend: expect.any(String), reason: expect.any(String), attempts: expect.any(Array), notes: expect.any(Array), gpu: expect.any(Object), device: 'cpu' });
    expect(j.gpuFallback).toBeUndefined();
    const text = cli('backend').stdout;
    expect(text).toMatch(new RegExp(`onnxruntime: available \\(onnxruntime-node [\\d.]+, CPU, ${availableParallelism()} threads\\): intra-op threads = the ${availableParallelism()} cores; runs training \\(the whole P×K batch, forward \\+ backward graphs\\), eval, embed, a training run's evaluations\n`));
    // REID_STUDIO_ORT_THREADS sets every onnxruntime session's threads; a value that is no count is ignored, with a note.
    const one = spawnSync(process.execPath, [CLI, 'backend', '--json'], { encoding: 'utf8', env: { ...process.env, REID_STUDIO_ORT_THREADS: '1' } });
    expect(JSON.parse(one.stdout).onnxruntime.threads).toBe(1);
    const bad = spawnSync(process.execPath, [CLI, 'backend', '--json'], { encoding: 'utf8', env: { ...process.env, REID_STUDIO_ORT_THREADS: 'abc' } });
    expect(JSON.parse(bad.stdout).onnxruntime.threads).toBe(availableParallelism());
    expect(bad.stderr).toMatch(/REID_STUDIO_ORT_THREADS="abc" is not a whole number/);
  }, 120_000);
});
