import { crc32, inflateRawSync } from 'node:zlib';
import { CheckpointError, type CheckpointErrorCode } from './errors.js';
import { LIMITS } from './limits.js';

/**
 * Minimal zip reader/writer for PyTorch checkpoints. torch.save (caffe2/serialize/inline_container.cc,
 * PyTorchStreamWriter) writes stored (uncompressed) entries whose data is padded to 64-byte alignment
 * with an extra field, and zip64 records for large files. Parsing the central directory ourselves keeps
 * the whole file in one Buffer and hands out zero-copy views. Deflated entries (a checkpoint re-zipped by
 * another tool) are inflated with node:zlib.
 */

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function bad(msg: string, code?: CheckpointErrorCode): never {
  throw new CheckpointError(msg, code);
}

/** A 64-bit zip field as a number; values beyond 2^53 cannot be offsets or sizes of a file in memory. */
function u64(buf: Buffer, at: number, end: number, what: string): number {
  if (at + 8 > end) bad(`damaged zip checkpoint: a zip64 ${what} lies outside its record`);
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`damaged zip checkpoint: zip64 ${what} ${v} is impossible`);
  return Number(v);
}

/**
 * Reads the central directory. Checked before anything is allocated: the entry count (at most
 * LIMITS.zipEntries, and one 46-byte record each must fit in the directory), every record and its name /
 * extra / comment fields inside the directory, every local header offset and stored extent inside the
 * buffer. Throws CheckpointError.
 */
export function readZipDirectory(buf: Buffer): ZipEntry[] {
  if (buf.length < 22) bad('truncated or damaged zip checkpoint: no end-of-central-directory record (was the file cut short while copying?)');
  // The end-of-central-directory record is in the last 22 + 65535 bytes (its comment is at most 64 KiB).
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad('truncated or damaged zip checkpoint: no end-of-central-directory record (was the file cut short while copying?)');
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if ((count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) && eocd >= 20 && buf.readUInt32LE(eocd - 20) === EOCD64_LOCATOR) {
    const off = u64(buf, eocd - 20 + 8, eocd, 'end record offset');
    if (off + 56 > buf.length || buf.readUInt32LE(off) !== EOCD64) bad('damaged zip checkpoint: bad zip64 end record');
    count = u64(buf, off + 32, off + 56, 'entry count');
    cdSize = u64(buf, off + 40, off + 56, 'directory size');
    cdOffset = u64(buf, off + 48, off + 56, 'directory offset');
  }
  if (cdOffset + cdSize > buf.length) bad('truncated zip checkpoint: the central directory lies past the end of the file');
  if (count > LIMITS.zipEntries) bad(`damaged zip checkpoint: ${count} entries (at most ${LIMITS.zipEntries} are read)`, 'E_CHECKPOINT_TOO_LARGE');
  if (count * 46 > cdSize) bad(`damaged zip checkpoint: ${count} entries cannot fit in a central directory of ${cdSize} bytes`);
  const cdEnd = cdOffset + cdSize;
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || buf.readUInt32LE(p) !== CENTRAL) bad('damaged zip checkpoint: bad central directory entry');
    const method = buf.readUInt16LE(p + 10);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    const eEnd = p + 46 + nameLen + extraLen;
    if (eEnd + commentLen > cdEnd) bad('damaged zip checkpoint: a central directory entry runs past the directory');
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information: the 64-bit values appear in this order, only for fields that are 0xffffffff.
    let e = p + 46 + nameLen;
    while (e + 4 <= eEnd) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      const fieldEnd = Math.min(e + 4 + len, eEnd);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) (size = u64(buf, q, fieldEnd, 'size')), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(buf, q, fieldEnd, 'compressed size')), (q += 8);
        if (localOffset === 0xffffffff) localOffset = u64(buf, q, fieldEnd, 'offset');
      }
      e += 4 + len;
    }
    if (localOffset + 30 > buf.length || localOffset + compressedSize > buf.length) bad(`truncated zip checkpoint: ${name.slice(0, 100)} lies past the end of the file`);
    entries.push({ name, method, compressedSize, size, localOffset });
    p = eEnd + commentLen;
  }
  return entries;
}

/**
 * The entry's bytes (a view into `buf` for stored entries). A deflated entry is inflated only when its
 * declared size is possible (at most LIMITS.deflateRatio × its compressed size) and, with every entry
 * inflated before it from the same `budget`, under LIMITS.zipInflatedTotal; inflation stops at the
 * declared size. Throws CheckpointError.
 */
export function zipEntryData(buf: Buffer, e: ZipEntry, budget: { inflated: number } = { inflated: 0 }): Buffer {
  const raw = zipEntryCheck(buf, e);
  const label = e.name.slice(0, 100);
  if (e.method === 0) return raw;
  budget.inflated += e.size;
  if (budget.inflated > LIMITS.zipInflatedTotal) bad(`zip checkpoint inflates to more than ${LIMITS.zipInflatedTotal / 2 ** 30} GiB`, 'E_CHECKPOINT_TOO_LARGE');
  let out: Buffer;
  try {
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
  } catch {
    return bad(`damaged zip checkpoint: cannot inflate ${label}`);
  }
  if (out.length !== e.size) bad(`damaged zip checkpoint: ${label} inflates to ${out.length} bytes, not the ${e.size} its header says`);
  return out;
}

/**
 * Everything zipEntryData checks short of inflating: the local header, the entry inside the file, a stored
 * entry's two sizes, a deflated entry's declared ratio, the method. Returns the entry's raw (compressed) bytes.
 */
export function zipEntryCheck(buf: Buffer, e: ZipEntry): Buffer {
  const h = e.localOffset;
  const label = e.name.slice(0, 100);
  if (h + 30 > buf.length || buf.readUInt32LE(h) !== LOCAL) bad(`damaged zip checkpoint: bad local header for ${label}`);
  const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
  if (start + e.compressedSize > buf.length) bad(`truncated zip checkpoint: ${label} extends past the end of the file`);
  const raw = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) {
    if (e.size !== e.compressedSize) bad(`damaged zip checkpoint: stored entry ${label} has two different sizes`);
    return raw;
  }
  if (e.method === 8) {
    if (e.size > e.compressedSize * LIMITS.deflateRatio + 1024) bad(`damaged zip checkpoint: ${label} claims to inflate ${e.compressedSize} bytes to ${e.size}, more than deflate can`);
    return raw;
  }
  return bad(`unsupported zip compression method ${e.method} for ${label}`, 'E_UNSUPPORTED_CHECKPOINT');
}

/**
 * Writes a zip of stored entries laid out like PyTorchStreamWriter's: each entry's data starts on a
 * 64-byte boundary (padding in a local extra field with id "FB", as torch does), CRC-32 filled in, and
 * zip64 records when offsets or sizes exceed 32 bits.
 */
export function buildZip(entries: { name: string; data: Uint8Array }[]): Buffer[] {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const ALIGN = 64;
  for (const en of entries) {
    const name = Buffer.from(en.name, 'utf8');
    const crc = crc32(en.data);
    const big = en.data.length >= 0xffffffff || offset >= 0xffffffff;
    const z64Local = big ? 20 : 0;
    const headerLen = 30 + name.length + z64Local;
    // Padding extra field: 4 bytes header + pad so that data starts at a multiple of ALIGN.
    const pad = (ALIGN - ((offset + headerLen + 4) % ALIGN)) % ALIGN;
    const extra = Buffer.alloc(z64Local + 4 + pad);
    if (big) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(BigInt(en.data.length), 4);
      extra.writeBigUInt64LE(BigInt(en.data.length), 12);
    }
    extra.writeUInt16LE(0x4246, z64Local); // "FB"
    extra.writeUInt16LE(pad, z64Local + 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(big ? 45 : 20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(0, 10); // time/date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(big ? 0xffffffff : en.data.length, 18);
    local.writeUInt32LE(big ? 0xffffffff : en.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    parts.push(local, name, extra, Buffer.from(en.data.buffer, en.data.byteOffset, en.data.byteLength));
    const cz64 = big ? Buffer.alloc(28) : Buffer.alloc(0);
    if (big) {
      cz64.writeUInt16LE(0x0001, 0);
      cz64.writeUInt16LE(24, 2);
      cz64.writeBigUInt64LE(BigInt(en.data.length), 4);
      cz64.writeBigUInt64LE(BigInt(en.data.length), 12);
      cz64.writeBigUInt64LE(BigInt(offset), 20);
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(CENTRAL, 0);
    c.writeUInt16LE(big ? 45 : 20, 4);
    c.writeUInt16LE(big ? 45 : 20, 6);
    c.writeUInt16LE(0, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt32LE(0, 12);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(big ? 0xffffffff : en.data.length, 20);
    c.writeUInt32LE(big ? 0xffffffff : en.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(cz64.length, 30);
    c.writeUInt32LE(big ? 0xffffffff : offset, 42);
    central.push(c, name, cz64);
    offset += local.length + name.length + extra.length + en.data.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  parts.push(...central);
  const need64 = cdOffset + cdSize >= 0xffffffff || entries.length >= 0xffff;
  if (need64) {
    const r = Buffer.alloc(56);
    r.writeUInt32LE(EOCD64, 0);
    r.writeBigUInt64LE(44n, 4);
    r.writeUInt16LE(45, 12);
    r.writeUInt16LE(45, 14);
    r.writeBigUInt64LE(BigInt(entries.length), 24);
    r.writeBigUInt64LE(BigInt(entries.length), 32);
    r.writeBigUInt64LE(BigInt(cdSize), 40);
    r.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(EOCD64_LOCATOR, 0);
    loc.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
    loc.writeUInt32LE(1, 16);
    parts.push(r, loc);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(EOCD, 0);
  end.writeUInt16LE(need64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(need64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(need64 ? 0xffffffff : cdSize, 12);
  end.writeUInt32LE(need64 ? 0xffffffff : cdOffset, 16);
  parts.push(end);
  return parts;
}
