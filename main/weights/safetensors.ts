import { ELEMENT_SIZE, gather } from './dtype.js';
import { CheckpointError } from './errors.js';
import { LIMITS } from './limits.js';
import type { CheckpointTensor } from './checkpoint.js';

/** safetensors dtype names (huggingface/safetensors `Dtype`) → ours. */
const SAFE_DTYPES: Record<string, string> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

const fail = (msg: string, code?: 'E_UNSUPPORTED_CHECKPOINT' | 'E_CHECKPOINT_TOO_LARGE'): never => {
  throw new CheckpointError(msg, code);
};
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/**
 * safetensors: u64 little-endian header length, a JSON header `{name: {dtype, shape, data_offsets},
 * __metadata__?}`, then the byte buffer (huggingface/safetensors, safetensors/src/tensor.rs). Checked before
 * anything is copied, as the reference crate's `validate` does: the header is at most 100 MB and a JSON
 * object; shapes are lists of non-negative integers; `data_offsets` are non-negative integers
 * [begin, end] inside the buffer with end − begin = elements × dtype size. Throws CheckpointError.
 */
export function readSafetensors(buf: Buffer): Map<string, CheckpointTensor> {
  if (buf.length < 8) fail('truncated safetensors file: no header length');
  const declared = buf.readBigUInt64LE(0);
  if (declared > BigInt(LIMITS.safetensorsHeader)) fail(`damaged safetensors file: a header of ${declared} bytes (the format allows ${LIMITS.safetensorsHeader})`);
  const n = Number(declared);
  if (8 + n > buf.length) fail('truncated safetensors file: the header is longer than the file');
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + n));
  } catch {
    return fail('damaged safetensors file: the header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail('damaged safetensors file: the header is not a JSON object');
  const base = 8 + n;
  const dataLength = buf.length - base;
  const tensors = new Map<string, CheckpointTensor>();
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const name = k.slice(0, 200);
    if (typeof v !== 'object' || v === null) fail(`damaged safetensors file: tensor ${name} is not described by an object`);
    const info = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof info.dtype === 'string' ? SAFE_DTYPES[info.dtype] : undefined;
    if (!dtype) fail(`safetensors tensor ${name}: unsupported dtype ${typeof info.dtype === 'string' ? info.dtype.slice(0, 20) : typeof info.dtype}`, 'E_UNSUPPORTED_CHECKPOINT');
    const shape = info.shape;
    const offsets = info.data_offsets;
    if (!Array.isArray(shape) || !Array.isArray(offsets)) return fail(`damaged safetensors file: tensor ${name} has no shape or offsets`);
    if (shape.length > LIMITS.tensorDims || !shape.every(isCount)) fail(`damaged safetensors file: the shape of ${name} is not a list of non-negative integers`);
    if (offsets.length !== 2 || !offsets.every(isCount)) fail(`damaged safetensors file: the data_offsets of ${name} are not two non-negative integers`);
    const [b, e] = offsets as [number, number];
    if (b > e) fail(`damaged safetensors file: the data_offsets of ${name} end before they begin ([${b}, ${e}])`);
    if (e > dataLength) fail(`truncated safetensors file: tensor ${name} lies past the end of the file`);
    let count = 1;
    for (const d of shape as number[]) {
      count *= d;
      if (count > LIMITS.tensorElements) fail(`safetensors tensor ${name} has more than ${LIMITS.tensorElements} elements: too large`, 'E_CHECKPOINT_TOO_LARGE');
    }
    if (e - b !== count * ELEMENT_SIZE[dtype!]!) fail(`damaged safetensors file: tensor ${name} has ${e - b} bytes for shape [${(shape as number[]).join(', ')}] of ${info.dtype as string}`);
    // Read on first access: listing a file (keys, dtypes, shapes) copies no tensor.
    let data: Float32Array | undefined;
    tensors.set(k, {
      dtype: dtype!,
      shape: [...(shape as number[])],
      get data(): Float32Array {
        return (data ??= gather(buf.subarray(base + b, base + e), dtype!, null, count, 0));
      },
    });
  }
  return tensors;
}
