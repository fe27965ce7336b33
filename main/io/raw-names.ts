/**
 * File and folder names that are not valid UTF-8 (Linux names are bytes; a dataset copied from an old
 * Latin-1 system has `0001_c1s1_\xe9.jpg`). Node decodes such a name to U+FFFD, which names no file: the
 * image was dropped as "no such file" (issue #25). Here a name is decoded the way Python's `os.fsdecode`
 * does (PEP 383 "surrogateescape"): valid UTF-8 as text, each byte that is not part of a valid sequence as
 * the lone surrogate U+DC80…U+DCFF. The string goes through the app unchanged (JSON escapes lone surrogates
 * and reads them back; worker messages keep them), and `fsPath` turns it back into the exact bytes where a
 * file is opened. Names that are valid UTF-8 stay plain strings, byte for byte the same path.
 */
import { readFileSync } from 'node:fs';

/** Length of the valid UTF-8 sequence starting at `i` (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF), or 0. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** A file name's bytes as a string: UTF-8 decoded, each invalid byte b as U+DC00 + b (Python `os.fsdecode`). */
export function decodeFsName(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '';
  let start = 0;
  for (let i = 0; i < buf.length; ) {
    const n = utf8SequenceLength(buf, i);
    if (n) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', start, i) + String.fromCharCode(0xdc00 + buf[i]!);
    start = ++i;
  }
  return out + buf.toString('utf8', start);
}

const ESCAPED = /[\udc80-\udcff]/;

/** True when `p` holds a byte that is not valid UTF-8 (decoded by decodeFsName). */
export function hasRawBytes(p: string): boolean {
  return ESCAPED.test(p);
}

/**
 * The path to hand to node:fs: `p` itself, or — when it holds escaped bytes — a Buffer with the exact bytes
 * (Python `os.fsencode`). Valid UTF-8 paths are returned unchanged.
 */
export function fsPath(p: string): string | Buffer {
  if (!hasRawBytes(p)) return p;
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < p.length; i++) {
    const u = p.charCodeAt(i);
    // A lone low surrogate (not after a high one) is an escaped byte.
    if (u >= 0xdc80 && u <= 0xdcff && !(i > 0 && p.charCodeAt(i - 1) >= 0xd800 && p.charCodeAt(i - 1) <= 0xdbff)) {
      parts.push(Buffer.from(p.slice(start, i), 'utf8'), Buffer.from([u - 0xdc00]));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(p.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** `p` for messages: each escaped byte written `\xNN` (as Python's repr and `ls -b` show it). */
export function displayPath(p: string): string {
  return p.replace(/[\udc80-\udcff]/g, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16)}`);
}

/**
 * The process's arguments with names that are not valid UTF-8 kept: Node decodes argv lossily (U+FFFD), so on
 * Linux the raw bytes are read back from /proc/self/cmdline and decoded with decodeFsName. Only an argument
 * that holds U+FFFD and whose lossy decoding equals Node's is replaced; elsewhere (no /proc, a mismatch) the
 * arguments are returned unchanged.
 */
export function rawArgv(argv: readonly string[]): string[] {
  if (!argv.some((a) => a.includes('\ufffd'))) return [...argv];
  let raw: Buffer;
  try {
    raw = readFileSync('/proc/self/cmdline');
  } catch {
    return [...argv];
  }
  const all: Buffer[] = [];
  for (let s = 0, i = raw.indexOf(0); i >= 0; s = i + 1, i = raw.indexOf(0, s)) all.push(raw.subarray(s, i));
  // The user's arguments are the last ones on the command line (after node, its flags and the script).
  if (all.length < argv.length) return [...argv];
  const tail = all.slice(all.length - argv.length);
  return argv.map((a, i) => (a.includes('\ufffd') && tail[i]!.toString('utf8') === a ? decodeFsName(tail[i]!) : a));
}
