/**
 * Activation maps (core/compile/actmap.ts, the engines' extra output): torchreid's `visactmap` formula
 * evaluated in PyTorch (Debian python3-torch) on the same model's feature map — the app's `pytorch` export
 * of the same weights, the map captured at the global pooling's input — equals the map the onnxruntime
 * engine (ReduceSumSquare output of the lowered graph) and the tfjs engine (the feature-map layer's output)
 * compute, within 1e-4 · max|ref|, and the bilinear resize to the image equals PyTorch's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildMgn, buildPreset, compileToKeras, featureMapLayer, normalizeActmaps, overlayActmap, resizeBilinear, getKind, lowerToOnnx, ACTMAP_OUTPUT_NAME, RSB_PREPROCESS, serializeDocument } from '../../core/index.js';
import { exportModel } from '../../main/export/index.js';
import { writeCheckpoint as writeRunCheckpoint } from '../../main/runs/store/checkpoint.js';
import { weightKey } from '../../main/runs/store/checkpoint-keys.js';
import { Service } from '../../main/service/index.js';
import { writeEvalFeatures } from '../../main/training/engine/eval-features.js';
import { evaluate } from '../../main/training/eval/evaluate.js';
import { featureEngine } from '../../main/onnx/engine.js';
import { defaultPreprocessing } from '../../main/onnx/model.js';
import { buildFromCompiled, disposeModel, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { randomInput, randomWeights } from '../export/graphs.js';
import { maxDiff, PYTHON, readF32 } from '../parity/fixtures.js';
import { testRandom } from '../training/python.js';

const REF = fileURLToPath(new URL('./actmap_ref.py', import.meta.url));
const BLEND = fileURLToPath(new URL('./blend_ref.py', import.meta.url));
const blendRef = <T,>(req: unknown): T => JSON.parse(execFileSync(PYTHON, [BLEND], { input: JSON.stringify(req), encoding: 'utf8' })) as T;
/** The JPEG of a data URL written to `work/<name>.jpg`. */
const jpegFile = (url: string, name: string) => {
  const f = join(work, `${name}.jpg`);
  writeFileSync(f, Buffer.from(url.split(',')[1]!, 'base64'));
  return f;
};
let work: string;

beforeAll(async () => {
  await initBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'actmap-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Three 128×64 PNGs of smooth random blobs (photo-like, not white noise, so the maps have structure), once. */
async function writeImages(): Promise<string> {
  const images = join(work, 'images');
  if (existsSync(images)) return images;
  mkdirSync(images);
  const rnd = testRandom(32);
  for (const name of ['a.png', 'b.png', 'c.png']) {
    const rgb = Buffer.alloc(128 * 64 * 3);
    const [cy, cx, r] = [rnd() * 128, rnd() * 64, 10 + rnd() * 30];
    for (let y = 0; y < 128; y++)
      for (let x = 0; x < 64; x++)
        for (let c = 0; c < 3; c++) rgb[(y * 64 + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(255 * Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (r * r)) * (0.5 + c * 0.2) + rnd() * 40)));
    await sharp(rgb, { raw: { width: 64, height: 128, channels: 3 } }).png().toFile(join(images, name));
  }
  return images;
}

function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>) {
  const { diff, ref } = maxDiff(got, want);
  console.log(`actmap ${name}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(4)}`);
  expect(ref).toBeGreaterThan(0.01);
  expect(diff).toBeLessThanOrEqual(1e-4 * ref);
}

describe('activation maps equal torchreid visualize_actmap in PyTorch', () => {
  it('resnet18 (RSB Baseline, BNNeck), 3 images of 128×64: onnxruntime and tfjs engines', async () => {
    const doc = buildPreset('resnet18', { input: [128, 64], numClasses: 5 });
    const compiled = compileToKeras(analyze(doc.graph));
    const weights = randomWeights(compiled.layers, 23);
    const [H, W] = [128, 64];
    const n = 3;
    const x = randomInput(n, H, W, 3, 24);
    const inputPath = join(work, 'x.f32');
    writeFileSync(inputPath, Buffer.from(x.buffer));
    const exported = join(work, 'export');
    await exportModel(doc, 'pytorch', exported, { weights });
    const fm = featureMapLayer(compiled.layers, compiled.metadata.roles.evalFeature);
    const pool = compiled.layers.find((l) => l.inputs[0] === fm.name && getKind(l.kind)?.globalPool)!;
    const spec = join(work, 'spec.json');
    writeFileSync(spec, JSON.stringify({ export: exported, input: inputPath, shape: [n, H, W, 3], pool: pool.name, out: join(work, 'ref') }));
    const dims = JSON.parse(execFileSync(PYTHON, [REF, spec], { encoding: 'utf8', timeout: 240_000 })) as { h: number; w: number };
    expect(dims).toEqual({ h: 8, w: 4 });
    const ref = readF32(join(work, 'ref', 'actmap.f32'));
    const refResized = readF32(join(work, 'ref', 'resized.f32'));

    const reid = await buildFromCompiled(compiled);
    try {
      setWeightsFromValues(reid, compiled.layers, weights);
      for (const choice of ['onnxruntime', 'wasm'] as const) {
        const engine = await featureEngine(reid, compiled, choice, 'wasm', 'eval', { actmap: true });
        try {
          expect(engine.name).toBe(choice);
          const got = await engine.actmaps!(x, n, 2);
          expect([got.h, got.w]).toEqual([8, 4]);
          const maps = normalizeActmaps(got.maps, n, got.h, got.w);
          expectClose(`${choice} map`, maps, ref);
          const resized = new Float32Array(n * H * W);
          for (let i = 0; i < n; i++) resized.set(resizeBilinear(maps.subarray(i * 32, (i + 1) * 32), 8, 4, H, W), i * H * W);
          expectClose(`${choice} resized`, resized, refResized);
        } finally {
          await engine.dispose();
        }
      }
    } finally {
      disposeModel(reid);
    }
  }, 300_000);

  it('reid-studio actmap writes torchreid\'s overlaid panel for a folder of PNGs (weights from a .pth), equal to numpy/PyTorch', async () => {
    const doc = buildPreset('resnet18', { input: [128, 64], numClasses: 5 });
    const compiled = compileToKeras(analyze(doc.graph));
    const exported = join(work, 'cli-export');
    await exportModel(doc, 'pytorch', exported, { weights: randomWeights(compiled.layers, 31) });
    const images = await writeImages();
    const names = ['a.png', 'b.png', 'c.png'];
    const out = join(work, 'maps');
    const args = ['actmap', '--preset', 'resnet18', '--input', '128x64', '--num-classes', '5', '--weights', join(exported, 'model.pth'), '--images', images, '--out', out, '--json', '--progress', 'none'];
    const r = spawnSync(process.execPath, ['bin/reid-studio.js', ...args], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ featureMap: [8, 4], backend: 'onnxruntime', weights: { source: 'file' } });
    expect(json.files).toEqual(names.map((n) => ({ image: n, png: join(out, n) })));

    const spec = join(work, 'cli-spec.json');
    const pool = compiled.layers.find((l) => getKind(l.kind)?.globalPool)!;
    writeFileSync(spec, JSON.stringify({ export: exported, images: names.map((n) => join(images, n)), mean: RSB_PREPROCESS.pixelMean, std: RSB_PREPROCESS.pixelStd, shape: [3, 128, 64, 3], pool: pool.name, out: join(work, 'cli-ref') }));
    execFileSync(PYTHON, [REF, spec], { encoding: 'utf8', timeout: 240_000 });
    const want = new Uint8Array(readFileSync(join(work, 'cli-ref', 'overlay.u8')));
    for (const [i, n] of names.entries()) {
      const { data, info } = await sharp(join(out, n)).raw().toBuffer({ resolveWithObject: true });
      expect([info.height, info.width, info.channels]).toEqual([128, 64, 3]);
      const ref = want.subarray(i * 128 * 64 * 3, (i + 1) * 128 * 64 * 3);
      // A level of the 0…255 map can fall on the other side of a floor between float32 engines (one jet step:
      // ≤ 4 of 255 per channel, times 0.7); everywhere else the pictures are equal.
      let off = 0;
      for (let k = 0; k < ref.length; k++) {
        const d = Math.abs(data[k]! - ref[k]!);
        expect(d, `${n} value ${k}`).toBeLessThanOrEqual(3);
        if (d) off++;
      }
      expect(off / ref.length, n).toBeLessThan(0.01);
    }
    // --out that is a file: one line, exit 2.
    const bad = spawnSync(process.execPath, ['bin/reid-studio.js', ...args.slice(0, -5), '--out', join(images, 'a.png')], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe(`reid-studio: error: --out ${join(images, 'a.png')} is a file, not a folder`);
  }, 300_000);

  it('runs.actmaps: the run checkpoint\'s maps of the images its evaluation listed; any other path gets null', async () => {
    const doc = buildPreset('resnet18', { input: [64, 32], numClasses: 5 });
    const compiled = compileToKeras(analyze(doc.graph));
    const weights = randomWeights(compiled.layers, 41);
    const home = join(work, 'svc');
    const id = '20260101-000000-am';
    const dir = join(home, 'runs', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ id, name: id, status: 'completed', created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' }));
    writeFileSync(join(dir, 'graph.json'), serializeDocument(doc));
    await writeRunCheckpoint(dir, { tensors: new Map([...weights].map(([k, v]) => [weightKey(k), { shape: [v.length], data: v }])), meta: { weightKeys: [...weights.keys()], step: 3 } });
    const images = await writeImages();
    const img = (name: string) => join(images, name);
    const feats = { data: new Float32Array([1, 0, 0, 1]), rows: 2, dim: 2 };
    const one = { data: new Float32Array([1, 0]), rows: 1, dim: 2 };
    const { queries, ...ev } = await evaluate(one, feats, { pids: [1], camids: [0] }, { pids: [1, 2], camids: [1, 1] }, { metric: 'cosine', featNorm: true, threads: 0, topK: 2 });
    writeFileSync(join(dir, 'eval.json'), JSON.stringify(ev));
    await writeEvalFeatures(dir, { query: { feats: one, records: [{ path: img('a.png'), pid: 1, camid: 0, label: 1 }] }, gallery: { feats, records: [{ path: img('b.png'), pid: 1, camid: 1, label: 1 }, { path: img('c.png'), pid: 2, camid: 1, label: 2 }] }, queries: queries! }, 'cosine', true);
    const svc = new Service({ host: 'browser', version: '0', dataDir: home, documentsDir: home });
    // Before any rank list listed them, no image is served.
    const before = await svc.call('runs.actmaps', { runId: id, paths: [img('a.png')] });
    expect(before.images).toEqual([{ path: img('a.png'), dataUrl: null }]);
    await svc.call('runs.queries', { runId: id, offset: 0, limit: 5, k: 2 });
    const r = await svc.call('runs.actmaps', { runId: id, paths: [img('a.png'), img('c.png'), join(work, 'x.f32')] });
    expect(r).toMatchObject({ engine: 'onnxruntime', featureMap: [4, 2] });
    expect(r.images.map((i) => i.path)).toEqual([img('a.png'), img('c.png'), join(work, 'x.f32')]);
    expect(r.images[2]!.dataUrl).toBeNull();
    for (const i of r.images.slice(0, 2)) {
      expect(i.dataUrl).toMatch(/^data:image\/jpeg;base64,/);
      const meta = await sharp(Buffer.from(i.dataUrl!.split(',')[1]!, 'base64')).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 96, 192]);
    }
    // The map's opacity (the rank list's choice): the picture at 0.5 is Pillow's blend of the picture at 0 (the
    // image alone) and at 1 (the map alone), all three decoded by Pillow; JPEG (quality 85) moves values a little.
    const at = async (opacity: number) => (await svc.call('runs.actmaps', { runId: id, paths: [img('a.png')], opacity })).images[0]!.dataUrl!;
    const files = { image: jpegFile(await at(0), 'o0'), colour: jpegFile(await at(1), 'o1'), picture: jpegFile(await at(0.5), 'o5'), alpha: 0.5 };
    const half = blendRef<{ mean: number; max: number }>({ files });
    console.log(`actmap opacity 0.5 vs Pillow blend of 0 and 1: mean |Δ| ${half.mean.toFixed(2)}, max ${half.max}`);
    expect(half.mean).toBeLessThan(2);
    // … and not the default 0.7 picture, nor the image or the map alone.
    for (const other of [jpegFile(r.images[0]!.dataUrl!, 'o7'), files.image, files.colour]) expect(blendRef<{ mean: number }>({ files: { ...files, picture: other } }).mean).toBeGreaterThan(4);
    expect(await svc.dispatch('runs.actmaps', { runId: id, paths: [], opacity: 1.5 })).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    const missing = await svc.dispatch('runs.actmaps', { runId: '20260101-000000-none', paths: [] });
    expect(missing).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
  }, 300_000);

  it('the overlay blends image·(1 − opacity) + map·opacity: Pillow Image.blend, torchreid\'s image·0.3 + map·0.7 by default', () => {
    const [H, W, h, w] = [16, 8, 4, 2];
    const rnd = testRandom(7);
    const image = Uint8Array.from({ length: H * W * 3 }, () => Math.floor(rnd() * 256));
    const map = Float32Array.from({ length: h * w }, () => rnd());
    const colour = overlayActmap(image, H, W, map, h, w, 1);
    expect(overlayActmap(image, H, W, map, h, w, 0)).toEqual(image);
    const ref = blendRef<{ blend: number[]; torchreid: number[] }>({ raw: { H, W, image: [...image], colour: [...colour], alpha: 0.4 } });
    // Pillow blends in float32 and truncates; here float64 and floor: at most one level apart.
    const ours = overlayActmap(image, H, W, map, h, w, 0.4);
    ours.forEach((v, k) => expect(Math.abs(v - ref.blend[k]!), `value ${k}`).toBeLessThanOrEqual(1));
    expect([...overlayActmap(image, H, W, map, h, w)]).toEqual(ref.torchreid);
    expect(() => overlayActmap(image, H, W, map, h, w, 1.5)).toThrow(RangeError);
  });

  it('MGN (a concat of eight heads): the map is the global branch b1\'s whole layer4 output, not the last head\'s torch.chunk stripe', () => {
    // fast-reid mgn.py: b1 = the global branch (res_conv5 with stride 1 → H/16 × W/16), b33 = the third of b3's three stripes.
    const doc = buildMgn({ input: [96, 32] });
    const compiled = compileToKeras(analyze(doc.graph));
    const fm = featureMapLayer(compiled.layers, compiled.metadata.roles.evalFeature);
    expect(fm.kind).not.toBe('chunk');
    expect(fm.name.startsWith('b1')).toBe(true);
    expect(fm.shape.slice(0, 2)).toEqual([96 / 16, 32 / 16]);
  });

  it('the ONNX lowering adds the map only when asked, as an extra output beside the feature', () => {
    const compiled = compileToKeras(analyze(buildPreset('resnet18', { input: [64, 32], numClasses: 5 }).graph));
    const weights = randomWeights(compiled.layers, 5);
    const opts = { preprocessing: defaultPreprocessing(compiled) };
    const plain = lowerToOnnx(compiled, weights, opts);
    const withMap = lowerToOnnx(compiled, weights, { ...opts, actmap: true });
    expect(plain.graph.outputs.map((o) => o.name)).toEqual(['feat']);
    expect(withMap.graph.outputs).toEqual([plain.graph.outputs[0], { name: ACTMAP_OUTPUT_NAME, shape: ['batch', 4, 2] }]);
    expect(withMap.graph.nodes.length).toBe(plain.graph.nodes.length + 1);
    expect(withMap.graph.nodes.at(-1)).toMatchObject({ opType: 'ReduceSumSquare', outputs: [ACTMAP_OUTPUT_NAME] });
  });
});
