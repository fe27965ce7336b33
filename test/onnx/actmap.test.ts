/**
 * Activation maps (core/compile/actmap.ts, the engines' extra output): torchreid's `visactmap` formula
 * evaluated in PyTorch (Debian python3-torch) on the same model's feature map — the app's `pytorch` export
 * of the same weights, the map captured at the global pooling's input — equals the map the onnxruntime
 * engine (ReduceSumSquare output of the lowered graph) and the tfjs engine (the feature-map layer's output)
 * compute, within 1e-4 · max|ref|, and the bilinear resize to the image equals PyTorch's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, compileToKeras, featureMapLayer, normalizeActmaps, resizeBilinear, getKind, lowerToOnnx, ACTMAP_OUTPUT_NAME } from '../../core/index.js';
import { exportModel } from '../../main/export/index.js';
import { featureEngine } from '../../main/onnx/engine.js';
import { defaultPreprocessing } from '../../main/onnx/model.js';
import { buildFromCompiled, disposeModel, initBackend, setWeightsFromValues } from '../../main/tfjs/index.js';
import { randomInput, randomWeights } from '../export/graphs.js';
import { maxDiff, PYTHON, readF32 } from '../parity/fixtures.js';

const REF = fileURLToPath(new URL('./actmap_ref.py', import.meta.url));
let work: string;

beforeAll(async () => {
  await initBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'actmap-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

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
