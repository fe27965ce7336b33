/**
 * The wasm training kernels (main/tfjs/wasm-kernels.ts) against the cpu backend's stock kernels on a grid
 * of shapes, kernel sizes, strides and paddings: conv gradients (dW, dX), the max-pool gradient and
 * transposed matMuls, to ~1e-5 relative; and no tensor or buffer leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../main/tfjs/index.js';

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 1e-12;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    if (!(e <= d)) d = e;
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

type Pad = 'valid' | 'same' | number;
interface ConvCase {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  s: number;
  pad: Pad;
}

const CONV_GRID: ConvCase[] = [];
for (const k of [1, 3, 7])
  for (const s of [1, 2])
    for (const pad of [...new Set(['valid', 'same', 0, (k - 1) / 2])] as Pad[])
      for (const [h, w] of [
        [9, 7],
        [12, 8],
      ] as const)
        CONV_GRID.push({ n: h === 9 ? 1 : 3, h, w, cin: 3 + (k % 3), cout: 4, k, s, pad });
// ResNet-like widths: stride-2 3×3 with explicit padding, 1×1 downsample, 7×7 stem.
CONV_GRID.push({ n: 2, h: 16, w: 8, cin: 32, cout: 48, k: 3, s: 2, pad: 1 });
CONV_GRID.push({ n: 2, h: 16, w: 8, cin: 32, cout: 64, k: 1, s: 2, pad: 0 });
CONV_GRID.push({ n: 2, h: 32, w: 16, cin: 3, cout: 16, k: 7, s: 2, pad: 3 });

async function convGrads(c: ConvCase, backend: 'cpu' | 'wasm') {
  await tf.setBackend(backend);
  const x = tf.tensor4d(rand(c.n * c.h * c.w * c.cin, 1), [c.n, c.h, c.w, c.cin]);
  const f = tf.tensor4d(rand(c.k * c.k * c.cin * c.cout, 2), [c.k, c.k, c.cin, c.cout]);
  const yShape = tf.conv2d(x, f, c.s, c.pad).shape;
  const r = tf.tensor(rand(yShape.reduce((a, b) => a * b, 1), 3), yShape);
  const before = tf.memory().numTensors;
  const dataIds = tf.backend().numDataIds();
  const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), r)))([x, f]);
  const out = { dx: await dx!.data(), df: await df!.data() };
  tf.dispose([dx!, df!]);
  const leaked = { tensors: tf.memory().numTensors - before, buffers: tf.backend().numDataIds() - dataIds };
  tf.dispose([x, f, r]);
  return { ...out, leaked };
}

describe('wasm conv gradient kernels vs the cpu backend', () => {
  beforeAll(async () => {
    await initBackend('wasm'); // registers the kernels
  });
  for (const c of CONV_GRID)
    it(`k${c.k} s${c.s} pad ${c.pad} x [${c.n},${c.h},${c.w},${c.cin}] → ${c.cout}`, async () => {
      const cpu = await convGrads(c, 'cpu');
      const wasm = await convGrads(c, 'wasm');
      expect(relErr(wasm.dx, cpu.dx)).toBeLessThan(1e-5);
      expect(relErr(wasm.df, cpu.df)).toBeLessThan(1e-5);
      expect(wasm.leaked).toEqual({ tensors: 0, buffers: 0 });
    });
});

/** PyTorch nn.MaxPool2d backward by definition: each window's gradient to its first maximum. */
function maxPoolGradRef(x: Float32Array, dy: Float32Array, [n, h, w, c]: number[], k: number, s: number, p: number, [oh, ow]: number[]): Float32Array {
  const dx = new Float32Array(x.length);
  for (let b = 0; b < n!; b++)
    for (let i = 0; i < oh!; i++)
      for (let j = 0; j < ow!; j++)
        for (let ch = 0; ch < c!; ch++) {
          let best = -Infinity;
          let arg = -1;
          for (let r = i * s - p; r < i * s - p + k; r++)
            for (let q = j * s - p; q < j * s - p + k; q++) {
              if (r < 0 || q < 0 || r >= h! || q >= w!) continue;
              const idx = ((b * h! + r) * w! + q) * c! + ch;
              if (x[idx]! > best) (best = x[idx]!), (arg = idx);
            }
          dx[arg] = dx[arg]! + dy[((b * oh! + i) * ow! + j) * c! + ch]!;
        }
  return dx;
}

describe('wasm max-pool gradient', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  for (const [h, w, k, s, p] of [
    [8, 6, 3, 2, 1],
    [9, 7, 3, 2, 1],
    [8, 8, 3, 1, 1],
    [10, 6, 2, 2, 0],
  ] as const)
    it(`${h}×${w}, kernel ${k}, stride ${s}, padding ${p} (negative inputs: padding acts as −∞)`, async () => {
      const shape = [2, h, w, 3];
      const x = rand(2 * h * w * 3, 7).map((v) => v - 1); // all negative: zero padding would win
      const xt = tf.tensor4d(x, shape as [number, number, number, number]);
      const y = tf.maxPool(xt, k, s, p);
      const dy = rand(y.size, 8);
      const before = tf.memory().numTensors;
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, k, s, p), tf.tensor(dy, y.shape))))(xt);
      const got = await g.data();
      g.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(relErr(got, maxPoolGradRef(x, dy, shape, k, s, p, y.shape.slice(1, 3)))).toBeLessThan(1e-6);
      tf.dispose([xt, y]);
    });
});

describe('wasm matMul with transposed operands', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const)
    it(`transposeA=${ta} transposeB=${tb}, batched and fused`, async () => {
      const run = async (backend: 'cpu' | 'wasm') => {
        await tf.setBackend(backend);
        const a = tf.tensor3d(rand(2 * 5 * 7, 11), ta ? [2, 7, 5] : [2, 5, 7]);
        const b = tf.tensor3d(rand(2 * 7 * 3, 12), tb ? [2, 3, 7] : [2, 7, 3]);
        const bias = tf.tensor1d(rand(3, 13));
        // Dense layers call the fused kernel with rank-2 operands (their gradients: transposed matMuls).
        const a2 = tf.tensor2d(rand(35, 14), ta ? [7, 5] : [5, 7]);
        const b2 = tf.tensor2d(rand(21, 15), tb ? [3, 7] : [7, 3]);
        const before = tf.memory().numTensors;
        const ids = tf.backend().numDataIds();
        const m = tf.matMul(a, b, ta, tb);
        const fm = tf.fused.matMul({ a: a2, b: b2, transposeA: ta, transposeB: tb, bias, activation: 'relu' });
        const out = [await m.data(), await fm.data()];
        tf.dispose([m, fm]);
        expect(tf.memory().numTensors).toBe(before);
        expect(tf.backend().numDataIds()).toBe(ids);
        tf.dispose([a, b, a2, b2, bias]);
        return out;
      };
      const cpu = await run('cpu');
      const wasm = await run('wasm');
      expect(relErr(wasm[0]!, cpu[0]!)).toBeLessThan(1e-6);
      expect(relErr(wasm[1]!, cpu[1]!)).toBeLessThan(1e-6);
    });
});
