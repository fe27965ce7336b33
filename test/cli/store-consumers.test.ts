/**
 * The ONNX and PyTorch consumers of the weight store (main/weights/store.ts, issue 20) run without
 * TensorFlow.js: `export --format pytorch|onnx` and `embed --backend onnxruntime` load no `@tensorflow`
 * module (asserted on what Node loads, through an ESM load hook, as startup.test.ts does for `--version`).
 * References: the `.pth` written from the store has the keys and shapes of reid-strong-baseline's own model
 * (test/fixtures/frameworks/rsb-state-dicts.json, made by the framework's code: a strict load succeeds
 * exactly then) and loads with strict=True into the exported model.py; the features `embed` computes from
 * that `.pth` on onnxruntime equal PyTorch's forward of that model on the same images.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON } from '../parity/fixtures.js';
import { runRecordingModules } from './loaded-modules.js';

const RSB = (JSON.parse(readFileSync(new URL('../fixtures/frameworks/rsb-state-dicts.json', import.meta.url), 'utf8')) as { models: Record<string, Record<string, number[]>> }).models;
const dir = mkdtempSync(join(tmpdir(), 'reid-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI; returns its exit code, stderr and every module URL Node loaded. */
const cli = (name: string, args: string[]) => runRecordingModules(args, join(dir, `${name}.modules`), 300_000);

const tfjsModules = (urls: string[]) => urls.filter((u) => u.includes('/@tensorflow/'));
const sorted = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
const GRAPH = ['--preset', 'resnet18', '--input', '64x32', '--num-classes', '751'];

describe('weight store consumers: no TensorFlow.js on the way to a .pth, an ONNX file or an ONNX session', () => {
  const pth = join(dir, 'r18');

  it('export --format pytorch: writes a .pth that loads strictly into the framework\'s model, without loading tfjs', () => {
    const r = cli('export-pytorch', ['export', ...GRAPH, '--format', 'pytorch', '--out', pth]);
    expect(r.stderr).not.toMatch(/internal error/i);
    expect(r.status).toBe(0);
    expect(r.urls.some((u) => u.includes('/app/dist/'))).toBe(true); // the hook saw the bundle load
    expect(tfjsModules(r.urls)).toEqual([]);
    const py = `
import json, sys, importlib.util, torch
torch.set_num_threads(1)
d = sys.argv[1]
sd = torch.load(d + '/model.pth', map_location='cpu')
spec = importlib.util.spec_from_file_location('m', d + '/model.py'); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
net = m.ReidModel()
res = net.load_state_dict(sd, strict=True)
print(json.dumps({'keys': {k: list(v.shape) for k, v in sd.items()}, 'missing': list(res.missing_keys), 'unexpected': list(res.unexpected_keys)}))`;
    const out = JSON.parse(execFileSync(PYTHON, ['-c', py, pth], { encoding: 'utf8', timeout: 120_000 })) as { keys: Record<string, number[]>; missing: string[]; unexpected: string[] };
    expect(sorted(out.keys)).toEqual(sorted(RSB.resnet18!));
    expect([out.missing, out.unexpected]).toEqual([[], []]);
  });

  it('export --format onnx and embed --backend onnxruntime from that .pth: no tfjs, and the features of PyTorch\'s forward', () => {
    const onnx = cli('export-onnx', ['export', ...GRAPH, '--weights', join(pth, 'model.pth'), '--format', 'onnx', '--out', join(dir, 'r18.onnx')]);
    expect(onnx.status).toBe(0);
    expect(tfjsModules(onnx.urls)).toEqual([]);

    const images = join(dir, 'images');
    mkdirSync(images);
    const feats = join(dir, 'feats.json');
    // Three 64×32 images (no resize), then PyTorch's eval-mode feature with T.Normalize(ImageNet mean / std).
    const py = `
import json, sys, os, importlib.util, numpy as np, torch
from PIL import Image
torch.set_num_threads(1)
d, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(20)
names = []
for i in range(3):
    n = f'{i:04d}_c1s1_000001_00.png'; Image.fromarray(rng.integers(0, 256, (64, 32, 3), dtype=np.uint8)).save(os.path.join(out, n)); names.append(n)
spec = importlib.util.spec_from_file_location('m', d + '/model.py'); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
net = m.load_weights(m.ReidModel(), d + '/model.pth').eval()
x = np.stack([np.asarray(Image.open(os.path.join(out, n)).convert('RGB'), dtype=np.float32) / 255 for n in names])
x = (x - np.array([0.485, 0.456, 0.406], dtype=np.float32)) / np.array([0.229, 0.224, 0.225], dtype=np.float32)
with torch.no_grad(): f = net(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
print(json.dumps({'files': names, 'features': f.tolist()}))`;
    const ref = JSON.parse(execFileSync(PYTHON, ['-c', py, pth, images], { encoding: 'utf8', timeout: 120_000 })) as { files: string[]; features: number[][] };

    const e = cli('embed-onnx', ['embed', ...GRAPH, '--weights', join(pth, 'model.pth'), '--images', images, '--out', feats, '--backend', 'onnxruntime', '--progress', 'none']);
    expect(e.stderr).toMatch(/features on onnxruntime/);
    expect(e.status).toBe(0);
    expect(tfjsModules(e.urls)).toEqual([]);
    const got = JSON.parse(readFileSync(feats, 'utf8')) as { files: string[]; features: number[][]; backend: string; backendReport?: unknown };
    expect(got.backend).toBe('onnxruntime');
    expect(got.backendReport).toBeUndefined(); // tfjs was not loaded, so there is no tfjs backend to report
    expect(got.files.map((f) => f.split('/').pop())).toEqual(ref.files);
    const want = ref.features.flat();
    const max = Math.max(...want.map(Math.abs));
    const diff = Math.max(...got.features.flat().map((v, i) => Math.abs(v - want[i]!)));
    expect(max).toBeGreaterThan(0.01);
    expect(diff).toBeLessThanOrEqual(1e-4 * max);
  });
});
