import { readRegularFile, writeFileAtomic } from '../io/files.js';
import { ELEMENT_SIZE, gather, stridedPositions } from './dtype.js';
import { CheckpointError, type CheckpointErrorCode } from './errors.js';
import { isTensorRef, pickleStateDict, PyDict, PyGlobal, PyObject, PyTuple, STORAGE_DTYPES, unpickle, type StorageRef, type TensorRef } from './pickle.js';
import { LIMITS } from './limits.js';
import { isPickledModule, moduleStateDict } from './modules.js';
import { readSafetensors } from './safetensors.js';
import { buildZip, readZipDirectory, zipEntryCheck, zipEntryData } from './zip.js';

export interface CheckpointTensor {
  /** dtype in the file (float32, float16, float64, bfloat16, int64, …); `data` is always float32. */
  dtype: string;
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  /** 'pytorch-zip' (torch.save ≥ 1.6), 'pytorch-legacy' (older torch.save), or 'safetensors'. */
  format: string;
  /**
   * The state dict in file order, keys exactly as stored (a `module.` prefix is kept: planLoad strips it
   * and reports the rename). int64 tensors (num_batches_tracked) are kept, converted to float32.
   */
  tensors: Map<string, CheckpointTensor>;
  /** Where the state dict was found inside the file: '' (top level), 'state_dict', 'model', … */
  wrapper?: string;
  /**
   * Set when the file is a pickled whole model (`torch.save(model)`): its class, e.g. `__main__.Baseline`.
   * `tensors` then holds the model's parameters and persistent buffers under their state_dict names.
   */
  model?: string;
}

const fail = (msg: string, code?: CheckpointErrorCode): never => {
  throw new CheckpointError(msg, code);
};

/**
 * Picks the state dict out of the unpickled object (unwrap ['state_dict'] / ['model'] as RSB's and
 * fast-reid's loaders do); a pickled whole model (torch.save(model)) is flattened into its state dict.
 */
function findStateDict(root: unknown): { dict: Map<string, TensorRef>; wrapper: string; model?: string } {
  const tensorsOf = (d: PyDict) => {
    const m = new Map<string, TensorRef>();
    for (const [k, v] of d.map) if (typeof k === 'string' && isTensorRef(v)) m.set(k, v);
    return m;
  };
  const fromModule = (m: PyObject, wrapper: string) => {
    const dict = moduleStateDict(m);
    if (!dict.size) fail(`the file holds a pickled ${m.cls} object with no parameters or buffers`);
    return { dict, wrapper, model: m.cls };
  };
  if (isPickledModule(root)) return fromModule(root, '');
  if (root instanceof PyObject) fail(`the checkpoint holds a pickled ${root.cls} object, not a model or a state_dict (a dict of tensors)`);
  if (!(root instanceof PyDict)) fail(`the checkpoint holds ${describe(root)}, not a state_dict (a dict of tensors)`);
  const d = root as PyDict;
  const direct = tensorsOf(d);
  // A wrapper entry wins over stray top-level tensors (e.g. {'state_dict': …, 'center_param': tensor}).
  for (const w of ['state_dict', 'model', 'model_state_dict', 'net', 'network', 'params', 'module']) {
    const v = d.map.get(w);
    if (isPickledModule(v) && !direct.size) return fromModule(v, w);
    if (v instanceof PyDict) {
      const inner = tensorsOf(v);
      if (inner.size > direct.size) return { dict: inner, wrapper: w };
    }
  }
  if (direct.size) return { dict: direct, wrapper: '' };
  const keys = [...d.map.keys()].filter((k): k is string => typeof k === 'string');
  return fail(`no tensors found in the checkpoint (top-level keys: ${keys.slice(0, 8).map((k) => k.slice(0, 40)).join(', ') || 'none'}${keys.length > 8 ? ', …' : ''})`);
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PyTuple) return 'a tuple';
  if (v instanceof PyGlobal) return `a reference to ${v.full}`;
  if (isTensorRef(v)) return 'a single tensor';
  return `a ${typeof v}`;
}

/** A non-negative safe integer read from the pickle (sizes, strides, offsets, element counts). */
function count(v: unknown, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) fail(`malformed checkpoint: ${what} is not a non-negative integer`);
  return n as number;
}

function storagePid(pid: unknown, legacy: boolean): StorageRef {
  const items = pid instanceof PyTuple ? pid.items : Array.isArray(pid) ? pid : fail('malformed checkpoint: bad persistent id');
  if (items[0] !== 'storage') fail(`unsupported persistent object in the checkpoint (${describe(items[0])})`);
  const cls = items[1];
  const dtype = cls instanceof PyGlobal ? STORAGE_DTYPES[cls.name] : undefined;
  if (!dtype) fail(`unsupported storage type ${cls instanceof PyGlobal ? cls.full : describe(cls)}`, 'E_UNSUPPORTED_CHECKPOINT');
  if (typeof items[2] !== 'string' && typeof items[2] !== 'number') fail('malformed checkpoint: a storage has no key');
  const key = String(items[2]);
  const numel = count(items[4], 'a storage size');
  let viewOffset = 0;
  if (legacy && items[5] instanceof PyTuple) viewOffset = count(items[5].items[1], 'a storage view offset');
  return { dtype: dtype!, key, numel, viewOffset };
}

/** Elements of a tensor of this shape (1 for a scalar). */
export const numelOf = (shape: readonly number[]): number => shape.reduce((a, d) => a * d, 1);

/** True when a view with these sizes / strides reads consecutive elements (row-major, size-1 dims ignored). */
function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i] === 1) continue;
    if (stride[i] !== expected) return false;
    expected *= size[i]!;
  }
  return true;
}

/** Where a storage's bytes come from: its element count (known without reading it) and a reader. */
interface StorageSource {
  /** Elements the storage holds (declared size in the zip directory / legacy header). */
  elements(s: StorageRef): number;
  /** The storage's raw little-endian bytes (inflated / sliced on the first call only). */
  bytes(s: StorageRef): Uint8Array;
}

/**
 * Checks every view against its storage, then returns tensors whose `data` is read lazily on first access:
 * - sizes and strides are non-negative integers, the last element lies inside the storage, and a view
 *   holding more elements than its storage (stride 0, torch's `expand`) stays under LIMITS.expandedElements;
 * - views of one storage share it as PyTorch does (`torch.load` of 5,000 views of one 4 MB storage takes
 *   4 MB): each storage is converted to float32 once, a contiguous view is a `subarray` of it (no copy);
 *   only non-contiguous views are copied;
 * - the memory all tensors would take together (each storage once + each copied view) is checked against
 *   LIMITS.materializedElements before anything is read, so a file that would not fit is refused at once
 *   (E_CHECKPOINT_TOO_LARGE) — and listing a file (keys, dtypes, shapes) never reads a storage.
 */
function materialize(dict: Map<string, TensorRef>, source: StorageSource): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  let expanded = 0;
  let budget = 0;
  const storages = new Map<string, number>();
  const floats = new Map<string, Float32Array>();
  const storageFloats = (s: StorageRef): Float32Array => {
    let f = floats.get(s.key);
    if (!f) {
      const bytes = source.bytes(s);
      f = gather(bytes, s.dtype, null, Math.floor(bytes.byteLength / (ELEMENT_SIZE[s.dtype] ?? 1)), 0);
      floats.set(s.key, f);
    }
    return f;
  };
  for (const [k, t] of dict) {
    const name = k.slice(0, 200);
    if (t.size.length !== t.stride.length) fail(`malformed checkpoint: ${name} has ${t.size.length} sizes but ${t.stride.length} strides`);
    if (t.size.length > LIMITS.tensorDims) fail(`malformed checkpoint: ${name} has ${t.size.length} dimensions`);
    const size = t.size.map((d) => count(d, `a size of ${name}`));
    const stride = t.stride.map((d) => count(d, `a stride of ${name}`));
    const offset = t.storage.viewOffset + count(t.offset, `the storage offset of ${name}`);
    let n = 1;
    for (const d of size) {
      n *= d;
      if (n > LIMITS.tensorElements) fail(`${name} has more than ${LIMITS.tensorElements} elements: too large`, 'E_CHECKPOINT_TOO_LARGE');
    }
    const elements = source.elements(t.storage);
    if (n > 0) {
      // Check the view's extent against the storage before allocating anything for it.
      const last = size.reduce((a, d, i) => a + (d - 1) * stride[i]!, offset);
      if (!Number.isSafeInteger(last) || last >= elements) fail(`malformed checkpoint: ${name} reaches outside its storage`);
    }
    if (n > elements) {
      expanded += n - elements;
      if (n - elements > LIMITS.expandedElements || expanded > LIMITS.expandedElementsTotal)
        fail(`malformed checkpoint: ${name} is a view of ${n} elements over a storage of ${elements} (stride 0): refusing to expand it`, 'E_CHECKPOINT_TOO_LARGE');
    }
    if (!storages.has(t.storage.key)) {
      storages.set(t.storage.key, elements);
      budget += elements;
    }
    const shared = n === 0 || isContiguous(size, stride);
    if (!shared) budget += n;
    if (budget > LIMITS.materializedElements)
      fail(`the checkpoint's tensors take more than ${LIMITS.materializedElements * 4 / 2 ** 30} GiB as float32 (at ${name}): too large`, 'E_CHECKPOINT_TOO_LARGE');
    const storage = t.storage;
    let data: Float32Array | undefined;
    out.set(k, {
      dtype: storage.dtype,
      shape: size,
      get data(): Float32Array {
        if (!data) {
          const f = storageFloats(storage);
          data = shared ? f.subarray(offset, offset + n) : gather(new Uint8Array(f.buffer, f.byteOffset, f.byteLength), 'float32', stridedPositions(size, stride), n, offset);
        }
        return data;
      },
    });
  }
  return out;
}

function readTorchZip(buf: Buffer): Checkpoint {
  const entries = readZipDirectory(buf);
  const pkl = entries.find((e) => e.name.endsWith('/data.pkl') || e.name === 'data.pkl');
  if (!pkl) fail('a zip file without data.pkl: not a PyTorch checkpoint');
  const prefix = pkl!.name.slice(0, pkl!.name.length - 'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const budget = { inflated: 0 };
  const bo = byName.get(`${prefix}byteorder`);
  if (bo && zipEntryData(buf, bo, budget).toString('latin1').trim() === 'big') fail('big-endian checkpoints are not supported: re-save it on a little-endian machine', 'E_UNSUPPORTED_CHECKPOINT');
  const { value } = unpickle(zipEntryData(buf, pkl!, budget), 0, (pid) => storagePid(pid, false));
  const { dict, wrapper, model } = findStateDict(value);
  const entryOf = (s: StorageRef) => {
    const e = byName.get(`${prefix}data/${s.key}`);
    if (!e) fail(`truncated checkpoint: storage data/${s.key} is missing from the zip`);
    zipEntryCheck(buf, e!); // headers, sizes and ratio now; the inflating waits for the first read
    if (e!.size < s.numel * (ELEMENT_SIZE[s.dtype] ?? 1)) fail(`truncated checkpoint: storage data/${s.key} is shorter than its ${s.numel} elements`);
    return e!;
  };
  const tensors = materialize(dict, {
    // The zip directory's declared size: zipEntryData checks the inflated bytes against it.
    elements: (s) => Math.floor(entryOf(s).size / (ELEMENT_SIZE[s.dtype] ?? 1)),
    bytes: (s) => zipEntryData(buf, entryOf(s), budget),
  });
  return { format: 'pytorch-zip', tensors, wrapper, ...(model ? { model } : {}) };
}

/**
 * torch.save with `_use_new_zipfile_serialization=False` (and every torch < 1.6): pickles of the magic
 * number, protocol version, sys_info and the object, then a pickled list of storage keys, then each
 * storage as an int64 element count followed by its raw bytes (torch/serialization.py `_legacy_save`).
 */
function readTorchLegacy(buf: Buffer): Checkpoint {
  const none = () => fail('malformed checkpoint: unexpected persistent id in the header');
  const magic = unpickle(buf, 0, none);
  if (magic.value !== 0x1950a86a20f9469cfc6cn) fail('a pickle file, but not a PyTorch checkpoint (wrong magic number)');
  const proto = unpickle(buf, magic.end, none);
  if (proto.value !== 1001) fail(`unsupported legacy checkpoint protocol ${typeof proto.value === 'number' ? proto.value : describe(proto.value)}`, 'E_UNSUPPORTED_CHECKPOINT');
  const sys = unpickle(buf, proto.end, none);
  if (sys.value instanceof PyDict && sys.value.map.get('little_endian') === false) fail('big-endian checkpoints are not supported', 'E_UNSUPPORTED_CHECKPOINT');
  const storages = new Map<string, StorageRef>();
  const obj = unpickle(buf, sys.end, (pid) => {
    const items = pid instanceof PyTuple ? pid.items : [];
    // ('module', class, source_file, source): legacy files pickle nn.Module classes with their source.
    if (items[0] === 'module') return items[1] instanceof PyGlobal ? items[1] : new PyObject('module');
    const s = storagePid(pid, true);
    if (!storages.has(s.key)) storages.set(s.key, s);
    return s;
  });
  const { dict, wrapper, model } = findStateDict(obj.value);
  const keys = unpickle(buf, obj.end, none);
  const list = Array.isArray(keys.value) && keys.value.every((k) => typeof k === 'string' || typeof k === 'number') ? keys.value.map(String) : fail('malformed legacy checkpoint: no storage key list');
  const data = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of list) {
    const s = storages.get(key);
    if (pos + 8 > buf.length) fail('truncated checkpoint: storage data ends early');
    const n = count(buf.readBigInt64LE(pos), `the size of storage ${key.slice(0, 40)}`);
    pos += 8;
    const bytes = n * (ELEMENT_SIZE[s?.dtype ?? 'uint8'] ?? 1);
    if (pos + bytes > buf.length) fail('truncated checkpoint: storage data ends early');
    data.set(key, buf.subarray(pos, pos + bytes));
    pos += bytes;
  }
  const bytesOf = (s: StorageRef) => data.get(s.key) ?? fail(`malformed checkpoint: storage ${s.key} has no data`);
  const tensors = materialize(dict, { elements: (s) => Math.floor(bytesOf(s).byteLength / (ELEMENT_SIZE[s.dtype] ?? 1)), bytes: bytesOf });
  return { format: 'pytorch-legacy', tensors, wrapper, ...(model ? { model } : {}) };
}

/** Reads a PyTorch (.pth/.pt/.pth.tar, zip or legacy) or safetensors checkpoint. Throws CheckpointError. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let buf: Buffer;
  try {
    buf = await readRegularFile(path, 'weights');
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`cannot read ${(e as Error).message}`, 'E_CHECKPOINT_IO');
  }
  return parseCheckpoint(buf);
}

/** Detects the format from the bytes (never from the file name: .pth files come in both torch formats). */
export function parseCheckpoint(buf: Buffer): Checkpoint {
  try {
    return parseCheckpointBytes(buf);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    // Last line of defence for a reader bug (the fuzz tests call parseCheckpointBytes to find them): still
    // one line for the user, never a stack trace.
    throw new CheckpointError(`damaged checkpoint: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * parseCheckpoint without the last-line wrapper: throws CheckpointError for every bad input the readers
 * recognise, anything else is a bug of ours (the fuzz tests assert there is none).
 */
export function parseCheckpointBytes(buf: Buffer): Checkpoint {
  if (buf.length === 0) fail('empty file: not a checkpoint');
  if (buf.length >= 4 && (buf.readUInt32LE(0) === 0x04034b50 || buf.readUInt32LE(0) === 0x06054b50)) return readTorchZip(buf);
  if (buf[0] === 0x80 && buf.length > 2 && buf[1]! <= 5) return readTorchLegacy(buf);
  if (buf.length >= 10 && buf[8] === 0x7b) return { format: 'safetensors', tensors: readSafetensors(buf), wrapper: '' };
  if (buf.length > 262 && buf.toString('latin1', 257, 262) === 'ustar')
    fail('a tar-format checkpoint from PyTorch < 0.1.10: load and re-save it with a current PyTorch');
  return fail('not a PyTorch (.pth) or safetensors checkpoint');
}

export interface WriteTensor {
  shape: number[];
  data: Float32Array;
}


function checkTensor(k: string, t: WriteTensor): void {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || n !== t.data.length)
    throw new Error(`writeCheckpoint: ${k} has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Writes float32 tensors as a torch.load-able state dict (zip format, the layout torch.save uses:
 * archive/data.pkl, archive/data/<i>, archive/version) or as safetensors. Format defaults from the
 * extension (.safetensors → safetensors, else pth). `wrap` (pth only) saves `{[wrap]: state_dict}`, as fast-reid's
 * Checkpointer does with 'model'.
 */
export async function writeCheckpoint(path: string, tensors: Map<string, WriteTensor>, opts: { format?: 'pth' | 'safetensors'; wrap?: string; /** safetensors `__metadata__` (string values) */ metadata?: Record<string, string> } = {}): Promise<void> {
  for (const [k, t] of tensors) checkTensor(k, t);
  const format = opts.format ?? (path.endsWith('.safetensors') ? 'safetensors' : 'pth');
  if (opts.wrap !== undefined && format === 'safetensors') throw new Error('safetensors holds one flat tensor map; it cannot wrap the state dict');
  if (format === 'safetensors') {
    const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...opts.metadata } };
    let off = 0;
    for (const [k, t] of tensors) {
      header[k] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
      off += t.data.byteLength;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // the data starts 8-byte aligned
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    await writeFileAtomic(path, [head, Buffer.from(json, 'utf8'), ...[...tensors.values()].map((t) => bytesOf(t.data))]);
    return;
  }
  const list = [...tensors.entries()];
  const pkl = pickleStateDict(list.map(([key, t]) => ({ key, dtype: 'float32', size: t.shape })), { wrap: opts.wrap });
  const zip = buildZip([
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...list.map(([, t], i) => ({ name: `archive/data/${i}`, data: bytesOf(t.data) })),
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
  await writeFileAtomic(path, zip);
}
