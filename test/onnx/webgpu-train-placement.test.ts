/**
 * No operator of the TRAINING program (core/compile/step-program.ts: forward, loss, backward, optimizer)
 * falls back to the CPU on the webgpu engine for the zoo's block kinds: tiny re-ID graphs (test/training/
 * engine/tiny.ts) with a ResNet basic block, a bottleneck, IBN-a, IBN-b, an SE module, RSB's SE-ResNeXt bottleneck (32 groups), fast-reid's non-local
 * block, GeM-P pooling and fast-reid's ResNeSt bottleneck (strided with avd / average-down; dilated, cardinality 2), each trained with CE(ε) + batch-hard triplet + center loss and Adam (the most
 * operators a step emits), and the IBN-a graph with fast-reid's ArcSoftmax classification layer. The program runs once under onnxruntime's profiler (main/onnx/placement.ts):
 * every node is on WebGpuExecutionProvider. The loss it computes equals the CPU engine's program on the
 * same state (1e-5 relative), so the placement is of a program that computes the right thing. SwiftShader
 * here: tiny shapes.
 */
import '../webgpu-env.js';
import { describe, expect, it } from 'vitest';
import { analyze, compileToKeras, type StepClassifierSpec } from '../../core/index.js';
import { OnnxStepSession, type StepSessionOptions } from '../../main/onnx/step-session.js';
import { rng } from '../export/graphs.js';
import { seededWeights } from '../core/kind-cases.js';
import { tinyGraph, type TinyNode } from '../training/engine/tiny.js';

const K = 4;
const [H, W] = [16, 8];
const BLOCKS: [string, { block?: TinyNode; pool?: TinyNode; classifier?: StepClassifierSpec }][] = [
  ['ResNet basic block', { block: { kind: 'basic_block', params: { planes: 16, stride: 2, norm: 'bn' } } }],
  ['ResNet bottleneck', { block: { kind: 'bottleneck', params: { planes: 4, stride: 2, norm: 'bn' } } }],
  ['IBN-a basic block', {}],
  ['IBN-b bottleneck', { block: { kind: 'bottleneck', params: { planes: 4, stride: 1, norm: 'bn', ibn_b: true } } }],
  ['SE module', { block: { kind: 'se_module', params: { reduction: 4 } } }],
  // RSB's SEResNeXtBottleneck: SE-ResNeXt's 32 groups (its grouped conv's weight gradient splits into 32 parts).
  ['SE-ResNeXt bottleneck (32 groups)', { block: { kind: 'se_bottleneck', params: { type: 'se_resnext', planes: 16, stride: 2, groups: 32, reduction: 16, base_width: 4 } } }],
  ['non-local block', { block: { kind: 'non_local', params: {} } }],
  ['GeM-P pooling', { pool: { kind: 'gem_pool', params: { learnable: true } } }],
  // fast-reid's ResNeSt: split attention (grouped conv, rSoftMax), avd and average-down AvgPool2d (ceil_mode) …
  ['ResNeSt bottleneck', { block: { kind: 'resnest_bottleneck', params: { planes: 4, stride: 2, radix: 2, avd: true, avd_first: false, avg_down: true } } }],
  // … and layer4's dilated grouped convolution (LAST_STRIDE 1), cardinality 2, avd first.
  ['ResNeSt dilated bottleneck', { block: { kind: 'resnest_bottleneck', params: { planes: 4, stride: 1, radix: 2, cardinality: 2, avd: true, avd_first: true, avg_down: false, dilation: 2, is_first: true } } }],
  // fast-reid's margin classification layer in the loss (Acos, Cos and, in the backward pass, Sin).
  ['ArcSoftmax classifier', { classifier: { layer: 'ArcSoftmax', scale: 16, margin: 0.3 } }],
];

describe('webgpu engine: every node of the training program on the GPU', () => {
  it.each(BLOCKS)('%s: all nodes on WebGpuExecutionProvider, the loss equals the CPU program\'s', async (_name, { classifier, ...opts }) => {
    const compiled = compileToKeras(analyze(tinyGraph(K, { h: H, w: W, ...opts }).graph));
    const values = seededWeights(compiled.layers, 3);
    const labels = Int32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
    const x = Float32Array.from({ length: labels.length * H * W * 3 }, rng(11).n);
    const featDim = compiled.layers.find((l) => l.name === compiled.metadata.roles.trainFeature)!.shape.at(-1)!;
    const opt: Omit<StepSessionOptions, 'ep'> = {
      batch: labels.length,
      threads: 1,
      loss: { numClasses: K, ...(classifier ? { classifier } : {}), ceEpsilon: 0.1, ceWeight: 1, triplet: { margin: 0.3, soft: false, hardMining: true, normFeat: false, weight: 1 }, centerWeight: 5e-4 },
      optimizer: { name: 'adam', weightDecay: 5e-4 },
      centerLr: 0.5,
      centers: Float32Array.from({ length: K * featDim }, rng(12).n),
    };
    const placed: Record<string, Awaited<ReturnType<OnnxStepSession['placement']>>> = {};
    for (const ep of ['webgpu', 'cpu'] as const) {
      const s = await OnnxStepSession.create(compiled, values, { ...opt, ep });
      try {
        placed[ep] = await s.placement(x, labels, 1e-3);
      } finally {
        await s.release();
      }
    }
    const gpu = placed.webgpu!;
    expect(gpu.nodes.length).toBeGreaterThan(100);
    expect(gpu.fallback, gpu.nodes.filter((n) => n.provider !== 'WebGpuExecutionProvider').map((n) => `${n.op} ${n.name}`).join('\n')).toEqual({});
    const total = Object.keys(gpu.outputs!).find((k) => k === 'step.total')!;
    const [a, b] = [gpu.outputs![total]![0]!, placed.cpu!.outputs![total]![0]!];
    // WGSL's cos / acos are not correctly rounded: cos has an absolute error bound of 2⁻¹¹ on [−π, π] (WGSL spec,
    // "Floating point accuracy"), so ArcSoftmax's logits s·cos(θ + m) may differ by s·2⁻¹¹ and CE (2-Lipschitz in
    // the max-norm of a row's logits) by twice that. Measured on SwiftShader: 1.3e-4 of 1.8 (s = 16).
    const tol = classifier?.layer === 'ArcSoftmax' ? 2 * classifier.scale * 2 ** -11 : 1e-5 * Math.abs(b);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);
  }, 600_000);
});
