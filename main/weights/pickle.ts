import { CheckpointError } from './errors.js';
import { LIMITS } from './limits.js';

/** Python's latin-1 (bytes 0–255 → code points 0–255; WHATWG's "latin1" decoder is windows-1252). */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/**
 * A small, safe pickle reader (protocols 0–5 as far as torch.save uses them) and a protocol-2 writer for
 * state dicts. "Safe" because nothing is ever executed: callables named by GLOBAL are data
 * (`PyGlobal`), and REDUCE only interprets the few torch / collections functions a checkpoint needs
 * (torch's own `weights_only` unpickler takes the same approach, torch/_weights_only_unpickler.py).
 * Everything else becomes an inert `PyObject` so the caller can say what it found (e.g. a pickled
 * nn.Module).
 */

export class PyGlobal {
  constructor(
    public module: string,
    public name: string,
  ) {}
  get full(): string {
    return `${this.module}.${this.name}`;
  }
}

/** dict / OrderedDict; insertion ordered like Python's. */
export class PyDict {
  map = new Map<unknown, unknown>();
  constructor(public cls = 'builtins.dict') {}
}

/** An instance of a class the reader does not interpret (a pickled module, a Namespace, …). */
export class PyObject {
  state: unknown = undefined;
  constructor(
    public cls: string,
    public args: unknown[] = [],
  ) {}
}

export class PyTuple {
  constructor(public items: unknown[]) {}
}

/** What a persistent id resolves to: the caller's storage handle. */
export interface StorageRef {
  dtype: string;
  key: string;
  /** Number of elements of the whole storage. */
  numel: number;
  /** Element offset for legacy storage views (view_metadata); 0 otherwise. */
  viewOffset: number;
}

export interface TensorRef {
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

export function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && 'storage' in v && 'stride' in v && 'size' in v;
}

/** PyTorch storage class name → dtype name (torch/storage.py _dtype_to_storage_type_map). */
export const STORAGE_DTYPES: Record<string, string> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

const MARK = Symbol('mark');

function asList(v: unknown): unknown[] {
  if (v instanceof PyTuple) return v.items;
  if (Array.isArray(v)) return v;
  throw new CheckpointError('malformed checkpoint: expected a tuple in the pickle');
}

function asInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  throw new CheckpointError(`malformed checkpoint: ${what} is not an integer`);
}

/** Interprets REDUCE(callable, args) for the callables a checkpoint may contain. */
function reduce(fn: unknown, argsV: unknown): unknown {
  const args = asList(argsV);
  if (!(fn instanceof PyGlobal)) {
    if (fn instanceof PyObject) return new PyObject(fn.cls, args);
    throw new CheckpointError('malformed checkpoint: REDUCE on a non-callable');
  }
  switch (fn.full) {
    case 'collections.OrderedDict':
    case 'builtins.dict':
    case '__builtin__.dict': {
      const d = new PyDict(fn.full === 'collections.OrderedDict' ? 'collections.OrderedDict' : 'builtins.dict');
      const init = args[0];
      if (init !== undefined) for (const pair of asList(init)) {
        const [k, v] = asList(pair);
        d.map.set(k, v);
      }
      return d;
    }
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2': {
      // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None)
      const storage = args[0] as StorageRef;
      if (!storage || typeof storage !== 'object' || !('dtype' in storage))
        throw new CheckpointError('malformed checkpoint: a tensor refers to no storage');
      return {
        storage,
        offset: asInt(args[1], 'storage offset'),
        size: asList(args[2]).map((x) => asInt(x, 'tensor size')),
        stride: asList(args[3]).map((x) => asInt(x, 'tensor stride')),
      } satisfies TensorRef;
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return args[0];
    case 'torch._utils._rebuild_qtensor':
      throw new CheckpointError('quantized tensors are not supported: save a float model (model.dequantize()) and try again', 'E_UNSUPPORTED_CHECKPOINT');
    case 'torch._utils._rebuild_sparse_tensor':
    case 'torch._utils._rebuild_sparse_csr_tensor':
      throw new CheckpointError('sparse tensors are not supported: convert them with .to_dense() before saving', 'E_UNSUPPORTED_CHECKPOINT');
    case 'torch._utils._rebuild_meta_tensor_no_storage':
      throw new CheckpointError('the checkpoint holds meta tensors without data', 'E_UNSUPPORTED_CHECKPOINT');
    case '_codecs.encode': {
      // Protocol 2 pickles bytes as _codecs.encode(str, 'latin1').
      const s = args[0] ?? '';
      if (typeof s !== 'string') throw new CheckpointError('malformed checkpoint: _codecs.encode of a non-string');
      return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
    }
    case 'builtins.set':
    case 'builtins.frozenset':
    case '__builtin__.set':
      return args[0] === undefined ? [] : asList(args[0]);
    case 'torch.Size':
      return args[0] === undefined ? [] : asList(args[0]);
    case 'torch.device':
      return args.filter((a) => typeof a === 'string' || typeof a === 'number').join(':');
    case 'copyreg._reconstructor':
    case 'copy_reg._reconstructor': {
      const cls = args[0];
      return new PyObject(cls instanceof PyGlobal ? cls.full : 'object');
    }
    default:
      return new PyObject(fn.full, args);
  }
}

export interface UnpickleResult {
  value: unknown;
  /** Byte offset just past the STOP opcode (legacy files hold several pickles back to back). */
  end: number;
}

/**
 * Runs the pickle machine over `buf` from `start`. `persistentLoad` resolves persistent ids (storages).
 */
export function unpickle(buf: Uint8Array, start: number, persistentLoad: (pid: unknown) => unknown): UnpickleResult {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const td = new TextDecoder('utf-8');
  let pos = start;
  let objects = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new CheckpointError('truncated checkpoint: the pickle ends early');
  };
  /**
   * Every length in a pickle is checked before it moves the reader: a negative length would move it
   * backwards into an endless loop, an oversized one would allocate without bound.
   */
  const length = (n: number | bigint, what: string): number => {
    if (n < 0) throw new CheckpointError(`malformed checkpoint: negative length in a pickled ${what}`);
    if (Number(n) > buf.length - pos) throw new CheckpointError(`malformed checkpoint: a pickled ${what} is longer than the file`);
    return Number(n);
  };
  const u8 = () => (need(1), buf[pos++]!);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const u64 = () => (need(8), (pos += 8), dv.getBigUint64(pos - 8, true));
  const bytes = (n: number | bigint, what: string) => {
    const k = length(n, what);
    pos += k;
    return buf.subarray(pos - k, pos);
  };
  const line = () => {
    const e = buf.indexOf(0x0a, pos);
    if (e < 0) throw new CheckpointError('truncated checkpoint: the pickle ends early');
    const s = td.decode(buf.subarray(pos, e));
    pos = e + 1;
    return s;
  };
  const push = (v: unknown) => {
    if (stack.length >= LIMITS.pickleStack) throw new CheckpointError(`malformed checkpoint: the pickle stack grows beyond ${LIMITS.pickleStack} objects`, 'E_CHECKPOINT_TOO_LARGE');
    if (++objects > LIMITS.pickleObjects) throw new CheckpointError(`malformed checkpoint: the pickle creates more than ${LIMITS.pickleObjects} objects`, 'E_CHECKPOINT_TOO_LARGE');
    stack.push(v);
  };
  const memoize = (i: number, v: unknown) => {
    if (!memo.has(i) && memo.size >= LIMITS.pickleMemo) throw new CheckpointError(`malformed checkpoint: the pickle memo grows beyond ${LIMITS.pickleMemo} entries`, 'E_CHECKPOINT_TOO_LARGE');
    memo.set(i, v);
  };
  const pop = () => {
    if (!stack.length) throw new CheckpointError('malformed checkpoint: pickle stack underflow');
    return stack.pop();
  };
  const top = () => {
    if (!stack.length) throw new CheckpointError('malformed checkpoint: pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) throw new CheckpointError('malformed checkpoint: pickle MARK missing');
    if (m > stack.length) throw new CheckpointError('malformed checkpoint: pickle MARK below the stack');
    return stack.splice(m);
  };
  const decodeLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    if (b.length > LIMITS.pickleIntBytes) throw new CheckpointError(`malformed checkpoint: a pickled integer of ${b.length} bytes`);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (items.length % 2) throw new CheckpointError('malformed checkpoint: SETITEMS with an odd number of items');
    if (d instanceof PyDict) for (let i = 0; i + 1 < items.length; i += 2) d.map.set(items[i], items[i + 1]);
    else if (d instanceof PyObject) d.state = items;
    else throw new CheckpointError('malformed checkpoint: SETITEMS on a non-dict');
  };
  const append = (l: unknown, items: unknown[]) => {
    // A loop, not push(...items): spreading a million items overflows the call stack.
    if (Array.isArray(l)) for (const x of items) l.push(x);
    else if (!(l instanceof PyObject)) throw new CheckpointError('malformed checkpoint: APPEND on a non-list');
  };

  for (;;) {
    if (pos >= buf.length) throw new CheckpointError('truncated checkpoint: the pickle has no STOP');
    const op = buf[pos++]!;
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME: a length prefix for buffering; only its bound matters here
        length(u64(), 'frame');
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x8a: // LONG1
        push(decodeLong(bytes(u8(), 'integer')));
        break;
      case 0x8b: // LONG4
        push(decodeLong(bytes(i32(), 'integer')));
        break;
      case 0x49: {
        // INT (text): also encodes True/False as 01/00 in protocol 0
        const s = line();
        push(s === '01' ? true : s === '00' ? false : Number(s));
        break;
      }
      case 0x4c: // LONG (text)
        push(Number(line().replace(/L$/, '')));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: // FLOAT (text)
        push(Number(line()));
        break;
      case 0x58: // BINUNICODE
        push(td.decode(bytes(u32(), 'string')));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(td.decode(bytes(u8(), 'string')));
        break;
      case 0x8d: // BINUNICODE8
        push(td.decode(bytes(u64(), 'string')));
        break;
      case 0x55: // SHORT_BINSTRING
        push(latin1(bytes(u8(), 'string')));
        break;
      case 0x54: // BINSTRING
        push(latin1(bytes(i32(), 'string')));
        break;
      case 0x53: {
        // STRING (text, quoted repr)
        const s = line().trim();
        push(s.slice(1, -1));
        break;
      }
      case 0x56: // UNICODE (raw-unicode-escape text)
        push(line());
        break;
      case 0x43: // SHORT_BINBYTES
        push(bytes(u8(), 'bytes object').slice());
        break;
      case 0x42: // BINBYTES
        push(bytes(u32(), 'bytes object').slice());
        break;
      case 0x8e: // BINBYTES8
        push(bytes(u64(), 'bytes object').slice());
        break;
      case 0x96: // BYTEARRAY8
        push(bytes(u64(), 'bytearray').slice());
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new PyDict();
        setItems(d, items);
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        push([]);
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        push(popMark());
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const mod = line();
        push(new PyGlobal(mod, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const mod = pop();
        if (typeof mod !== 'string' || typeof name !== 'string') throw new CheckpointError('malformed checkpoint: STACK_GLOBAL needs two strings');
        push(new PyGlobal(mod, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        push(reduce(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        push(cls instanceof PyGlobal && (cls.full === 'collections.OrderedDict' || cls.full === 'builtins.dict') ? reduce(cls, args) : new PyObject(cls instanceof PyGlobal ? cls.full : 'object', asList(args)));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop();
        const args = pop();
        const cls = pop();
        push(new PyObject(cls instanceof PyGlobal ? cls.full : 'object', asList(args)));
        break;
      }
      case 0x62: {
        // BUILD: object state. For dicts (OrderedDict with a `_metadata` attribute) the state is ignored.
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        break;
      }
      case 0x51: // BINPERSID
        push(persistentLoad(pop()));
        break;
      case 0x50: // PERSID
        push(persistentLoad(line()));
        break;
      case 0x71: // BINPUT
        memoize(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoize(u32(), top());
        break;
      case 0x70: // PUT
        memoize(Number(line()), top());
        break;
      case 0x94: // MEMOIZE
        memoize(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET
        const i = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(i)) throw new CheckpointError('malformed checkpoint: pickle memo reference is missing');
        push(memo.get(i));
        break;
      }
      case 0x97: // NEXT_BUFFER (protocol 5 out-of-band data; torch never uses it)
      case 0x98: // READONLY_BUFFER
        throw new CheckpointError('unsupported pickle: out-of-band buffers (protocol 5)', 'E_UNSUPPORTED_CHECKPOINT');
      default:
        throw new CheckpointError(`not a PyTorch checkpoint: unknown pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
}

/**
 * Serialises an ordered state dict as torch.save does (protocol 2): an OrderedDict of
 * `torch._utils._rebuild_tensor_v2(persistent storage, 0, size, stride, False, OrderedDict())`,
 * one storage per tensor, storage keys "0", "1", … (torch/serialization.py `_save`).
 */
export function pickleStateDict(
  entries: {
    key: string;
    dtype: string;
    size: number[];
    /** A view of another storage (torch's views share one storage): its key, element count, the view's offset and strides. Default: its own contiguous storage `String(i)`. */
    view?: { storage: string; numel: number; offset: number; stride: number[] };
  }[],
  opts: { wrap?: string } = {},
): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  const op = (...b: number[]) => out.push(...b);
  const str = (s: string) => {
    const b = enc.encode(s);
    op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, (b.length >>> 24) & 0xff);
    for (const x of b) out.push(x);
  };
  const global = (mod: string, name: string) => {
    op(0x63);
    for (const x of enc.encode(`${mod}\n${name}\n`)) out.push(x);
  };
  const int = (n: number) => {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`cannot pickle ${n}`);
    if (n < 0x100) op(0x4b, n);
    else if (n < 0x10000) op(0x4d, n & 0xff, n >> 8);
    else if (n < 0x80000000) op(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
    else {
      // LONG1 with 8 little-endian bytes (sign bit clear for any safe integer)
      op(0x8a, 8);
      let v = BigInt(n);
      for (let i = 0; i < 8; i++, v >>= 8n) out.push(Number(v & 0xffn));
    }
  };
  const tuple = (xs: number[]) => {
    if (xs.length === 0) return op(0x29);
    op(0x28);
    xs.forEach(int);
    op(0x74);
  };
  const storageClass: Record<string, string> = Object.fromEntries(Object.entries(STORAGE_DTYPES).filter(([k]) => k !== 'UntypedStorage').map(([k, v]) => [v, k]));
  op(0x80, 2);
  if (opts.wrap !== undefined) {
    op(0x7d); // EMPTY_DICT: { wrap: OrderedDict } (fast-reid's Checkpointer saves {'model': state_dict})
    str(opts.wrap);
  }
  global('collections', 'OrderedDict');
  op(0x29, 0x52); // () REDUCE
  op(0x28); // MARK
  entries.forEach((e, i) => {
    const cls = storageClass[e.dtype];
    if (!cls) throw new Error(`cannot write dtype ${e.dtype}`);
    const numel = e.view?.numel ?? e.size.reduce((a, b) => a * b, 1);
    const stride = e.view?.stride ?? e.size.map((_, d) => e.size.slice(d + 1).reduce((a, b) => a * b, 1));
    str(e.key);
    global('torch._utils', '_rebuild_tensor_v2');
    op(0x28); // args MARK
    op(0x28); // persistent id MARK
    str('storage');
    global('torch', cls);
    str(e.view?.storage ?? String(i));
    str('cpu');
    int(numel);
    op(0x74, 0x51); // TUPLE BINPERSID
    int(e.view?.offset ?? 0);
    tuple(e.size);
    tuple(stride);
    op(0x89); // requires_grad False
    global('collections', 'OrderedDict');
    op(0x29, 0x52); // backward_hooks = OrderedDict()
    op(0x74, 0x52); // TUPLE REDUCE
  });
  op(0x75); // SETITEMS
  if (opts.wrap !== undefined) op(0x73); // SETITEM into the wrapping dict
  op(0x2e); // STOP
  return Uint8Array.from(out);
}
