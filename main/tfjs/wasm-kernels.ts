/**
 * Training kernels for the WebAssembly backend (platform-notes.md, measured on this machine):
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel and a naive Conv2DBackpropInput (~4 GFLOP/s
 * against ~25–43 for its XNNPACK forward conv), and its transposed matMul is 10–30× slower than a
 * plain one. The replacements below are built from the backend's own fast ops:
 *  - dW, 1×1 unpadded: explicit transpose + matMul (strided input subsampled first);
 *  - dW, k×k: a forward conv over the transposed padded input (channels as batch) with the transposed
 *    output gradient as filter and dilation = stride;
 *  - dX: zero insertion for stride > 1, padding, then a forward conv with the spatially flipped,
 *    in/out-swapped filter (flipped in JS on the heap: wasm Reverse/Gather are slow); 1×1 unpadded is
 *    a plain matMul;
 *  - BatchMatMul / _FusedMatMul with transposeA/B: transpose explicitly, then the plain kernel.
 * Inputs arrive as TensorInfos owned by the caller: they are wrapped after `backend.incRef` so that
 * disposing the wrappers does not free the caller's buffers; the result's data is handed over the
 * same way. They are tested against the cpu backend's stock kernels (test/tfjs/wasm-kernels.test.ts).
 */
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;
interface Backend {
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  readSync(dataId: object): ArrayLike<number>;
}
type Attrs = Record<string, unknown>;

const engine = () => tf.engine();

/** Wraps a kernel input as a Tensor without taking its buffer away from the caller. */
function wrap(backend: Backend, info: Info): tf.Tensor {
  backend.incRef(info.dataId);
  return engine().makeTensorFromTensorInfo(info, backend as unknown as tf.KernelBackend);
}

/** Hands a computed tensor's buffer to the engine as the kernel output. */
function release(backend: Backend, t: tf.Tensor): Info {
  const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  backend.incRef(t.dataId);
  t.dispose();
  return info;
}

function convInfo(xShape: number[], filterShape: number[], attrs: Attrs) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    false,
    tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC') ?? 'NHWC'),
  );
}

function checkNHWC(attrs: Attrs, kernel: string): void {
  const f = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (f !== 'NHWC' && f !== 'channelsLast') throw new Error(`${kernel} (wasm, ReID Studio): only NHWC is supported, got ${f}`);
}

/** Pads (non-negative) or crops (negative) the spatial dims of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = y.shape;
    const t0 = Math.max(0, -top);
    const l0 = Math.max(0, -left);
    y = tf.slice(y, [0, t0, l0, 0], [n, h - t0 - Math.max(0, -bottom), w - l0 - Math.max(0, -right), c]);
  }
  const pt = Math.max(0, top);
  const pb = Math.max(0, bottom);
  const pl = Math.max(0, left);
  const pr = Math.max(0, right);
  if (pt || pb || pl || pr) y = tf.pad(y, [[0, 0], [pt, pb], [pl, pr], [0, 0]]);
  return y;
}

/** [N, H, W, C] → [N, (H−1)·sh + 1 + extraH, …]: inserts sh−1 zero rows (sw−1 columns) between elements. */
function zeroInsert(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape;
  const six = tf.reshape(x, [n, h, 1, w, 1, c]);
  const padded = tf.pad(six, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.reshape(padded, [n, h * sh, w * sw, c]);
}

/** Sub-samples an NHWC tensor at stride (sh, sw) starting at 0, keeping `oh`×`ow` positions. */
function subsample(x: tf.Tensor4D, sh: number, sw: number, oh: number, ow: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x.shape[1] === oh && x.shape[2] === ow ? x : tf.slice(x, [0, 0, 0, 0], [x.shape[0], oh, ow, x.shape[3]]);
  const [n, h, w, c] = x.shape;
  // Pad up to a multiple of the stride, view as [n, oh', sh, ow', sw, c] and take index 0 of each stride.
  const hh = Math.ceil(h / sh) * sh;
  const ww = Math.ceil(w / sw) * sw;
  const xp = hh !== h || ww !== w ? tf.pad(x, [[0, 0], [0, hh - h], [0, ww - w], [0, 0]]) : x;
  const six = tf.reshape(xp, [n, hh / sh, sh, ww / sw, sw, c]);
  const picked = tf.slice(six, [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, c]);
  return tf.reshape(picked, [n, oh, ow, c]);
}

/** dW = Σ x_patch ⊗ dy, see the file comment. */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, attrs);
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw, cin, cout] = filterShape;
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const [n, oh, ow] = dy.shape;
    if (kh === 1 && kw === 1 && !top && !left && !bottom && !right) {
      const xs = subsample(x, sh, sw, oh, ow);
      const x2 = tf.transpose(tf.reshape(xs, [n * oh * ow, cin]));
      const d2 = tf.reshape(dy, [n * oh * ow, cout]);
      return tf.reshape(tf.matMul(x2, d2), filterShape);
    }
    const xp = padOrCrop(x, top, bottom, left, right);
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [cin, Hp, Wp, n]
    const ft = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, cout]
    const r = tf.conv2d(xt, ft, 1, 'valid', 'NHWC', [sh, sw]); // [cin, ≥kh, ≥kw, cout]
    const rk = r.shape[1] === kh && r.shape[2] === kw ? r : tf.slice(r, [0, 0, 0, 0], [cin, kh, kw, cout]);
    return tf.transpose(rk, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** The filter flipped in H and W with in/out channels swapped: [kh, kw, cin, cout] → [kh, kw, cout, cin]. */
function flipSwap(data: ArrayLike<number>, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(kh! * kw! * cin! * cout!);
  for (let i = 0; i < kh!; i++)
    for (let j = 0; j < kw!; j++) {
      const src = (i * kw! + j) * cin! * cout!;
      const dst = ((kh! - 1 - i) * kw! + (kw! - 1 - j)) * cout! * cin!;
      for (let a = 0; a < cin!; a++) for (let b = 0; b < cout!; b++) out[dst + b * cin! + a] = data[src + a * cout! + b]!;
    }
  return out;
}

/** dX: transposed convolution expressed as a forward conv, see the file comment. */
export function conv2dInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, filterData: ArrayLike<number>, inputShape: [number, number, number, number], attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, attrs);
    const { top, left, bottom, right } = info.padInfo;
    const [kh, kw, cin, cout] = filter.shape;
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const [n, h, w] = inputShape;
    const [, oh, ow] = dy.shape;
    if (kh === 1 && kw === 1 && !top && !left && !bottom && !right) {
      const wt = tf.tensor2d(flipSwap(filterData, filter.shape), [cout, cin]);
      const g = tf.reshape(tf.matMul(tf.reshape(dy, [n * oh * ow, cout]), wt), [n, oh, ow, cin]) as tf.Tensor4D;
      const up = zeroInsert(g, sh, sw);
      return padOrCrop(up, 0, h - up.shape[1], 0, w - up.shape[2]);
    }
    const up = zeroInsert(dy, sh, sw);
    const pt = kh - 1 - top;
    const pl = kw - 1 - left;
    const padded = padOrCrop(up, pt, h + kh - 1 - pt - up.shape[1], pl, w + kw - 1 - pl - up.shape[2]);
    const wf = tf.tensor4d(flipSwap(filterData, filter.shape), [kh, kw, cout, cin]);
    return tf.conv2d(padded, wf, 1, 'valid');
  });
}

function conv2DBackpropFilter({ inputs, backend, attrs }: { inputs: Record<string, Info>; backend: unknown; attrs?: Attrs }): Info {
  const b = backend as Backend;
  checkNHWC(attrs!, 'Conv2DBackpropFilter');
  const x = wrap(b, inputs.x!) as tf.Tensor4D;
  const dy = wrap(b, inputs.dy!) as tf.Tensor4D;
  try {
    return release(b, conv2dFilterGrad(x, dy, attrs!.filterShape as [number, number, number, number], attrs!));
  } finally {
    x.dispose();
    dy.dispose();
  }
}

function conv2DBackpropInput({ inputs, backend, attrs }: { inputs: Record<string, Info>; backend: unknown; attrs?: Attrs }): Info {
  const b = backend as Backend;
  checkNHWC(attrs!, 'Conv2DBackpropInput');
  const dy = wrap(b, inputs.dy!) as tf.Tensor4D;
  const filter = wrap(b, inputs.filter!) as tf.Tensor4D;
  try {
    const data = b.readSync(inputs.filter!.dataId);
    return release(b, conv2dInputGrad(dy, filter, data, attrs!.inputShape as [number, number, number, number], attrs!));
  } finally {
    dy.dispose();
    filter.dispose();
  }
}

/**
 * Max-pool gradient with PyTorch's semantics: each output's gradient goes to the *first* maximum of its
 * window in row-major order (nn.MaxPool2d CPU kernel: `val > maxval`); padded positions never win.
 * The stock wasm MaxPoolGrad routes some gradients differently from both PyTorch and the cpu backend
 * when the window is padded (measured in test/tfjs/wasm-kernels.test.ts), which broke the stem's
 * weight update. Done in JS on the heap: one pass over the windows, N·OH·OW·C·k² comparisons.
 */
export function maxPoolGradJs(x: ArrayLike<number>, dy: ArrayLike<number>, xShape: number[], dyShape: number[], k: [number, number], s: [number, number], padTop: number, padLeft: number): Float32Array {
  const [n, h, w, c] = xShape as [number, number, number, number];
  const [, oh, ow] = dyShape as [number, number, number, number];
  const dx = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++) {
      const r0 = i * s[0] - padTop;
      const rs = Math.max(0, r0);
      const re = Math.min(h, r0 + k[0]);
      for (let j = 0; j < ow; j++) {
        const q0 = j * s[1] - padLeft;
        const qs = Math.max(0, q0);
        const qe = Math.min(w, q0 + k[1]);
        const dyBase = ((b * oh + i) * ow + j) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let arg = -1;
          for (let r = rs; r < re; r++)
            for (let q = qs; q < qe; q++) {
              const idx = ((b * h + r) * w + q) * c + ch;
              const v = x[idx]!;
              if (v > best || arg < 0) {
                best = v;
                arg = idx;
              }
            }
          if (arg >= 0) dx[arg] = dx[arg]! + dy[dyBase + ch]!;
        }
      }
    }
  return dx;
}

function maxPoolGrad({ inputs, backend, attrs }: { inputs: Record<string, Info>; backend: unknown; attrs?: Attrs }): Info {
  const b = backend as Backend;
  const x = inputs.input!;
  const dy = inputs.dy!;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs!.filterSize as [number, number],
    attrs!.strides as [number, number],
    1,
    attrs!.pad as 'same',
    attrs!.dimRoundingMode as 'floor' | undefined,
  );
  const dx = maxPoolGradJs(b.readSync(x.dataId), b.readSync(dy.dataId), x.shape, dy.shape, [info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], info.padInfo.top, info.padInfo.left);
  return release(b, tf.tensor4d(dx, x.shape as [number, number, number, number]));
}

/** Wraps a matMul kernel so that transposed operands are transposed explicitly first. */
function untransposed(original: tf.KernelFunc, transposeKernel: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as { inputs: Record<string, Info>; backend: Backend; attrs: Attrs };
    if (!attrs.transposeA && !attrs.transposeB) return original(args);
    const owned: Info[] = [];
    const t = (x: Info): Info => {
      const perm = x.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
      const out = transposeKernel({ inputs: { x }, backend: backend as unknown as tf.KernelBackend, attrs: { perm } }) as Info;
      owned.push(out);
      return out;
    };
    try {
      const a = attrs.transposeA ? t(inputs.a!) : inputs.a!;
      const bb = attrs.transposeB ? t(inputs.b!) : inputs.b!;
      return original({ ...args, inputs: { ...inputs, a, b: bb }, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const o of owned) backend.disposeData(o.dataId);
    }
  };
}

let registered = false;

/** Registers the replacement kernels for the wasm backend (idempotent). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const replace = (kernelName: string, kernelFunc: tf.KernelFunc) => {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  };
  replace('Conv2DBackpropFilter', conv2DBackpropFilter as unknown as tf.KernelFunc);
  replace('Conv2DBackpropInput', conv2DBackpropInput as unknown as tf.KernelFunc);
  replace('MaxPoolGrad', maxPoolGrad as unknown as tf.KernelFunc);
  const transpose = tf.getKernel('Transpose', 'wasm');
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const k = tf.getKernel(name, 'wasm');
    if (k && transpose) replace(name, untransposed(k.kernelFunc, transpose.kernelFunc));
  }
  registered = true;
}
