/**
 * No operator of the zoo's EVAL graphs falls back to the CPU on the webgpu engine: each block kind's ONNX
 * lowering (the registry's own test cases, test/core/kind-cases.ts — ResNet stem / bottleneck / basic block,
 * IBN-a, IBN-b, SE and SE-ResNeXt's grouped convolutions, fast-reid's non-local block, ResNeSt's split
 * attention, average pools and dilated grouped convolution, GeM-P, BNNeck, the
 * classifier) runs on onnxruntime's WebGPU EP under its profiler, which names each node's provider
 * (main/onnx/placement.ts): every node is on WebGpuExecutionProvider, and the features equal the CPU
 * engine's within 1e-4 · max|ref|. SwiftShader here: tiny shapes.
 */
import '../webgpu-env.js';
import { describe, expect, it } from 'vitest';
import { lowerToOnnx } from '../../core/index.js';
import { nodePlacement } from '../../main/onnx/placement.js';
import { serializeOnnx } from '../../main/onnx/serialize.js';
import { rng } from '../export/graphs.js';
import { maxDiff } from '../parity/fixtures.js';
import { BATCH, CASES, caseModel, seededWeights } from '../core/kind-cases.js';

/** The cases that together hold every operator the eval lowering emits for the zoo (index into CASES[kind]). */
const PICKS: [string, number][] = [
  ['stem', 0], // Conv 7×7/2, BatchNorm, Relu, MaxPool 3×3/2 (−∞ padding)
  ['stem', 2], // InstanceNormalization (IBN-b stem)
  ['bottleneck', 1], // IBN-a: Split → InstanceNormalization ‖ BatchNormalization → Concat; downsample; Add
  ['bottleneck', 3], // IBN-b: InstanceNormalization after the residual Add
  ['max_pool', 1], // ceil_mode
  ['non_local', 0], // fast-reid Non_local: Reshape, Transpose, MatMul, Div
  ['se_module', 0], // SE: GlobalAveragePool, 1×1 Conv, Sigmoid, Mul
  ['se_bottleneck', 1], // SE-ResNeXt: grouped convolutions
  ['gem_pool', 0], // GeM: Max(x, eps), Pow(p), GlobalAveragePool, Flatten, Pow(1/p)
  ['gem_pool', 1], // GeM-P: the learnable p, Reciprocal
  ['neck', 0], // BNNeck on the pooled feature (BatchNormalization on a vector)
  ['linear', 0], // Gemm
  ['resnest_bottleneck', 0], // ResNeSt: split attention (Reshape, ReduceSum, Softmax, Transpose, Mul), AveragePool (avd, avg-down ceil_mode)
  ['resnest_bottleneck', 1], // dilated grouped convolution, cardinality 2, avd first
];

describe('webgpu engine: every node of the zoo\'s eval operators on the GPU', () => {
  it.each(PICKS)('%s case %i: all nodes on WebGpuExecutionProvider, features equal the CPU engine\'s', async (kind, i) => {
    const c = CASES[kind]![i]!;
    const { compiled, inputShape } = caseModel(kind, c.params, c.inputs, false, true);
    const [h, w, ch] = inputShape;
    const model = serializeOnnx(lowerToOnnx(compiled, seededWeights(compiled.layers, 7 + i), { preprocessing: { inputSize: [h, w], mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bilinear' } }));
    const x = Float32Array.from({ length: BATCH * ch * h * w }, rng(100 + i).n);
    const feeds = (ort: typeof import('onnxruntime-node')) => ({ input: new ort.Tensor('float32', x, [BATCH, ch, h, w]) });
    const gpu = await nodePlacement(model, 'webgpu', feeds, { threads: 1 });
    const cpu = await nodePlacement(model, 'cpu', feeds, { threads: 1 });
    expect(gpu.nodes.length).toBeGreaterThan(0);
    expect(gpu.fallback).toEqual({});
    expect(Object.keys(gpu.byProvider)).toEqual(['WebGpuExecutionProvider']);
    const { diff, ref } = maxDiff(gpu.outputs!.feat!, cpu.outputs!.feat!);
    expect(ref).toBeGreaterThan(0.01);
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);
  }, 300_000);
});
