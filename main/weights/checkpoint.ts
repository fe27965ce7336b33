import { readRegularFile, writeFileAtomic } from '../io/files.js';
import { ELEMENT_SIZE, gather, stridedPositions } from './dtype.js';
import { CheckpointError } from './errors.js';
import { isTensorRef, pickleStateDict, PyDict, PyGlobal, PyObject, PyTuple, STORAGE_DTYPES, unpickle, type StorageRef, type TensorRef } from './pickle.js';
import { buildZip, readZipDirectory, zipEntryData } from './zip.js';

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
}

const fail = (msg: string): never => {
  throw new CheckpointError(msg);
};

const MODULE_HINT =
  'convert it to a state_dict in Python (with the code that defines the model importable): torch.save(torch.load(f).state_dict(), out)';

/** Picks the state dict out of the unpickled object (reid-spec §8.6: unwrap ['state_dict'] / ['model']). */
function findStateDict(root: unknown): { dict: Map<string, TensorRef>; wrapper: string } {
  const tensorsOf = (d: PyDict) => {
    const m = new Map<string, TensorRef>();
    for (const [k, v] of d.map) if (typeof k === 'string' && isTensorRef(v)) m.set(k, v);
    return m;
  };
  if (root instanceof PyObject) fail(`the file holds a pickled whole model object (${root.cls}), not a state_dict; ${MODULE_HINT}`);
  if (!(root instanceof PyDict)) fail(`the checkpoint holds ${describe(root)}, not a state_dict (a dict of tensors)`);
  const d = root as PyDict;
  const direct = tensorsOf(d);
  // A wrapper entry wins over stray top-level tensors (e.g. {'state_dict': …, 'center_param': tensor}).
  for (const w of ['state_dict', 'model', 'model_state_dict', 'net', 'network', 'params', 'module']) {
    const v = d.map.get(w);
    if (v instanceof PyObject && !direct.size) fail(`the file's "${w}" entry is a pickled whole model object (${v.cls}), not a state_dict; ${MODULE_HINT}`);
    if (v instanceof PyDict) {
      const inner = tensorsOf(v);
      if (inner.size > direct.size) return { dict: inner, wrapper: w };
    }
  }
  if (direct.size) return { dict: direct, wrapper: '' };
  const keys = [...d.map.keys()].map(String);
  return fail(`no tensors found in the checkpoint (top-level keys: ${keys.slice(0, 8).join(', ') || 'none'})`);
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PyTuple) return 'a tuple';
  if (v instanceof PyGlobal) return `a reference to ${v.full}`;
  return `a ${typeof v}`;
}

function storagePid(pid: unknown, legacy: boolean): StorageRef {
  const items = pid instanceof PyTuple ? pid.items : Array.isArray(pid) ? pid : fail('malformed checkpoint: bad persistent id');
  if (items[0] !== 'storage') fail(`unsupported persistent object "${String(items[0])}" in the checkpoint`);
  const cls = items[1];
  const dtype = cls instanceof PyGlobal ? STORAGE_DTYPES[cls.name] : undefined;
  if (!dtype) fail(`unsupported storage type ${cls instanceof PyGlobal ? cls.full : String(cls)}`);
  const key = String(items[2]);
  const numel = Number(items[4]);
  let viewOffset = 0;
  if (legacy && items[5] instanceof PyTuple) viewOffset = Number(items[5].items[1]);
  return { dtype: dtype!, key, numel, viewOffset };
}

function materialize(dict: Map<string, TensorRef>, storageBytes: (s: StorageRef) => Uint8Array): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  for (const [k, t] of dict) {
    const bytes = storageBytes(t.storage);
    const n = t.size.reduce((a, b) => a * b, 1);
    if (t.size.length !== t.stride.length) fail(`malformed checkpoint: ${k} has ${t.size.length} sizes but ${t.stride.length} strides`);
    if (t.size.some((d) => d < 0) || t.stride.some((d) => d < 0) || t.offset < 0) fail(`malformed checkpoint: ${k} has a negative size, stride or offset`);
    // Check the view's extent against the storage before allocating anything for it.
    const last = t.storage.viewOffset + t.offset + t.size.reduce((a, d, i) => a + (d - 1) * t.stride[i]!, 0);
    const elements = Math.floor(bytes.byteLength / (ELEMENT_SIZE[t.storage.dtype] ?? 1));
    if (n > 0 && last >= elements) fail(`malformed checkpoint: ${k} reaches outside its storage`);
    if (n > 2 ** 31 - 1) fail(`${k} has ${n} elements: too large`);
    const data = gather(bytes, t.storage.dtype, stridedPositions(t.size, t.stride), n, t.storage.viewOffset + t.offset);
    out.set(k, { dtype: t.storage.dtype, shape: [...t.size], data });
  }
  return out;
}

function readTorchZip(buf: Buffer): Checkpoint {
  const entries = readZipDirectory(buf);
  const pkl = entries.find((e) => e.name.endsWith('/data.pkl') || e.name === 'data.pkl');
  if (!pkl) fail('a zip file without data.pkl: not a PyTorch checkpoint');
  const prefix = pkl!.name.slice(0, pkl!.name.length - 'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const bo = byName.get(`${prefix}byteorder`);
  if (bo && zipEntryData(buf, bo).toString('latin1').trim() === 'big') fail('big-endian checkpoints are not supported: re-save it on a little-endian machine');
  const { value } = unpickle(zipEntryData(buf, pkl!), 0, (pid) => storagePid(pid, false));
  const { dict, wrapper } = findStateDict(value);
  const cache = new Map<string, Uint8Array>();
  const tensors = materialize(dict, (s) => {
    let b = cache.get(s.key);
    if (!b) {
      const e = byName.get(`${prefix}data/${s.key}`);
      if (!e) fail(`truncated checkpoint: storage data/${s.key} is missing from the zip`);
      b = zipEntryData(buf, e!);
      if (b.byteLength < s.numel * (ELEMENT_SIZE[s.dtype] ?? 1)) fail(`truncated checkpoint: storage data/${s.key} is shorter than its ${s.numel} elements`);
      cache.set(s.key, b);
    }
    return b;
  });
  return { format: 'pytorch-zip', tensors, wrapper };
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
  if (proto.value !== 1001) fail(`unsupported legacy checkpoint protocol ${String(proto.value)}`);
  const sys = unpickle(buf, proto.end, none);
  if (sys.value instanceof PyDict && sys.value.map.get('little_endian') === false) fail('big-endian checkpoints are not supported');
  const storages = new Map<string, StorageRef>();
  const obj = unpickle(buf, sys.end, (pid) => {
    const items = pid instanceof PyTuple ? pid.items : [];
    // ('module', class, source_file, source): legacy files pickle nn.Module classes with their source.
    if (items[0] === 'module') return items[1] instanceof PyGlobal ? items[1] : new PyObject('module');
    const s = storagePid(pid, true);
    if (!storages.has(s.key)) storages.set(s.key, s);
    return s;
  });
  const { dict, wrapper } = findStateDict(obj.value);
  const keys = unpickle(buf, obj.end, none);
  const list = Array.isArray(keys.value) ? keys.value.map(String) : fail('malformed legacy checkpoint: no storage key list');
  const data = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of list) {
    const s = storages.get(key);
    if (pos + 8 > buf.length) fail('truncated checkpoint: storage data ends early');
    const n = Number(buf.readBigInt64LE(pos));
    pos += 8;
    const bytes = n * (ELEMENT_SIZE[s?.dtype ?? 'uint8'] ?? 1);
    if (pos + bytes > buf.length) fail('truncated checkpoint: storage data ends early');
    data.set(key, buf.subarray(pos, pos + bytes));
    pos += bytes;
  }
  const tensors = materialize(dict, (s) => data.get(s.key) ?? fail(`malformed checkpoint: storage ${s.key} has no data`));
  return { format: 'pytorch-legacy', tensors, wrapper };
}

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

/** safetensors: u64 header length, JSON header {name: {dtype, shape, data_offsets}}, then the byte buffer. */
function readSafetensors(buf: Buffer): Checkpoint {
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) fail('truncated safetensors file: the header is longer than the file');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<string, unknown>;
  } catch {
    return fail('damaged safetensors file: the header is not valid JSON');
  }
  const base = 8 + n;
  const tensors = new Map<string, CheckpointTensor>();
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const info = v as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = SAFE_DTYPES[info.dtype ?? ''];
    if (!dtype) fail(`safetensors tensor ${k}: unsupported dtype ${info.dtype}`);
    if (!Array.isArray(info.shape) || !Array.isArray(info.data_offsets)) fail(`damaged safetensors file: tensor ${k} has no shape or offsets`);
    const [b, e] = info.data_offsets!;
    const count = info.shape!.reduce((a, x) => a * x, 1);
    if (base + e > buf.length || e - b !== count * ELEMENT_SIZE[dtype!]!) fail(`truncated safetensors file: tensor ${k} lies past the end of the file`);
    tensors.set(k, { dtype: dtype!, shape: [...info.shape!], data: gather(buf.subarray(base + b, base + e), dtype!, null, count, 0) });
  }
  return { format: 'safetensors', tensors, wrapper: '' };
}

/** Reads a PyTorch (.pth/.pt/.pth.tar, zip or legacy) or safetensors checkpoint. Throws CheckpointError. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let buf: Buffer;
  try {
    buf = await readRegularFile(path, 'weights');
  } catch (e) {
    throw new CheckpointError(`cannot read ${(e as Error).message}`);
  }
  return parseCheckpoint(buf);
}

/** Detects the format from the bytes (never from the file name: .pth files come in both torch formats). */
export function parseCheckpoint(buf: Buffer): Checkpoint {
  try {
    return parseBytes(buf);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    // A damaged file can send an offset or length anywhere (RangeError from a Buffer read, a bad JSON
    // value …): still one clear message, never a stack trace.
    throw new CheckpointError(`damaged checkpoint: ${(e as Error).message.split('\n')[0]}`);
  }
}

function parseBytes(buf: Buffer): Checkpoint {
  if (buf.length === 0) fail('empty file: not a checkpoint');
  if (buf.length >= 4 && (buf.readUInt32LE(0) === 0x04034b50 || buf.readUInt32LE(0) === 0x06054b50)) return readTorchZip(buf);
  if (buf[0] === 0x80 && buf.length > 2 && buf[1]! <= 5) return readTorchLegacy(buf);
  if (buf.length >= 10 && buf[8] === 0x7b) {
    const n = buf.readBigUInt64LE(0);
    if (n < BigInt(buf.length)) return readSafetensors(buf);
    fail('truncated safetensors file: the header is longer than the file');
  }
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
 * extension (.safetensors → safetensors, else pth).
 */
export async function writeCheckpoint(path: string, tensors: Map<string, WriteTensor>, opts: { format?: 'pth' | 'safetensors' } = {}): Promise<void> {
  for (const [k, t] of tensors) checkTensor(k, t);
  const format = opts.format ?? (path.endsWith('.safetensors') ? 'safetensors' : 'pth');
  if (format === 'safetensors') {
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
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
  const pkl = pickleStateDict(list.map(([key, t]) => ({ key, dtype: 'float32', size: t.shape })));
  const zip = buildZip([
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...list.map(([, t], i) => ({ name: `archive/data/${i}`, data: bytesOf(t.data) })),
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
  await writeFileAtomic(path, zip);
}
