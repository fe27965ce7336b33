/**
 * The WebGPU engine's smoke test: a small convolution's forward AND backward, written as ONNX graphs of
 * the operators the training graphs use, run on the WebGPU execution provider and on the CPU execution
 * provider, compared within 1e-4 · max|CPU| (the eval parity bound). A GPU whose driver miscompiles a
 * shader, or a Dawn adapter that cannot run compute, fails here before it is chosen (the same idea as the
 * tfjs native backends' smoke test in main/tfjs/backend.ts).
 *
 * The graph (PyTorch's nn.Conv2d(3, 4, 3, stride=2, padding=1) and its autograd formulas):
 *   y  = Conv(x, w, strides 2, pads 1)                                   x [2, 3, 8, 8], w [4, 3, 3, 3] → y [2, 4, 4, 4]
 *   dx = ConvTranspose(dy, w, strides 2, pads 1, output_padding 1)      dy [2, 4, 4, 4] → dx [2, 3, 8, 8]
 *   dw = Transpose(Conv(Transpose(x), Transpose(dy), dilations 2, pads [1, 1, 0, 0]))  → dw [4, 3, 3, 3]
 * (dw[o,i,kh,kw] = Σ_n,oy,ox dy[n,o,oy,ox] · x[n,i,2·oy+kh−1,2·ox+kw−1]: a convolution over the batch with
 * the output gradient as a kernel dilated by the stride — how onnxruntime-training's ConvGrad and
 * core/compile/onnx-grad.ts express it.) Inputs are graph inputs, so nothing is constant-folded away.
 */
import type * as Ort from 'onnxruntime-node';
import type { OnnxModelJs } from '../../core/index.js';
import { serializeOnnx } from './serialize.js';
import { firstLine } from './webgpu-errors.js';

const X = [2, 3, 8, 8];
const W = [4, 3, 3, 3];
const DY = [2, 4, 4, 4];

function smokeModel(): OnnxModelJs {
  const ints = (name: string, value: number[]) => ({ name, type: 'ints' as const, value });
  return {
    irVersion: 8,
    opset: 17,
    producerName: 'reid-studio',
    producerVersion: 'smoke',
    metadata: {},
    graph: {
      name: 'webgpu_smoke',
      inputs: [
        { name: 'x', shape: X },
        { name: 'w', shape: W },
        { name: 'dy', shape: DY },
      ],
      outputs: [
        { name: 'y', shape: DY },
        { name: 'dx', shape: X },
        { name: 'dw', shape: W },
      ],
      initializers: [],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attributes: [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])] },
        { name: 'conv_dx', opType: 'ConvTranspose', inputs: ['dy', 'w'], outputs: ['dx'], attributes: [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1]), ints('output_padding', [1, 1])] },
        { name: 'x_t', opType: 'Transpose', inputs: ['x'], outputs: ['x_t'], attributes: [ints('perm', [1, 0, 2, 3])] },
        { name: 'dy_t', opType: 'Transpose', inputs: ['dy'], outputs: ['dy_t'], attributes: [ints('perm', [1, 0, 2, 3])] },
        { name: 'conv_dw', opType: 'Conv', inputs: ['x_t', 'dy_t'], outputs: ['dw_t'], attributes: [ints('kernel_shape', [4, 4]), ints('dilations', [2, 2]), ints('pads', [1, 1, 0, 0])] },
        { name: 'dw', opType: 'Transpose', inputs: ['dw_t'], outputs: ['dw'], attributes: [ints('perm', [1, 0, 2, 3])] },
      ],
    },
  };
}

/** Deterministic values in [−1, 1) (a fixed LCG: the test is the same on every machine). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export interface SmokeTestResult {
  passed: boolean;
  /** Largest |webgpu − cpu| / max|cpu| over y, dx and dw (absent when the session failed). */
  relativeDiff?: number;
  /** What failed, in one line. */
  message?: string;
  /** Wall time of the WebGPU run, ms (shader compilation included). */
  ms?: number;
}

/** The bound: the eval-feature parity bound of the test suites (1e-4 · max|ref|). */
export const SMOKE_TOLERANCE = 1e-4;

/**
 * Runs the smoke graph on `ep` sessions made with `options` and on the CPU engine; compares. Never throws:
 * a session that cannot be created or run is a failed test with the runtime's first line.
 */
export async function runSmokeTest(ort: typeof Ort, options: (ep: 'cpu' | 'webgpu') => Ort.InferenceSession.SessionOptions): Promise<SmokeTestResult> {
  const bytes = serializeOnnx(smokeModel());
  const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
  const feeds = () => ({
    x: new ort.Tensor('float32', values(size(X), 1), X),
    w: new ort.Tensor('float32', values(size(W), 2), W),
    dy: new ort.Tensor('float32', values(size(DY), 3), DY),
  });
  const run = async (ep: 'cpu' | 'webgpu') => {
    const session = await ort.InferenceSession.create(bytes, options(ep));
    try {
      const out = await session.run(feeds());
      return Object.fromEntries(['y', 'dx', 'dw'].map((k) => [k, Float32Array.from(out[k]!.data as Float32Array)]));
    } finally {
      await session.release();
    }
  };
  let ref: Record<string, Float32Array>;
  let got: Record<string, Float32Array>;
  try {
    ref = await run('cpu');
  } catch (e) {
    return { passed: false, message: `the CPU reference failed: ${firstLine(e)}` };
  }
  const t1 = performance.now();
  try {
    got = await run('webgpu');
  } catch (e) {
    return { passed: false, message: `a WebGPU session failed: ${firstLine(e)}` };
  }
  const ms = Math.round(performance.now() - t1);
  let worst = 0;
  let worstName = 'y';
  for (const k of ['y', 'dx', 'dw']) {
    const a = got[k]!;
    const b = ref[k]!;
    let diff = 0;
    let max = 0;
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      if (!(d <= diff)) diff = d; // NaN propagates as a failure
      max = Math.max(max, Math.abs(b[i]!));
    }
    const rel = diff / (max || 1);
    if (!(rel <= worst)) {
      worst = rel;
      worstName = k;
    }
  }
  const what: Record<string, string> = { y: 'forward', dx: 'input gradient', dw: 'weight gradient' };
  if (!(worst <= SMOKE_TOLERANCE))
    return { passed: false, relativeDiff: worst, ms, message: `a 3×3 convolution's ${what[worstName]} on WebGPU differs from the CPU engine's by ${worst.toExponential(2)} · max|cpu| (limit ${SMOKE_TOLERANCE})` };
  return { passed: true, relativeDiff: worst, ms };
}
