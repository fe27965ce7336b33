import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, parseCheckpoint, type Checkpoint } from '../../main/weights/index.js';
import { unpickle } from '../../main/weights/pickle.js';

/**
 * Every checkpoint reader validates before it allocates or loops (the reliability cases: a 7-byte .pth with a
 * negative pickle length used to loop until V8 died at ~2 GB). Malformed views and zips are written by real
 * torch.save / zipfile (make_hostile.py); pickle opcodes and safetensors headers are built byte by byte here
 * after the formats' definitions (CPython Lib/pickletools.py, huggingface/safetensors README).
 */

const PYTHON = '/usr/bin/python3';
let dir = '';
let ref: Record<string, Record<string, { shape: number[]; values: number[] }>> = {};
const file = (f: string) => readFileSync(join(dir, f));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-hostile-'));
  execFileSync(PYTHON, [fileURLToPath(new URL('./make_hostile.py', import.meta.url)), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  ref = JSON.parse(readFileSync(join(dir, 'ref.json'), 'utf8'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The error parseCheckpoint throws (it must throw a CheckpointError with a one-line message). */
function refusal(buf: Buffer | Uint8Array): CheckpointError {
  let err: unknown = null;
  try {
    parseCheckpoint(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CheckpointError);
  expect((err as Error).message).not.toMatch(/\n/);
  return err as CheckpointError;
}

const le32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return [...b];
};
const le64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return [...b];
};
/** PROTO 2, then the opcodes: a legacy torch.save stream starts with such a pickle. */
const pickle = (...ops: number[]) => Uint8Array.from([0x80, 0x02, ...ops]);

describe('pickle lengths are checked before they move the reader', () => {
  it('the reliability cases: LONG4 and BINSTRING with length -5 (7 bytes each) fail at once', () => {
    for (const op of [0x8b, 0x54]) {
      const e = refusal(pickle(op, ...le32(-5)));
      expect(e.code).toBe('E_MALFORMED_CHECKPOINT');
      expect(e.message).toMatch(/^malformed checkpoint: negative length/);
    }
  });

  it('the same pickle inside a zip checkpoint (archive/data.pkl written by Python zipfile)', () => {
    const e = refusal(file('zip_pkl_long4_negative_len.pth'));
    expect(e.code).toBe('E_MALFORMED_CHECKPOINT');
    expect(e.message).toMatch(/negative length/);
  });

  it('every length-prefixed opcode: negative or longer than the file', () => {
    const cases: [string, number[]][] = [
      ['BINSTRING', [0x54, ...le32(-1)]],
      ['BINSTRING', [0x54, ...le32(0x7fffffff)]],
      ['LONG4', [0x8b, ...le32(-0x80000000)]],
      ['LONG4', [0x8b, ...le32(1000)]],
      ['LONG1', [0x8a, 255, 1, 2]],
      ['BINUNICODE', [0x58, 0xff, 0xff, 0xff, 0xff]],
      ['SHORT_BINUNICODE', [0x8c, 200, 0x41]],
      ['SHORT_BINSTRING', [0x55, 9]],
      ['BINBYTES', [0x42, 0xfb, 0xff, 0xff, 0xff]],
      ['SHORT_BINBYTES', [0x43, 3, 0]],
      ['BINUNICODE8', [0x8d, ...le64(2n ** 64n - 5n)]],
      ['BINBYTES8', [0x8e, ...le64(2n ** 63n)]],
      ['BYTEARRAY8', [0x96, ...le64(1n << 40n)]],
      ['FRAME', [0x95, ...le64(2n ** 64n - 1n)]],
    ];
    for (const [name, ops] of cases) {
      const e = refusal(pickle(...ops, 0x2e));
      expect(e.code, name).toBe('E_MALFORMED_CHECKPOINT');
      expect(e.message, name).toMatch(/^malformed checkpoint: (negative length|a pickled \w+( object)? is longer than the file)/);
    }
  });

  it('a pickled integer of 1 MB is refused instead of being decoded', () => {
    const n = 1 << 20;
    const e = refusal(Uint8Array.from([0x80, 0x02, 0x8b, ...le32(n), ...new Uint8Array(n), 0x2e]));
    expect(e.message).toMatch(/a pickled integer of 1048576 bytes/);
  });

  it('stack and memo are bounded (a million DUP / MEMOIZE opcodes)', () => {
    const dup = new Uint8Array(1_000_010).fill(0x32);
    dup.set([0x80, 0x02, 0x4e]);
    const e = refusal(dup);
    expect(e.code).toBe('E_CHECKPOINT_TOO_LARGE');
    expect(e.message).toMatch(/stack grows beyond 1000000 objects/);
    const memo = new Uint8Array(1_000_010).fill(0x94);
    memo.set([0x80, 0x04, 0x4e]);
    expect(refusal(memo).message).toMatch(/memo grows beyond 1000000 entries/);
  });

  it('500,000 nested lists and a list that contains itself end in an error, not a stack overflow', () => {
    const depth = 500_000;
    const nested = new Uint8Array(2 + 2 * depth + 1);
    nested.set([0x80, 0x02]);
    nested.fill(0x28, 2, 2 + depth); // MARK …
    nested.fill(0x6c, 2 + depth, 2 + 2 * depth); // … LIST
    nested[2 + 2 * depth] = 0x2e;
    expect(refusal(nested).message).toMatch(/not a PyTorch checkpoint|holds a list/);
    // torch.device(<the nested list>): a callable the reader interprets must not stringify its argument.
    const device = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('ctorch\ndevice\n', 'latin1'), Buffer.from(nested.subarray(2, -1)), Buffer.from([0x85, 0x52, 0x2e])]);
    expect(unpickle(device, 0, () => null).value).toBe('');
    // EMPTY_LIST DUP APPEND: l = []; l.append(l); then a STACK_GLOBAL on it must not stringify it.
    expect(refusal(pickle(0x5d, 0x32, 0x61, 0x32, 0x93, 0x2e)).message).toMatch(/STACK_GLOBAL needs two strings/);
  });
});

const values = (c: Checkpoint, k: string) => ({ shape: c.tensors.get(k)!.shape, values: [...c.tensors.get(k)!.data] });

describe('tensor views are checked against their storage', () => {
  it('valid stride-0 and strided views load as torch reads them', () => {
    const c = parseCheckpoint(file('views_ok.pth'));
    for (const k of ['e', 'v']) expect(values(c, k), k).toEqual(ref.views_ok![k]);
  });

  it('a stride-0 view of one element expanded to 2^30 elements (759 bytes) is refused without allocating', () => {
    const before = process.memoryUsage().arrayBuffers;
    const e = refusal(file('expand_huge.pth'));
    expect(e.code).toBe('E_CHECKPOINT_TOO_LARGE');
    expect(e.message).toMatch(/w is a view of 1073741824 elements over a storage of 1 \(stride 0\)/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });

  it('views outside the storage or with impossible metadata are refused', () => {
    const cases: [string, RegExp, string][] = [
      ['outside_offset', /w reaches outside its storage/, 'E_MALFORMED_CHECKPOINT'],
      ['outside_stride', /w reaches outside its storage/, 'E_MALFORMED_CHECKPOINT'],
      ['negative_stride', /a stride of w is not a non-negative integer/, 'E_MALFORMED_CHECKPOINT'],
      ['negative_offset', /storage offset of w is not a non-negative integer/, 'E_MALFORMED_CHECKPOINT'],
      ['negative_size', /a size of w is not a non-negative integer/, 'E_MALFORMED_CHECKPOINT'],
      ['huge_size', /w has more than 2147483647 elements/, 'E_CHECKPOINT_TOO_LARGE'],
      ['float_size', /size is not an integer/, 'E_MALFORMED_CHECKPOINT'],
      ['dims_mismatch', /w has 2 sizes but 1 strides/, 'E_MALFORMED_CHECKPOINT'],
    ];
    for (const [name, msg, code] of cases) {
      const e = refusal(file(`${name}.pth`));
      expect(e.message, name).toMatch(msg);
      expect(e.code, name).toBe(code);
    }
  });
});

/** Offsets of a Python-written zip (no archive comment): EOCD is the last 22 bytes. */
function zipLayout(buf: Buffer) {
  const eocd = buf.length - 22;
  expect(buf.readUInt32LE(eocd)).toBe(0x06054b50);
  const cd = buf.readUInt32LE(eocd + 16);
  const central: { at: number; name: string }[] = [];
  for (let p = cd, i = 0; i < buf.readUInt16LE(eocd + 10); i++) {
    const name = buf.toString('utf8', p + 46, p + 46 + buf.readUInt16LE(p + 28));
    central.push({ at: p, name });
    p += 46 + buf.readUInt16LE(p + 28) + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return { eocd, cd, central };
}

describe('zip entries are checked before they are inflated or sliced', () => {
  it('deflated re-zips load, including 16 MB of zeros at deflate\'s best ratio (~1000:1)', () => {
    expect(values(parseCheckpoint(file('small_deflated.pth')), 'a')).toEqual(ref.small!.a);
    const z = parseCheckpoint(file('zeros_deflated.pth')).tensors.get('zeros')!;
    expect(z.data.length).toBe(2 ** 22);
    expect(z.data.every((x) => x === 0)).toBe(true);
  });

  it('damaged directories: declared size beyond deflate\'s ratio, lies about sizes, counts and offsets', () => {
    const good = file('small_deflated.pth');
    const { eocd, central } = zipLayout(good);
    const data = central.find((c) => c.name.endsWith('/data/0'))!.at;
    const pkl = central.find((c) => c.name.endsWith('/data.pkl'))!.at;
    const patch = (f: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    const cases: [string, Buffer, RegExp][] = [
      ['zip bomb', patch((b) => b.writeUInt32LE(0x7fffffff, data + 24)), /claims to inflate \d+ bytes to 2147483647, more than deflate can/],
      ['size understated', patch((b) => b.writeUInt32LE(4, data + 24)), /inflates to 24 bytes, not the 4|cannot inflate|shorter than its/],
      ['entry count', patch((b) => b.writeUInt16LE(0xfffe, eocd + 10)), /65534 entries cannot fit in a central directory/],
      ['directory offset', patch((b) => b.writeUInt32LE(0xfffffff0, eocd + 16)), /central directory lies past the end of the file/],
      ['local offset', patch((b) => b.writeUInt32LE(0x7ffffff0, pkl + 42)), /\/data\.pkl lies past the end of the file/],
      ['name length', patch((b) => b.writeUInt16LE(0xffff, pkl + 28)), /runs past the directory/],
      ['method', patch((b) => b.writeUInt16LE(99, pkl + 10)), /unsupported zip compression method 99/],
    ];
    for (const [name, buf, msg] of cases) expect(refusal(buf).message, name).toMatch(msg);
  });

  it('a stored entry whose two sizes differ', () => {
    const good = file('small.pth');
    const { central } = zipLayout(good);
    const b = Buffer.from(good);
    b.writeUInt32LE(b.readUInt32LE(central[0]!.at + 24) + 1, central[0]!.at + 24);
    expect(refusal(b).message).toMatch(/stored entry .* has two different sizes/);
  });
});

/** A safetensors file: u64 header length, JSON header, data. */
function safetensors(header: unknown, data: Uint8Array = new Uint8Array(16), rawHeader?: string): Buffer {
  const json = Buffer.from(rawHeader ?? JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

describe('safetensors headers are checked before anything is copied', () => {
  it('a valid file loads (4 float32 values)', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    const c = parseCheckpoint(safetensors({ __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, new Uint8Array(data.buffer)));
    expect(values(c, 'w')).toEqual({ shape: [2, 2], values: [1, 2, 3, 4] });
  });

  it('bad offsets, shapes, dtypes and headers', () => {
    const t = (shape: unknown, data_offsets: unknown, dtype: unknown = 'F32') => safetensors({ w: { dtype, shape, data_offsets } });
    const cases: [string, Buffer, RegExp][] = [
      ['negative offset', t([1], [-4, 0]), /data_offsets of w are not two non-negative integers/],
      ['fractional offset', t([1], [0.5, 4.5]), /data_offsets of w are not two non-negative integers/],
      ['string offset', t([1], ['0', '4']), /data_offsets of w are not two non-negative integers/],
      ['three offsets', t([1], [0, 4, 8]), /data_offsets of w are not two non-negative integers/],
      ['end past the data', t([8], [0, 32]), /tensor w lies past the end of the file/],
      ['begin after end', t([0], [8, 4]), /data_offsets of w end before they begin \(\[8, 4\]\)/],
      // Issue #25: [32, 0] was reported as "past the end of the file".
      ['begin after end, inside the file', safetensors({ w: { dtype: 'F32', shape: [8], data_offsets: [32, 0] } }, new Uint8Array(32)), /data_offsets of w end before they begin \(\[32, 0\]\)/],
      ['negative dimension', t([-1, -4], [0, 16]), /shape of w is not a list of non-negative integers/],
      ['fractional dimension', t([2.5], [0, 10]), /shape of w is not a list of non-negative integers/],
      ['string dimension', t(['4'], [0, 16]), /shape of w is not a list of non-negative integers/],
      ['size mismatch', t([3], [0, 16]), /tensor w has 16 bytes for shape \[3\] of F32/],
      ['huge shape', t([2 ** 20, 2 ** 20, 2 ** 20], [0, 16]), /more than 2147483647 elements/],
      ['dtype', t([4], [0, 16], 'F8_E4M3'), /unsupported dtype F8_E4M3/],
      ['entry not an object', safetensors({ w: 7 }), /tensor w is not described by an object/],
      ['header is an array', safetensors(null, undefined, '[{"a":1}]'), /header is not a JSON object|not a PyTorch/],
      ['header not JSON', safetensors(null, undefined, '{"w": {'), /header is not valid JSON/],
    ];
    for (const [name, buf, msg] of cases) expect(refusal(buf).message, name).toMatch(msg);
    expect(refusal(t([8], [0, 32])).code).toBe('E_MALFORMED_CHECKPOINT');
    expect(refusal(t([4], [0, 16], 'F8_E4M3')).code).toBe('E_UNSUPPORTED_CHECKPOINT');
  });

  it('a header length above 100 MB or past the end of the file', () => {
    const b = safetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    b.writeBigUInt64LE(2n ** 64n - 1n, 0);
    expect(refusal(b).message).toMatch(/a header of 18446744073709551615 bytes \(the format allows 100000000\)/);
    b.writeBigUInt64LE(BigInt(b.length), 0);
    expect(refusal(b).message).toMatch(/header is longer than the file/);
  });
});
