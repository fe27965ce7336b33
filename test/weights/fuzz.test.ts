import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreset, DocumentError, parseDocument, serializeDocument } from '../../core/index.js';
import { parseCheckpointBytes } from '../../main/weights/checkpoint.js';
import { CheckpointError } from '../../main/weights/index.js';
import { LIMITS } from '../../main/weights/limits.js';
import { pickleStateDict, unpickle } from '../../main/weights/pickle.js';
import { buildZip } from '../../main/weights/zip.js';

/**
 * Property-based fuzzing of every reader of untrusted bytes (fast-check, fixed seeds, a bounded number of
 * runs): mutated real checkpoints (written by torch.save in fuzz_seeds.py), random bytes behind each format's
 * magic, random pickle opcode streams, random safetensors headers and mutated documents. Every input ends
 * in a result or the reader's typed error with a one-line message — never a RangeError / TypeError, never
 * a hang — and a result never holds more elements than its bytes can describe plus the stride-0 allowance.
 * Per case: under CASE_MS (a hang-detector, not a benchmark: a case normally takes well under 10 ms).
 */

const CASE_MS = 2000;
const CODES = ['E_MALFORMED_CHECKPOINT', 'E_UNSUPPORTED_CHECKPOINT', 'E_CHECKPOINT_TOO_LARGE'];
let dir = '';
let seeds: Buffer[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-fuzz-'));
  execFileSync('/usr/bin/python3', [fileURLToPath(new URL('./fuzz_seeds.py', import.meta.url)), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  seeds = readdirSync(dir)
    .sort()
    .map((f) => readFileSync(join(dir, f)));
  expect(seeds).toHaveLength(7);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let slowest = 0;
const outcomes = { results: 0, errors: new Map<string, number>() };
/**
 * Parses `buf` without parseCheckpoint's last-line wrapper (which would turn a TypeError into a
 * CheckpointError): a Checkpoint whose size is bounded by the input, or a CheckpointError; timed.
 */
function checkpointOutcome(buf: Buffer): void {
  const t0 = performance.now();
  try {
    const c = parseCheckpointBytes(buf);
    // Memory actually held: each distinct buffer once (views of one storage share it, as in PyTorch).
    const buffers = new Map<ArrayBufferLike, number>();
    for (const [k, t] of c.tensors) {
      expect(t.data.length, k).toBe(t.shape.reduce((a, b) => a * b, 1));
      buffers.set(t.data.buffer, t.data.buffer.byteLength / 4);
    }
    const elements = [...buffers.values()].reduce((a, b) => a + b, 0);
    expect(elements).toBeLessThanOrEqual(Math.min(LIMITS.materializedElements, 2 * buf.length + LIMITS.expandedElementsTotal));
    outcomes.results++;
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    const kind = e.message.startsWith('safetensors tensor') ? 'safetensors tensor' : e.message.replace(/\d+/g, 'N').split(' ').slice(0, 3).join(' ');
    outcomes.errors.set(kind, (outcomes.errors.get(kind) ?? 0) + 1);
    expect(CODES).toContain(e.code);
    expect(e.message).not.toMatch(/\n/);
  }
  const ms = performance.now() - t0;
  slowest = Math.max(slowest, ms);
  expect(ms).toBeLessThan(CASE_MS);
}

const mutation = fc.record({
  seed: fc.nat(),
  edits: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), byte: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom('set', 'insert', 'delete', 'int32') }), { minLength: 1, maxLength: 6 }),
  cut: fc.option(fc.double({ min: 0.01, max: 1, noNaN: true }), { freq: 4 }),
});

/** Applies byte edits; 'int32' writes a hostile 32-bit value (negative, huge, 0) at the position. */
function mutate(src: Buffer, m: { edits: { at: number; byte: number; kind: string }[]; cut: number | null }): Buffer {
  let b = Buffer.from(src);
  for (const e of m.edits) {
    const at = Math.floor(e.at * b.length);
    if (e.kind === 'set') b[at] = e.byte;
    else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at)]);
    else if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else if (at + 4 <= b.length) b.writeInt32LE([-1, -5, 0x7fffffff, -0x80000000, 0][e.byte % 5]!, at);
  }
  return m.cut === null ? b : b.subarray(0, Math.floor(m.cut * b.length));
}

describe('checkpoint readers under fuzzing', () => {
  it('mutated real checkpoints (zip, legacy, protocol 4, deflated, whole-model, safetensors)', () => {
    fc.assert(
      fc.property(mutation, (m) => checkpointOutcome(mutate(seeds[m.seed % seeds.length]!, m))),
      { numRuns: 1500, seed: 1301 },
    );
  });

  it('random bytes behind each format\'s magic', () => {
    const magic = fc.constantFrom([0x80, 0x02], [0x80, 0x04, 0x95], [0x50, 0x4b, 0x03, 0x04], [0x50, 0x4b, 0x05, 0x06], [0x40, 0, 0, 0, 0, 0, 0, 0, 0x7b], []);
    fc.assert(
      fc.property(magic, fc.uint8Array({ maxLength: 512 }), (head, tail) => checkpointOutcome(Buffer.from([...head, ...tail]))),
      { numRuns: 1000, seed: 1302 },
    );
  });

  it('pickle opcode streams: every opcode with random operands', () => {
    const ops = [0x80, 0x95, 0x2e, 0x28, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x4b, 0x4d, 0x4a, 0x8a, 0x8b, 0x49, 0x4c, 0x47, 0x46, 0x58, 0x8c, 0x8d, 0x55, 0x54, 0x53, 0x56, 0x43, 0x42, 0x8e, 0x96, 0x29, 0x74, 0x85, 0x86, 0x87, 0x5d, 0x6c, 0x61, 0x65, 0x7d, 0x64, 0x73, 0x75, 0x8f, 0x90, 0x91, 0x63, 0x93, 0x52, 0x81, 0x92, 0x62, 0x51, 0x50, 0x71, 0x72, 0x70, 0x94, 0x68, 0x6a, 0x67];
    const operand = fc.oneof(fc.uint8Array({ maxLength: 9 }), fc.constantFrom(Uint8Array.from([0xfb, 0xff, 0xff, 0xff]), Uint8Array.from([0xff, 0xff, 0xff, 0x7f]), new TextEncoder().encode('torch._utils\n_rebuild_tensor_v2\n'), new TextEncoder().encode('collections\nOrderedDict\n')));
    const stream = fc.array(fc.tuple(fc.constantFrom(...ops), operand), { maxLength: 60 });
    fc.assert(
      fc.property(stream, (s) => {
        const bytes = Uint8Array.from([0x80, 0x02, ...s.flatMap(([op, arg]) => [op, ...arg]), 0x2e]);
        const t0 = performance.now();
        try {
          unpickle(bytes, 0, (pid) => pid);
        } catch (e) {
          if (!(e instanceof CheckpointError)) throw e;
          expect(e.message).not.toMatch(/\n/);
        }
        expect(performance.now() - t0).toBeLessThan(CASE_MS);
        checkpointOutcome(Buffer.from(bytes));
      }),
      { numRuns: 1500, seed: 1303 },
    );
  });

  it('safetensors headers with hostile dtypes, shapes and offsets', () => {
    const int = fc.oneof(fc.integer({ min: -3, max: 40 }), fc.constantFrom(-1, 2 ** 31, 2 ** 53, 2 ** 64, 1.5, -0.5, Number.MAX_VALUE));
    const value = fc.oneof(int, fc.string({ maxLength: 3 }), fc.constant(null), fc.boolean());
    const entry = fc.record({
      dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'f32'), value),
      shape: fc.oneof(fc.array(int, { maxLength: 4 }), value),
      data_offsets: fc.oneof(fc.tuple(int, int), fc.array(int, { maxLength: 3 }), value),
    });
    const header = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(entry, value), { maxKeys: 4 });
    fc.assert(
      fc.property(header, fc.nat({ max: 64 }), (h, dataBytes) => {
        const json = Buffer.from(JSON.stringify(h));
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(json.length));
        checkpointOutcome(Buffer.concat([len, json, Buffer.alloc(dataBytes, 0x3f)]));
      }),
      { numRuns: 1000, seed: 1304 },
    );
  });

  it('views of one storage: random offsets, sizes and strides over shared storages (torch.save\'s layout)', () => {
    const dtype = fc.constantFrom('float32', 'float16', 'float64', 'int64', 'uint8');
    const view = fc.record({
      storage: fc.nat({ max: 2 }),
      offset: fc.oneof(fc.nat({ max: 70 }), fc.constantFrom(2 ** 31 - 1, 2 ** 40)),
      size: fc.array(fc.oneof(fc.nat({ max: 9 }), fc.constantFrom(2 ** 20, 2 ** 31)), { maxLength: 3 }),
      stride: fc.array(fc.oneof(fc.nat({ max: 12 }), fc.constant(2 ** 33)), { maxLength: 3 }),
    });
    const storages = fc.array(fc.record({ dtype, numel: fc.nat({ max: 64 }), declared: fc.integer({ min: -2, max: 2 }) }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(storages, fc.array(view, { minLength: 1, maxLength: 300 }), (st, views) => {
        const pkl = pickleStateDict(
          views.map((v, i) => {
            const s = st[v.storage]!;
            return { key: `t${i}`, dtype: s.dtype, size: v.size, view: { storage: String(v.storage), numel: Math.max(0, s.numel + s.declared), offset: v.offset, stride: v.stride.slice(0, v.size.length).concat(v.size.slice(v.stride.length).map(() => 1)) } };
          }),
        );
        const zip = buildZip([
          { name: 'archive/data.pkl', data: pkl },
          ...st.map((s, i) => ({ name: `archive/data/${i}`, data: new Uint8Array(s.numel * ({ float32: 4, float16: 2, float64: 8, int64: 8, uint8: 1 } as Record<string, number>)[s.dtype]!).fill(0x3c) })),
          { name: 'archive/version', data: Buffer.from('3\n') },
        ]);
        checkpointOutcome(Buffer.concat(zip));
      }),
      { numRuns: 600, seed: 1307 },
    );
  });

  it('the fuzzing reached both outcomes and many distinct refusals', () => {
    // A fuzzer that only ever hits one early check proves little: many results and kinds of refusal.
    expect(outcomes.results).toBeGreaterThan(100);
    expect(outcomes.errors.size).toBeGreaterThan(10);
    expect(slowest).toBeLessThan(CASE_MS);
  });
});

describe('document loader under fuzzing', () => {
  it('mutated document text: a document or a one-line DocumentError that does not quote the text', () => {
    const good = serializeDocument(buildPreset('resnet18'));
    const edit = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), text: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('[', ']', '{', '}', ',', '"', '\uFEFF', '\n', '[[[[[[[[', 'SECRET')), del: fc.nat({ max: 8 }) });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 5 }), (edits) => {
        let t = good;
        for (const e of edits) {
          const at = Math.floor(e.at * t.length);
          t = t.slice(0, at) + e.text + t.slice(at + e.del);
        }
        const t0 = performance.now();
        try {
          parseDocument(t);
        } catch (e) {
          if (!(e instanceof DocumentError)) throw e;
          expect(e.message).not.toMatch(/\n/);
          expect(e.message).not.toContain('SECRET');
        }
        expect(performance.now() - t0).toBeLessThan(CASE_MS);
      }),
      { numRuns: 800, seed: 1305 },
    );
  });

  it('random JSON values, deep and wide', () => {
    const deep = fc.nat({ max: 5000 }).map((d) => '{"format":"reid-studio-graph","version":1,"graph":' + '{"a":['.repeat(d) + ']}'.repeat(d) + '}');
    fc.assert(
      fc.property(fc.oneof(fc.json({ depthSize: 'large' }), deep), (text) => {
        try {
          parseDocument(text);
        } catch (e) {
          if (!(e instanceof DocumentError)) throw e;
          expect(e.message).not.toMatch(/\n/);
        }
      }),
      { numRuns: 500, seed: 1306 },
    );
  });
});
