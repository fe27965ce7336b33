/**
 * Micro-benchmark of the convolution weight-gradient forms (issue 20) on resnet50's layer shapes at 256×128,
 * batch 16: each form is one small ONNX graph (inputs X [N, C_in, H, W] and dY [N, C_out, Ho, Wo], output
 * dW [C_out, C_in, k, k]) run on onnxruntime CPU: the im2col GEMMs, the per-image MatMul, the Conv over the
 * batch (core/compile/grad/ops/conv.ts `weightGradDirect`; a form that does not apply to a shape falls back to
 * im2col) and the rule's own choice. Reports CPU-milliseconds per run, the largest difference from the im2col
 * form's dW, and resnet50's total per step for each.
 *   node --import tsx bench/_conv-dw.ts [threads] [iters]
 */
import { cpus } from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { Emitter } from '../core/compile/grad/index.js';
import { Conv, CONV_DW_FORMS } from '../core/compile/grad/ops/conv.js';
import type { OnnxModelJs } from '../core/index.js';
import { loadOnnxRuntime, ortSessionOptions } from '../main/onnx/runtime.js';
import { serializeOnnx } from '../main/onnx/serialize.js';
import { cpuSeconds, resnet50Convs } from './_resnet50-convs.js';

const threads = Number(process.argv[2] ?? 1);
const iters = Number(process.argv[3] ?? 3);
const N = 16;

const ort = (await loadOnnxRuntime()).ort!;
const totals = new Map<string, number>();
for (const { ci, co, k, s, p, h, w, count, ho, wo } of resnet50Convs()) {
  const node = { name: 'conv', opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attributes: [{ name: 'kernel_shape', type: 'ints' as const, value: [k, k] }, { name: 'strides', type: 'ints' as const, value: [s, s] }, { name: 'pads', type: 'ints' as const, value: [p, p, p, p] }] };
  const shapes = new Map([['x', [N, ci, h, w]], ['w', [co, ci, k, k]], ['y', [N, co, ho, wo]], ['dy', [N, co, ho, wo]]]);
  const rule = (e: Emitter) => Conv.grad!(node, () => 'dy', (i) => i === 1, e, shapes, new Map())[1]!;
  const forced = (cfg: typeof CONV_DW_FORMS) => (e: Emitter) => {
    const chosen = { ...CONV_DW_FORMS };
    Object.assign(CONV_DW_FORMS, cfg);
    try {
      return rule(e);
    } finally {
      Object.assign(CONV_DW_FORMS, chosen);
    }
  };
  const forms: Record<string, (e: Emitter) => string> = {
    im2col: forced({ matmulMinPositions: Infinity, convMaxChannels: 0 }),
    matmul: forced({ matmulMinPositions: 0, convMaxChannels: 0 }),
    conv: forced({ matmulMinPositions: Infinity, convMaxChannels: Infinity }),
    rule,
  };
  const x = new ort.Tensor('float32', Float32Array.from({ length: N * ci * h * w }, () => Math.random() - 0.5), [N, ci, h, w]);
  const dy = new ort.Tensor('float32', Float32Array.from({ length: N * co * ho * wo }, () => Math.random() - 0.5), [N, co, ho, wo]);
  let ref: Float32Array | undefined;
  const row: string[] = [];
  for (const [name, f] of Object.entries(forms)) {
    const e = new Emitter('g.');
    const out = f(e);
    e.nodes.push({ name: 'out', opType: 'Identity', inputs: [out], outputs: ['dw'], attributes: [] });
    const model: OnnxModelJs = { irVersion: 8, opset: 17, producerName: 'bench', producerVersion: '0', metadata: {}, graph: { name: 'dw', nodes: e.nodes, initializers: e.inits, inputs: [{ name: 'x', shape: [N, ci, h, w] }, { name: 'dy', shape: [N, co, ho, wo] }], outputs: [{ name: 'dw', shape: [co, ci, k, k] }] } };
    const sess = await ort.InferenceSession.create(serializeOnnx(model), ortSessionOptions('cpu', { threads, allowSpinning: false }));
    let r = await sess.run({ x, dy });
    const t0 = cpuSeconds();
    for (let i = 0; i < iters; i++) r = await sess.run({ x, dy });
    const dt = (cpuSeconds() - t0) / iters;
    const d = r.dw!.data as Float32Array;
    let err = 0;
    if (!ref) ref = Float32Array.from(d);
    else for (let i = 0; i < d.length; i++) err = Math.max(err, Math.abs(d[i]! - ref[i]!));
    totals.set(name, (totals.get(name) ?? 0) + dt * count);
    row.push(`${name} ${(dt * 1000).toFixed(1)}ms${err ? ` (err ${err.toExponential(1)})` : ''}`);
    await sess.release();
  }
  console.log(`${ci}→${co} k${k} s${s} p${p} ${h}×${w} ×${count}: ${row.join(' | ')}`);
}
console.log(`threads ${threads} (${cpus().length} cores); resnet50 total dW CPU-s per step:`, Object.fromEntries([...totals].map(([k, v]) => [k, +v.toFixed(3)])));
