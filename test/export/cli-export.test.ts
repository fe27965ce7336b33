/**
 * `reid-studio export --format pytorch|tfjs` through the built CLI (bin/reid-studio.js): a PyTorch
 * checkpoint written by test/parity/reference.py goes in with --weights, the exported model.py computes
 * PyTorch's own features; and bad input gets a one-line error (exit 2) without touching existing files.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreset, serializeDocument, type GraphDoc } from '../../core/index.js';
import { exportModel, ExportError } from '../../main/export/index.js';
import { disposeModel, initBackend, loadModelDir } from '../../main/tfjs/index.js';
import { generateFixtures, maxDiff, PYTHON, readF32, type ParityCase } from '../parity/fixtures.js';
import { randomInput } from './graphs.js';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const CHECK = fileURLToPath(new URL('./check_pytorch.py', import.meta.url));
const PARITY_DIR = fileURLToPath(new URL('../parity/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000 });

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'reid-export-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Leftover temp folders of an export (names start with a dot). */
const hidden = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.'));

function docFile(name: string, edit: (doc: GraphDoc) => void): string {
  const doc = buildPreset('resnet18', { input: [64, 32], numClasses: 5 });
  edit(doc);
  const path = join(tmp, `${name}.json`);
  writeFileSync(path, serializeDocument(doc));
  return path;
}

describe('export --format pytorch with --weights from PyTorch', () => {
  const c: ParityCase = { id: 'cli_r18', preset: 'resnet18', neck: 'bnneck', neckFeat: 'after', lastStride: 2, numClasses: 11, input: [64, 32], batch: 2, seed: 51 };
  let fx: ReturnType<typeof generateFixtures>;
  beforeAll(() => {
    fx = generateFixtures([c]);
  });
  afterAll(() => fx?.cleanup());

  it('the exported model.py + model.pth reproduce the original PyTorch features', () => {
    const out = join(tmp, 'r18-pt');
    const r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--num-classes', '11', '--last-stride', '2', '--weights', join(fx.dir, `${c.id}.pth`), '--format', 'pytorch', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: true, format: 'pytorch', out, warnings: [] });
    expect(readdirSync(out).sort()).toEqual(['.reid-studio-export.json', 'model.pth', 'model.py']);
    expect(hidden(tmp)).toEqual([]);

    const spec = join(tmp, 'check.json');
    const reference = { dir: PARITY_DIR, preset: c.preset, numClasses: c.numClasses, lastStride: c.lastStride, neck: c.neck, neckFeat: c.neckFeat };
    writeFileSync(spec, JSON.stringify({ export: out, input: join(fx.dir, `${c.id}.input.f32`), shape: [2, 64, 32, 3], out: join(tmp, 'r18-out'), reference }));
    const rep = JSON.parse(execPython(spec));
    expect(rep.referenceMissing).toEqual([]);
    expect(rep.referenceUnexpected).toEqual([]);
    const want = readF32(join(fx.dir, `${c.id}.expected.f32`));
    for (const f of ['eval.f32', 'reference.f32']) {
      const { diff, ref } = maxDiff(readF32(join(tmp, 'r18-out', f)), want);
      console.log(`export CLI ${f} vs PyTorch: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
      expect(ref).toBeGreaterThan(0.01);
      expect(diff).toBeLessThanOrEqual(1e-4 * ref);
    }
  });
});

function execPython(spec: string): string {
  const r = spawnSync(PYTHON, [CHECK, spec], { encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`check_pytorch.py failed: ${r.stderr}`);
  return r.stdout;
}

describe('export --format pytorch|tfjs: bad input', () => {
  it('refuses --weights for the YAML formats and a missing weights file', () => {
    let r = cli('export', '--preset', 'resnet18', '--format', 'rsb-yaml', '--weights', 'x.pth', '--out', join(tmp, 'x.yml'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--weights applies to --format pytorch, tfjs, fastreid-job, rsb-job, onnx$/m);
    // A run folder's config: the refusal names the command that exports it (its graph.json), and that command works.
    const run = join(tmp, 'run-for-yaml');
    cpSync(fileURLToPath(new URL('../fixtures/checkpoint-v1/run', import.meta.url)), run, { recursive: true });
    r = cli('export', '--weights', run, '--format', 'graph', '--out', join(tmp, 'run-graph.json'));
    expect(r.status).toBe(2);
    const hinted = `reid-studio export ${join(run, 'graph.json')} --format graph --out ${join(tmp, 'run-graph.json')}`;
    expect(r.stderr).toBe(`reid-studio: error: --weights applies to --format pytorch, tfjs, fastreid-job, rsb-job, onnx; for the run's graph: ${hinted}\n`);
    r = cli(...hinted.split(' ').slice(1));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp, 'run-graph.json'), 'utf8')).graph).toEqual(JSON.parse(readFileSync(join(run, 'graph.json'), 'utf8')).graph);
    r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--format', 'pytorch', '--weights', join(tmp, 'missing.pth'), '--out', join(tmp, 'never'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^reid-studio: error: cannot export to pytorch: cannot read weights .*missing\.pth: no such file or folder\n$/);
    expect(existsSync(join(tmp, 'never'))).toBe(false);
    // A file that is not a checkpoint.
    writeFileSync(join(tmp, 'junk.pth'), 'not a checkpoint');
    r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--format', 'tfjs', '--weights', join(tmp, 'junk.pth'), '--out', join(tmp, 'never'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read weights .*junk\.pth: not a PyTorch/);
    expect(hidden(tmp)).toEqual([]);
  });

  it('never replaces a file or a folder of other files; replaces a previous export', () => {
    writeFileSync(join(tmp, 'afile'), 'keep');
    let r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--format', 'tfjs', '--out', join(tmp, 'afile'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/afile is a file; the export writes a folder/);
    expect(readFileSync(join(tmp, 'afile'), 'utf8')).toBe('keep');

    mkdirSync(join(tmp, 'mine'));
    writeFileSync(join(tmp, 'mine', 'notes.txt'), 'keep');
    r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--format', 'pytorch', '--out', join(tmp, 'mine'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/holds other files \(notes\.txt\) and no earlier ReID Studio export/);
    expect(readdirSync(join(tmp, 'mine'))).toEqual(['notes.txt']);

    r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--format', 'tfjs', '--out', join(tmp, 'afile', 'sub'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^reid-studio: error: cannot export to tfjs: cannot write .*afile\/sub: a part of the path is not a folder\n$/);

    const out = join(tmp, 'again');
    r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--format', 'pytorch', '--out', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/note: no weights given: the export holds the freshly initialised model/);
    // An untouched earlier export is replaced...
    r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--num-classes', '3', '--format', 'pytorch', '--out', out);
    expect(r.status).toBe(0);
    expect(readFileSync(join(out, 'model.py'), 'utf8')).toMatch(/nn\.Linear\(512, 3, bias=False\)/);
    // ...but a file the user edited since no longer matches the manifest's size + SHA-256: refused, kept (issue 25).
    writeFileSync(join(out, 'model.py'), 'edited by hand');
    r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--num-classes', '4', '--format', 'pytorch', '--out', out);
    expect(r.status).toBe(2);
    expect(readFileSync(join(out, 'model.py'), 'utf8')).toBe('edited by hand');
    expect(hidden(tmp)).toEqual([]);
  });

  it('a layer name PyTorch cannot hold is refused for pytorch (tfjs is fine, and loads in a fresh process); a broken graph is refused', async () => {
    const reserved = docFile('reserved', (d) => {
      d.graph.nodes.find((n) => n.id === 'classifier')!.name = 'train';
    });
    let r = cli('export', reserved, '--format', 'pytorch', '--out', join(tmp, 'reserved-pt'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot export to pytorch: .*"train" is reserved by torch\.nn\.Module; rename the block/);
    expect(existsSync(join(tmp, 'reserved-pt'))).toBe(false);
    r = cli('export', reserved, '--format', 'tfjs', '--out', join(tmp, 'reserved-tfjs'));
    expect(r.status).toBe(0);
    expect(existsSync(join(tmp, 'reserved-tfjs', 'model.json'))).toBe(true);
    expect(readFileSync(join(tmp, 'reserved-tfjs', 'reid-studio-layers.js'), 'utf8')).toBe(readFileSync(join(ROOT, 'app/dist/reid-studio-layers.cjs'), 'utf8'));

    // The CLI's export (the app's prebuilt layers bundle) loads in a fresh Node process with plain tfjs and
    // gives exactly the outputs of the app's loader on the same backend.
    symlinkSync(join(ROOT, 'node_modules'), join(tmp, 'node_modules'), 'dir');
    copyFileSync(fileURLToPath(new URL('./tfjs-child.cjs', import.meta.url)), join(tmp, 'child.cjs'));
    const input = randomInput(2, 64, 32, 3, 3);
    writeFileSync(join(tmp, 'in.f32'), new Uint8Array(input.buffer));
    mkdirSync(join(tmp, 'child-out'));
    const child = spawnSync(process.execPath, [join(tmp, 'child.cjs'), join(tmp, 'reserved-tfjs'), join(tmp, 'in.f32'), '[2,64,32,3]', join(tmp, 'child-out')], { cwd: tmp, encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout).metadata.reidStudio.roles).toEqual({ evalFeature: 'bottleneck', logits: 'train', trainFeature: 'gap' });
    await initBackend('cpu');
    const app = await loadModelDir(join(tmp, 'reserved-tfjs'));
    try {
      const x = tf.tensor4d(input, [2, 64, 32, 3]);
      const outs = app.model.predict(x) as tf.Tensor[];
      for (const [i, t] of outs.entries()) expect(Buffer.from(readF32(join(tmp, 'child-out', `out${i}.f32`)).buffer).equals(Buffer.from(((await t.data()) as Float32Array).buffer))).toBe(true);
      tf.dispose([x, ...outs]);
    } finally {
      disposeModel(app);
    }

    const broken = docFile('broken', (d) => {
      d.graph.edges = d.graph.edges.filter((e) => e.target !== 'gap');
    });
    r = cli('export', broken, '--format', 'pytorch', '--out', join(tmp, 'broken'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot export to pytorch: the graph cannot be exported: .*E_UNCONNECTED_INPUT/);
    expect(hidden(tmp)).toEqual([]);
  });

  it('exportModel: unknown format, a layer that is also a module parent, weights of the wrong size', async () => {
    const doc = buildPreset('resnet18', { input: [64, 32], numClasses: 5 });
    await expect(exportModel(doc, 'caffe', join(tmp, 'x'))).rejects.toThrow(/unknown model export format "caffe" \(choose one of pytorch, tfjs, onnx\)/);
    await expect(exportModel({} as GraphDoc, 'tfjs', join(tmp, 'x'))).rejects.toThrow(ExportError);
    const nested = structuredClone(doc);
    nested.graph.nodes.find((n) => n.id === 'classifier')!.name = 'bottleneck.head';
    await expect(exportModel(nested, 'pytorch', join(tmp, 'x'))).rejects.toThrow(/layer "bottleneck" is also the parent of layer "bottleneck.head"/);
    const bad = new Map([['classifier/kernel', new Float32Array(3)]]);
    await expect(exportModel(doc, 'tfjs', join(tmp, 'x'), { weights: bad })).rejects.toThrow(/bad weights: 1 tensor\(s\) do not fit the graph \(classifier\.weight: 3 values for shape \[5, 512\]\)/);
    expect(existsSync(join(tmp, 'x'))).toBe(false);
    expect(hidden(tmp)).toEqual([]);
  });
});
