/**
 * The `onnx` export. onnxruntime-node (Microsoft's runtime, a real optional dependency installed here)
 * loads the written file; its features must equal the app's tfjs eval features within 1e-4 · max|ref| for
 * plain ResNet (no stem ReLU: max pool padding must act as −∞), IBN-a, GeM (fixed and learned p), BNNeck
 * after / before and no neck, fast-reid's non-local blocks, at batch 1 and 3 from one session (dynamic batch). Through the CLI with a
 * PyTorch checkpoint (test/parity/reference.py), the features equal PyTorch's own model's.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, compileToKeras, serializeDocument, type GraphDoc } from '../../core/index.js';
import { exportModel } from '../../main/export/index.js';
import { nhwcToNchw } from '../../main/onnx/runtime.js';
import { buildFromCompiled, disposeModel, extractFeatures, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { generateFixtures, maxDiff, readF32, type ParityCase } from '../parity/fixtures.js';
import { customDoc, randomInput, randomWeights } from './graphs.js';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000 });
const [H, W] = [64, 32];

let tmp: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'reid-export-onnx-'));
  await initBackend('wasm');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** resnet18 with fast-reid's fixed-p GeM (p = 3) in place of the global average pool. */
function gemDoc(): GraphDoc {
  const doc = buildPreset('resnet18', { input: [H, W], numClasses: 5 });
  const gap = doc.graph.nodes.find((n) => n.id === 'gap')!;
  gap.kind = 'gem_pool';
  gap.params = { p: 3, learnable: false, eps: 1e-6 };
  return doc;
}

/** resnet18 with one fast-reid non-local block after layer3's last block. */
function nonLocalDoc(): GraphDoc {
  const doc = buildPreset('resnet18', { input: [H, W], numClasses: 5 });
  doc.graph.nodes.find((n) => n.id === 'layer3')!.params.non_local = 1;
  return doc;
}

/** ONNX Runtime's features of `n` NHWC images. */
async function ortFeatures(session: ort.InferenceSession, x: Float32Array, n: number): Promise<Float32Array> {
  const out = await session.run({ input: new ort.Tensor('float32', nhwcToNchw(x, n, H, W, 3), [n, 3, H, W]) });
  return out.feat!.data as Float32Array;
}

const CASES: { id: string; doc: () => GraphDoc; dim: number }[] = [
  { id: 'resnet18, BNNeck after (max pool −∞ padding: no stem ReLU)', doc: () => buildPreset('resnet18', { input: [H, W], numClasses: 5 }), dim: 512 },
  { id: 'resnet50_ibn_a, BNNeck before', doc: () => buildPreset('resnet50_ibn_a', { input: [H, W], numClasses: 5, neckFeat: 'before' }), dim: 2048 },
  { id: 'resnet18, no neck', doc: () => buildPreset('resnet18', { input: [H, W], numClasses: 5, neck: 'no' }), dim: 512 },
  { id: 'resnet18, GeM p = 3', doc: gemDoc, dim: 512 },
  { id: 'custom: learned GeM, InstanceNorm, IBN-a in layer2, ceil-mode max pool', doc: () => customDoc([H, W], 7), dim: 512 },
  // One block: stacked non-local blocks are cubic in their input, and random weights overflow float32.
  { id: 'resnet18 with a fast-reid non-local block (NL_3.0)', doc: nonLocalDoc, dim: 512 },
];

describe('onnx export: onnxruntime-node equals the app\'s tfjs features', () => {
  for (const [i, c] of CASES.entries())
    it(c.id, async () => {
      const doc = c.doc();
      const compiled = compileToKeras(analyze(doc.graph));
      const weights = randomWeights(compiled.layers, 100 + i);
      const file = join(tmp, `case${i}.onnx`);
      const res = await exportModel(doc, 'onnx', file, { weights });
      expect(res).toMatchObject({ format: 'onnx', files: [`case${i}.onnx`], warnings: [] });
      expect(readdirSync(tmp).filter((f) => f.startsWith('.'))).toEqual([]);

      const reid = await buildFromCompiled(compiled);
      const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2 });
      try {
        setWeightsFromValues(reid, compiled.layers, weights);
        for (const n of [1, 3]) {
          const x = randomInput(n, H, W, 3, 7 + n + i);
          const want = await extractFeatures(reid, x, n, n);
          expect(want.dim).toBe(c.dim);
          const got = await ortFeatures(session, x, n);
          const { diff, ref } = maxDiff(got, want.features);
          console.log(`onnx ${c.id} batch ${n}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
          expect(ref).toBeGreaterThan(0.01);
          expect(diff).toBeLessThanOrEqual(1e-4 * ref);
        }
      } finally {
        await session.release();
        disposeModel(reid);
      }
    }, 240_000);

  it('the file declares opset ≥ 13, a symbolic batch dimension, the feature output and the preprocessing', () => {
    const m = fromBinary(ModelProtoSchema, readFileSync(join(tmp, 'case0.onnx')));
    expect(Number(m.opsetImport.find((o) => o.domain === '')!.version)).toBeGreaterThanOrEqual(13);
    const dims = (v: NonNullable<typeof m.graph>["input"][number]) => (v.type!.value.value as { shape: { dim: { value: { case?: string; value?: unknown } }[] } }).shape.dim.map((d) => d.value.value);
    expect(m.graph!.input.map((v) => v.name)).toEqual(['input']);
    expect(dims(m.graph!.input[0]!)).toEqual(['batch', 3n, BigInt(H), BigInt(W)]);
    expect(m.graph!.output.map((v) => v.name)).toEqual(['feat']);
    expect(dims(m.graph!.output[0]!)).toEqual(['batch', 512n]);
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ input_height: String(H), input_width: String(W), interpolation: 'bilinear', pixel_mean: '[0.485,0.456,0.406]', pixel_std: '[0.229,0.224,0.225]' });
    // Eval-mode feature path only: the classifier (logits) is not in the graph.
    expect(m.graph!.initializer.some((t) => t.name.startsWith('classifier'))).toBe(false);
    expect(new Set(m.graph!.node.map((n) => n.opType))).toEqual(new Set(['Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'Add', 'GlobalAveragePool', 'Flatten']));
  });
});

describe('export --format onnx through the CLI', () => {
  const c: ParityCase = { id: 'onnx_r18ibn', preset: 'resnet18_ibn_a', neck: 'bnneck', neckFeat: 'after', lastStride: 2, numClasses: 11, input: [H, W], batch: 3, seed: 61 };
  let fx: ReturnType<typeof generateFixtures>;
  beforeAll(() => {
    fx = generateFixtures([c]);
  });
  afterAll(() => fx?.cleanup());

  it('with --weights from a PyTorch checkpoint, onnxruntime reproduces PyTorch\'s own features', async () => {
    const out = join(tmp, 'cli.onnx');
    const r = cli('export', '--preset', c.preset, '--input', `${H}x${W}`, '--num-classes', '11', '--last-stride', '2', '--weights', join(fx.dir, `${c.id}.pth`), '--format', 'onnx', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, format: 'onnx', out, warnings: [] });
    const session = await ort.InferenceSession.create(out);
    try {
      const got = await ortFeatures(session, readF32(join(fx.dir, `${c.id}.input.f32`)), c.batch);
      const { diff, ref } = maxDiff(got, readF32(join(fx.dir, `${c.id}.expected.f32`)));
      console.log(`onnx CLI export vs PyTorch: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
      expect(ref).toBeGreaterThan(0.01);
      expect(diff).toBeLessThanOrEqual(1e-4 * ref);
    } finally {
      await session.release();
    }
  }, 240_000);

  it('refuses a graph whose eval feature is not a vector, with one line and nothing written', () => {
    const doc = buildPreset('resnet18', { input: [H, W], numClasses: 5 });
    // The eval feature taken straight from layer4 (a feature map).
    const e = doc.graph.edges.find((x) => x.targetPort === 'eval_feature')!;
    expect(e).toBeDefined();
    Object.assign(e, { source: 'layer4', sourcePort: 'out', id: `layer4:out->${e.target}:eval_feature` });
    const path = join(tmp, 'bad.json');
    writeFileSync(path, serializeDocument(doc));
    const out = join(tmp, 'bad.onnx');
    const r = cli('export', path, '--format', 'onnx', '--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
