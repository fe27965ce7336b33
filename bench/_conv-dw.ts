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

const threads = Number(process.argv[2] ?? 1);
const iters = Number(process.argv[3] ?? 3);
const N = 16;
// [C_in, C_out, k, stride, pad, H, W, count in resnet50 (last stride 1)]
const SHAPES: [number, number, number, number, number, number, number, number][] = [
  [3, 64, 7, 2, 3, 256, 128, 1],
  [64, 64, 1, 1, 0, 64, 32, 1],
  [256, 64, 1, 1, 0, 64, 32, 2],
  [64, 64, 3, 1, 1, 64, 32, 3],
  [64, 256, 1, 1, 0, 64, 32, 4],
  [256, 128, 1, 1, 0, 64, 32, 1],
  [128, 128, 3, 2, 1, 64, 32, 1],
  [256, 512, 1, 2, 0, 64, 32, 1],
  [512, 128, 1, 1, 0, 32, 16, 3],
  [128, 128, 3, 1, 1, 32, 16, 3],
  [128, 512, 1, 1, 0, 32, 16, 4],
  [512, 256, 1, 1, 0, 32, 16, 1],
  [256, 256, 3, 2, 1, 32, 16, 1],
  [512, 1024, 1, 2, 0, 32, 16, 1],
  [1024, 256, 1, 1, 0, 16, 8, 5],
  [256, 256, 3, 1, 1, 16, 8, 5],
  [256, 1024, 1, 1, 0, 16, 8, 6],
  [1024, 512, 1, 1, 0, 16, 8, 1],
  [512, 512, 3, 1, 1, 16, 8, 3],
  [512, 2048, 1, 1, 0, 16, 8, 3],
  [1024, 2048, 1, 1, 0, 16, 8, 1],
  [2048, 512, 1, 1, 0, 16, 8, 2],
];

const ort = (await loadOnnxRuntime()).ort!;
const cpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const totals = new Map<string, number>();
for (const [ci, co, k, s, p, h, w, count] of SHAPES) {
  const ho = Math.floor((h + 2 * p - k) / s) + 1;
  const wo = Math.floor((w + 2 * p - k) / s) + 1;
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
    const t0 = cpuS();
    for (let i = 0; i < iters; i++) r = await sess.run({ x, dy });
    const dt = (cpuS() - t0) / iters;
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
