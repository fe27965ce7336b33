/**
 * File and folder names that are not valid UTF-8 (issue #25: they were dropped as "no such file"). Names are
 * decoded as Python's `os.fsdecode` does (PEP 383 surrogateescape) — checked against Python itself on
 * fast-check byte strings — and read back byte-exact: a dataset whose images have such names is read whole,
 * an image folder's and a weights file's raw names work, and a run folder with such a name is refused in
 * one line naming the byte. The files are real, created with Buffer paths.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreset } from '../../core/index.js';
import { decodeFsName, displayPath, fsPath } from '../../main/io/raw-names.js';
import { PYTHON } from '../training/python.js';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'reid-raw-names-'));
const env = { ...process.env, REID_STUDIO_HOME: home };
/**
 * The CLI with arguments as raw bytes. Node's spawn turns a Buffer argument into UTF-8 text (U+FFFD for an
 * invalid byte), so Python execs the CLI with the exact bytes (os.execv takes bytes arguments).
 */
const EXEC_BYTES = 'import os,sys\nargs=[bytes.fromhex(h) for h in sys.argv[1:]]\nos.execv(args[0], args)';
const cli = (...args: (string | Buffer)[]) =>
  spawnSync(PYTHON, ['-c', EXEC_BYTES, ...[process.execPath, BIN, ...args].map((a) => Buffer.from(a).toString('hex'))], { encoding: 'utf8', env, timeout: 300_000 });
const raw = (s: string, ...bytes: number[]) => Buffer.concat([Buffer.from(s), Buffer.from(bytes)]);
const at = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

const data = join(home, 'demo');
const renamed = join(home, 'renamed');
const graph = join(home, 'graph.json');
const weights = join(home, 'export', 'model.pth');

beforeAll(() => {
  expect(cli('demo-data', '--out', data, '--size', 'tiny').status).toBe(0);
  writeFileSync(graph, JSON.stringify(buildPreset('resnet18', { input: [64, 32], numClasses: 12 })));
  expect(cli('export', graph, '--format', 'pytorch', '--out', join(home, 'export')).status).toBe(0);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('names as bytes', () => {
  it('decodeFsName is Python\'s os.fsdecode (surrogateescape) and fsPath gives the bytes back', () => {
    // Byte strings biased towards UTF-8 lead / continuation bytes, overlongs, surrogates and 4-byte forms.
    const byte = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0xc0, max: 0xff }), fc.constantFrom(0xed, 0xe0, 0xf0, 0xf4, 0xa0, 0x9f, 0x8f, 0x90));
    const samples = fc.sample(fc.array(byte, { minLength: 0, maxLength: 12 }), { numRuns: 2000, seed: 25 }).map((a) => Buffer.from(a));
    samples.push(Buffer.from('0001_c1s1_é.jpg'), Buffer.from('😀'), raw('a', 0xff, 0xfe), raw('', 0xed, 0xa0, 0x80), raw('', 0xf4, 0x90, 0x80, 0x80));
    const script = 'import json,os,sys\nprint(json.dumps([os.fsdecode(bytes.fromhex(h)) for h in json.load(sys.stdin)]))';
    const ref = JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(samples.map((b) => b.toString('hex'))), encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8', PYTHONUTF8: '1' } })) as string[];
    samples.forEach((b, i) => {
      const s = decodeFsName(b);
      expect([b.toString('hex'), s]).toEqual([b.toString('hex'), ref[i]]);
      expect(Buffer.from(fsPath(s)).equals(b)).toBe(true);
    });
    expect(fsPath('plain/é.jpg')).toBe('plain/é.jpg');
    expect(displayPath(decodeFsName(raw('/d/a', 0xff)))).toBe('/d/a\\xff');
  });

  it('a dataset whose image names are not UTF-8 is read whole: the same evaluation as with the names in UTF-8', () => {
    cpSync(data, renamed, { recursive: true });
    let n = 0;
    for (const split of ['bounding_box_train', 'query', 'bounding_box_test']) {
      const dir = join(renamed, split);
      const first = readdirSync(dir).filter((f) => f.endsWith('.jpg') && !f.startsWith('-1'))[0]!;
      // 0095_c2s6_317511_01.jpg → 0095_c2s6_317511_01\xff\xe9.jpg: the pid / camera prefix stays readable.
      renameSync(join(dir, first), at(dir, '/', first.slice(0, -4), Buffer.from([0xff, 0xe9]), '.jpg'));
      n++;
    }
    expect(n).toBe(3);
    const run = (root: string) => cli('eval', graph, '--weights', weights, '--data', root, '--json', '--progress', 'none');
    const a = run(data);
    const b = run(renamed);
    expect(b.stderr).not.toMatch(/unreadable|no such file/);
    expect([a.status, b.status]).toEqual([0, 0]);
    const [ea, eb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    expect(eb.numQuery).toBe(ea.numQuery);
    expect(eb.numGallery).toBe(ea.numGallery);
    expect(eb.mAP).toBeCloseTo(ea.mAP, 12);
    expect(eb.cmc).toEqual(ea.cmc);
  }, 300_000);

  it('embed: an image folder and image names that are not UTF-8 are read; the .npy file list keeps the bytes', () => {
    const dir = at(home, '/imgs', Buffer.from([0xe9]));
    mkdirSync(dir);
    const img = readFileSync(join(data, 'query', readdirSync(join(data, 'query')).find((f) => f.endsWith('.jpg'))!));
    writeFileSync(at(dir, '/a', Buffer.from([0xff]), '.jpg'), img);
    writeFileSync(at(dir, '/b.jpg'), img);
    const out = join(home, 'f.json');
    const r = cli('embed', graph, '--weights', weights, '--images', dir, '--out', out, '--progress', 'none');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8')) as { files: string[]; features: number[][] };
    expect(j.files).toEqual(['a\udcff.jpg', 'b.jpg']); // as Python's os.listdir(str) names it
    expect(j.features[0]).toEqual(j.features[1]);
    const npy = join(home, 'f.npy');
    expect(cli('embed', graph, '--weights', weights, '--images', dir, '--out', npy, '--progress', 'none').status).toBe(0);
    expect(readFileSync(`${npy}.files.txt`).equals(at('a', Buffer.from([0xff]), '.jpg\nb.jpg\n'))).toBe(true);
  }, 300_000);

  it('a weights file, a graph file and an export target whose names are not UTF-8 are read and written', () => {
    const w = at(home, '/w', Buffer.from([0xff]), '.pth');
    writeFileSync(w, readFileSync(weights));
    const g = at(home, '/g', Buffer.from([0xfe]), '.json');
    writeFileSync(g, readFileSync(graph));
    const listed = cli('weights', w, '--json');
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).count).toBeGreaterThan(100);
    const out = at(home, '/o', Buffer.from([0xff]), '.onnx');
    const r = cli('export', g, '--weights', w, '--format', 'onnx', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 300_000);

  it('a run folder whose name is not UTF-8 is refused in one line naming the byte, and nothing is created', () => {
    const dir = at(home, '/run', Buffer.from([0xff]));
    const r = cli('train', '--preset', 'resnet18', '--input', '64x32', '--data', data, '--batch', '4,2', '--epochs', '1', '--out', dir);
    expect(r.stderr).toBe(`reid-studio: error: ${home}/run\\xff: a run folder's path must be valid UTF-8; rename the folder or choose another (E_IO)\n`);
    expect(r.status).toBe(2);
    expect(existsSync(dir)).toBe(false);
  }, 300_000);
});
