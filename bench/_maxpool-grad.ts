/**
 * Micro-benchmark of MaxPool's gradient rule (core/compile/grad/ops/maxpool.ts) at resnet50's stem pool
 * (3×3, stride 2, pad 1) on [16, 64, 128, 64] (256×128 input, batch 16): CPU-milliseconds of one run of the
 * MaxPool forward and its gradient on onnxruntime CPU, and a checksum of dX (inputs are seeded, so two
 * versions of the rule can be compared: equal checksums = the same dX).
 *   node --import tsx bench/_maxpool-grad.ts [threads] [iters]
 */
import { Emitter } from '../core/compile/grad/index.js';
import { MaxPool } from '../core/compile/grad/ops/maxpool.js';
import { loadOnnxRuntime, ortSessionOptions } from '../main/onnx/runtime.js';
import { serializeOnnx } from '../main/onnx/serialize.js';
const threads = Number(process.argv[2] ?? 1);
const it = Number(process.argv[3] ?? 8);
let seed = 1;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
const ort = (await loadOnnxRuntime()).ort!;
const [N, C, H, W] = [16, 64, 128, 64];
const node = { name: 'mp', opType: 'MaxPool', inputs: ['x'], outputs: ['y'], attributes: [{ name: 'kernel_shape', type: 'ints' as const, value: [3, 3] }, { name: 'strides', type: 'ints' as const, value: [2, 2] }, { name: 'pads', type: 'ints' as const, value: [1, 1, 1, 1] }] };
const shapes = new Map([['x', [N, C, H, W]], ['y', [N, C, 64, 32]]]);
const e = new Emitter('g.');
const dx = MaxPool.grad!(node, () => 'dy', () => true, e, shapes, new Map())[0]!;
e.nodes.unshift(node);
e.nodes.push({ name: 'o', opType: 'Identity', inputs: [dx], outputs: ['dx'], attributes: [] });
const model = { irVersion: 8, opset: 17, producerName: 'b', producerVersion: '0', metadata: {}, graph: { name: 'g', nodes: e.nodes, initializers: e.inits, inputs: [{ name: 'x', shape: [N, C, H, W] }, { name: 'dy', shape: [N, C, 64, 32] }], outputs: [{ name: 'dx', shape: [N, C, H, W] }] } };
const s = await ort.InferenceSession.create(serializeOnnx(model as never), ortSessionOptions('cpu', { threads, allowSpinning: false }));
const x = new ort.Tensor('float32', Float32Array.from({ length: N * C * H * W }, () => Math.max(0, rand() - 0.5)), [N, C, H, W]);
const dy = new ort.Tensor('float32', Float32Array.from({ length: N * C * 64 * 32 }, () => rand()), [N, C, 64, 32]);
let r = await s.run({ x, dy });
const c0 = process.cpuUsage();
for (let i = 0; i < it; i++) r = await s.run({ x, dy });
const c = process.cpuUsage(c0);
const d = r.dx!.data as Float32Array;
let sum = 0;
for (let i = 0; i < d.length; i++) sum += d[i]! * ((i % 7) + 1);
console.log(`maxpool fwd+grad ${((c.user + c.system) / 1e3 / it).toFixed(1)} CPU-ms per run, checksum ${sum.toFixed(3)}`);
