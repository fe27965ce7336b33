import { CheckpointError } from './errors.js';

/** Bytes per element of each dtype the readers accept. */
export const ELEMENT_SIZE: Record<string, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const HALF_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = halfToFloat(i);
  return t;
})();

/**
 * Reads `count` elements at element positions `index(i)` of a little-endian storage into float32.
 * int64 values are converted through Number (exact up to 2^53, then rounded to float32 like every
 * other value: checkpoints only hold small int64 counters such as num_batches_tracked).
 */
export function gather(bytes: Uint8Array, dtype: string, positions: Int32Array | null, count: number, base: number): Float32Array {
  const size = ELEMENT_SIZE[dtype];
  if (size === undefined) throw new CheckpointError(`unsupported tensor dtype ${dtype}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const limit = Math.floor(bytes.byteLength / size);
  const at = (i: number) => {
    const p = base + (positions ? positions[i]! : i);
    if (p < 0 || p >= limit) throw new CheckpointError('malformed checkpoint: a tensor reaches outside its storage');
    return p * size;
  };
  // Fast path: contiguous, aligned float32 is a plain copy.
  if (dtype === 'float32' && !positions) {
    if (count && (base < 0 || base + count > limit)) throw new CheckpointError('malformed checkpoint: a tensor reaches outside its storage');
    const start = bytes.byteOffset + base * 4;
    if (start % 4 === 0) out.set(new Float32Array(bytes.buffer, start, count));
    else for (let i = 0; i < count; i++) out[i] = dv.getFloat32((base + i) * 4, true);
    return out;
  }
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(at(i), true);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(at(i), true);
      break;
    case 'float16':
      for (let i = 0; i < count; i++) out[i] = HALF_TABLE[dv.getUint16(at(i), true)]!;
      break;
    case 'bfloat16':
      {
        // bfloat16 is the upper half of a float32.
        const u = new Uint32Array(out.buffer);
        for (let i = 0; i < count; i++) u[i] = dv.getUint16(at(i), true) << 16;
      }
      break;
    case 'int64':
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(at(i), true));
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(at(i), true);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(at(i), true);
      break;
    case 'int8':
      for (let i = 0; i < count; i++) out[i] = dv.getInt8(at(i));
      break;
    case 'uint8':
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = dv.getUint8(at(i));
      break;
  }
  return out;
}

/** Element positions (relative to the storage offset) of a strided view in row-major order; null when contiguous. */
export function stridedPositions(size: number[], stride: number[]): Int32Array | null {
  const n = size.reduce((a, b) => a * b, 1);
  let expect = 1;
  let contiguous = true;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d]! !== 1 && stride[d]! !== expect) contiguous = false;
    expect *= size[d]!;
  }
  if (contiguous || n === 0) return null;
  const pos = new Int32Array(n);
  const idx = new Array<number>(size.length).fill(0);
  let p = 0;
  for (let i = 0; i < n; i++) {
    pos[i] = p;
    for (let d = size.length - 1; d >= 0; d--) {
      idx[d]!++;
      p += stride[d]!;
      if (idx[d]! < size[d]!) break;
      p -= stride[d]! * size[d]!;
      idx[d] = 0;
    }
  }
  return pos;
}
