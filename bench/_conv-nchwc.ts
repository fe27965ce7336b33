/**
 * Micro-benchmark of onnxruntime's NCHWc convolution with the filter as a graph value (issue 20): per resnet50
 * forward Conv shape at 256×128, batch 16, on the CPU EP, CPU-milliseconds per run of
 *   plain   Conv(X, W) in NCHW (im2col + SGEMM: what the training graph runs today);
 *   nchwc   ReorderInput(X) → com.microsoft.nchwc Conv(X_b, W_b) → ReorderOutput, W_b = W reordered by
 *           Reshape + Transpose in the graph (OIHWBiBo, or OIHWBo when C_in < block);
 *   blocked com.microsoft.nchwc Conv alone on an already blocked X (the bound if activations stayed blocked);
 *   kernel  the NCHWc Conv alone on an already blocked X and W (the filter reorder's cost = blocked − kernel);
 * and the largest difference of nchwc's Y from plain's. W is a graph input in every form, as in training.
 *   node --import tsx bench/_conv-nchwc.ts [threads] [iters]
 */
import type * as Ort from 'onnxruntime-node';
import { Emitter } from '../core/compile/grad/index.js';
import { int } from '../core/compile/grad/emitter.js';
import type { OnnxAttribute, OnnxModelJs, OnnxNode } from '../core/index.js';
import { loadOnnxRuntime, ortSessionOptions } from '../main/onnx/runtime.js';
import { serializeOnnx } from '../main/onnx/serialize.js';
import { cpuSeconds, resnet50Convs } from './_resnet50-convs.js';

/** onnxruntime's blocked-layout domain (contrib_ops/cpu/nchwc_ops.cc): CPU EP only. */
const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/**
 * A Conv filter W [C_out, C_in, kh, kw] reordered in the graph into the blocked layout onnxruntime's
 * `com.microsoft.nchwc` Conv reads (MLAS `MlasReorderFilterOIHWBiBo` / `MlasReorderFilterOIHWBo`,
 * onnxruntime/core/mlas/lib/reorder.cpp), for block size `block` (MlasNchwcGetBlockSize(): 16 with AVX-512,
 * 8 with AVX2; main/onnx/nchwc.ts measures it): C_out zero-padded to a multiple of the block, then
 * - C_in ≥ block (OIHWBiBo): C_in zero-padded to a multiple of the block, [O/B, Bo, I/B, Bi, kh, kw] →
 *   [O/B, I/B, kh, kw, Bi, Bo];
 * - C_in < block (OIHWBo, the NCHW-input form, e.g. the stem's 3 channels): [O/B, Bo, I, kh, kw] → [O/B, I, kh, kw, Bo];
 * given back as a 4-D tensor [C_out′, C_in′, kh, kw] (the shape the kernel validates against X).
 * Plain Pad / Reshape / Transpose: W may be a graph value (a training step's weight input).
 */
function nchwcFilter(e: Emitter, w: string, ws: number[], block: number): string {
  const [co, ci, kh, kw] = ws as [number, number, number, number];
  const up = (c: number) => Math.ceil(c / block) * block;
  const [o, i] = [up(co), ci < block ? ci : up(ci)];
  const padded = o === co && i === ci ? w : e.one('Pad', [w, e.i64([0, 0, 0, 0, o - co, i - ci, 0, 0])]);
  if (ci < block) return e.reshape(e.transpose(e.reshape(padded, [o / block, block, i, kh, kw]), [0, 2, 3, 4, 1]), [o, i, kh, kw]);
  return e.reshape(e.transpose(e.reshape(padded, [o / block, block, i / block, block, kh, kw]), [0, 2, 4, 5, 3, 1]), [o, i, kh, kw]);
}

/** Whether `nchwcConv` can run a group-1 Conv with C_in input channels at this block size. */
const nchwcApplies = (ci: number, block: number): boolean => block >= 8 && (ci < block || ci % 4 === 0);

/**
 * Y = Conv(X, W) (group 1, `attrs` = the Conv's kernel_shape / strides / pads / dilations) through
 * onnxruntime's NCHWc kernels with the filter reordered in the graph (`nchwcFilter`): ReorderInput(X)
 * (skipped when C_in < block: the kernel reads NCHW), com.microsoft.nchwc Conv, ReorderOutput(channels =
 * C_out) back to NCHW. The same sums as Conv in another order: equal within float32 rounding. onnxruntime's
 * NCHWc graph transformer (core/optimizer/nchwc_transformer.cc) does this only for constant filters, so a
 * training graph, whose filters are inputs, never gets it on its own. `x` [N, C_in, H, W], `w` [C_out, C_in, kh, kw].
 */
function nchwcConv(e: Emitter, x: string, w: string, xs: number[], ws: number[], attrs: OnnxAttribute[], block: number, hint = ''): string {
  const ci = xs[1]!;
  const blocked = ci < block ? x : e.one('ReorderInput', [x]);
  if (blocked !== x) e.nodes.at(-1)!.domain = NCHWC_DOMAIN;
  const y = e.one('Conv', [blocked, nchwcFilter(e, w, ws, block)], attrs, hint);
  e.nodes.at(-1)!.domain = NCHWC_DOMAIN;
  const out = e.one('ReorderOutput', [y], [int('channels', ws[0]!)]);
  e.nodes.at(-1)!.domain = NCHWC_DOMAIN;
  return out;
}

/**
 * The NCHWc block size of the onnxruntime CPU EP in this process (MLAS `MlasNchwcGetBlockSize()`: 16 with
 * AVX-512, 8 with AVX2/AVX; 1 where MLAS has no NCHWc kernels), measured rather than assumed: a one-node
 * session runs com.microsoft.nchwc ReorderInput on 4 channels, which rounds the channel count up to the
 * block (onnxruntime/contrib_ops/cpu/nchwc_ops.cc). 0 when the kernels are absent, refused, or the block is
 * below 8 (then the training program keeps plain Conv).
 */
const cache = new WeakMap<object, Promise<number>>();

function nchwcBlockSize(ort: typeof Ort): Promise<number> {
  let p = cache.get(ort);
  if (!p) {
    p = (async () => {
      try {
        const model = serializeOnnx({
          irVersion: 8,
          opset: 17,
          producerName: 'reid-studio',
          producerVersion: '0',
          metadata: {},
          graph: {
            name: 'nchwc-probe',
            nodes: [{ name: 'r', opType: 'ReorderInput', domain: 'com.microsoft.nchwc', inputs: ['x'], outputs: ['y'], attributes: [] }],
            initializers: [],
            inputs: [{ name: 'x', shape: [1, 4, 1, 1] }],
            outputs: [{ name: 'y', shape: [1, 'c', 1, 1] }],
          },
        });
        const s = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
        try {
          const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
          const b = out.y!.dims[1]!;
          return b >= 8 && (b & (b - 1)) === 0 ? b : 0;
        } finally {
          await s.release();
        }
      } catch {
        return 0;
      }
    })();
    cache.set(ort, p);
  }
  return p;
}

const threads = Number(process.argv[2] ?? 1);
const iters = Number(process.argv[3] ?? 3);
const N = 16;

const ort = (await loadOnnxRuntime()).ort!;
const block = await nchwcBlockSize(ort);
console.log(`NCHWc block size ${block}`);
const totals = new Map<string, number>();
for (const { ci, co, k, s, p, h, w, count, ho, wo } of resnet50Convs()) {
  const attrs = [{ name: 'kernel_shape', type: 'ints' as const, value: [k, k] }, { name: 'strides', type: 'ints' as const, value: [s, s] }, { name: 'pads', type: 'ints' as const, value: [p, p, p, p] }];
  const forms: Record<string, (e: Emitter) => string> = {
    plain: (e) => e.one('Conv', ['x', 'w'], attrs),
    nchwc: (e) => nchwcConv(e, 'x', 'w', [N, ci, h, w], [co, ci, k, k], attrs, block),
    blocked: (e) => {
      const wb = nchwcFilter(e, 'w', [co, ci, k, k], block);
      const y = e.one('Conv', ['x', wb], attrs);
      e.nodes.at(-1)!.domain = 'com.microsoft.nchwc';
      return y;
    },
    kernel: (e) => {
      const y = e.one('Conv', ['x', 'w'], attrs);
      e.nodes.at(-1)!.domain = 'com.microsoft.nchwc';
      return y;
    },
  };
  const x = new ort.Tensor('float32', Float32Array.from({ length: N * ci * h * w }, () => Math.random() - 0.5), [N, ci, h, w]);
  const wt = new ort.Tensor('float32', Float32Array.from({ length: co * ci * k * k }, () => (Math.random() - 0.5) * 0.1), [co, ci, k, k]);
  let ref: Float32Array | undefined;
  const row: string[] = [];
  for (const [name, f] of Object.entries(forms)) {
    const e = new Emitter('g.');
    const out = f(e);
    e.nodes.push({ name: 'out', opType: 'Identity', inputs: [out], outputs: ['y'], attributes: [] } as OnnxNode);
    const model: OnnxModelJs = { irVersion: 8, opset: 17, producerName: 'bench', producerVersion: '0', metadata: {}, graph: { name: 'y', nodes: e.nodes, initializers: e.inits, inputs: [{ name: 'x', shape: [N, ci, h, w] }, { name: 'w', shape: [co, ci, k, k] }], outputs: [{ name: 'y', shape: [N, co, ho, wo] }] } };
    let sess: Ort.InferenceSession;
    try {
      sess = await ort.InferenceSession.create(serializeOnnx(model), ortSessionOptions('cpu', { threads, allowSpinning: false }));
    } catch (err) {
      row.push(`${name} refused: ${String(err).split('\n')[0]}`);
      continue;
    }
    let r = await sess.run({ x, w: wt });
    const t0 = cpuSeconds();
    for (let i = 0; i < iters; i++) r = await sess.run({ x, w: wt });
    const dt = (cpuSeconds() - t0) / iters;
    const d = r.y!.data as Float32Array;
    let err = 0;
    if (!ref) ref = Float32Array.from(d);
    else if (name === 'nchwc') for (let i = 0; i < d.length; i++) err = Math.max(err, Math.abs(d[i]! - ref[i]!));
    totals.set(name, (totals.get(name) ?? 0) + dt * count);
    row.push(`${name} ${(dt * 1000).toFixed(1)}ms${name === 'nchwc' ? ` (max|Δ| ${err.toExponential(1)})` : ''}`);
    await sess.release();
  }
  console.log(`${ci}→${co} k${k} s${s} p${p} ${h}×${w} ×${count}: ${row.join(' | ')}`);
}
console.log(`threads ${threads}; resnet50 forward Conv CPU-s per step:`, Object.fromEntries([...totals].map(([k, v]) => [k, +v.toFixed(3)])));
