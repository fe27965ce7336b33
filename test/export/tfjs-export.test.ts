/**
 * The `tfjs` export: model.json + weight shards + reid-studio-layers.js/.mjs. A fresh Node process (a
 * user's script in a project whose node_modules has @tensorflow/tfjs, nothing of the app) loads it with
 * tf.loadLayersModel('file://…') after require/import of the layers file and must produce outputs
 * identical (bit for bit, same cpu backend) to the app's model; the app's own loadModelDir too.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, compileToKeras, type GraphDoc } from '../../core/index.js';
import { exportModel, SHARD_BYTES } from '../../main/export/index.js';
import { buildModel, disposeModel, forwardEval, initBackend, loadModelDir, setWeightsFromValues } from '../../main/tfjs/index.js';
import { readF32 } from '../parity/fixtures.js';
import { customDoc, randomInput, randomWeights } from './graphs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let project: string;
beforeAll(async () => {
  expect((await initBackend('cpu')).backend).toBe('cpu');
  // A user's project: its own node_modules (with @tensorflow/tfjs) and scripts, nothing of the app.
  project = mkdtempSync(join(tmpdir(), 'reid-export-tfjs-'));
  symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
  for (const f of ['tfjs-child.cjs', 'tfjs-child.mjs']) copyFileSync(fileURLToPath(new URL(`./${f}`, import.meta.url)), join(project, f));
});
afterAll(async () => {
  rmSync(project, { recursive: true, force: true });
  await initBackend('wasm');
});

interface ChildReport {
  backend: string;
  shapes: number[][];
  metadata: { reidStudio: { roles: Record<string, string>; outputs: string[]; inputShape: number[] } };
  classes?: string[];
}

function runChild(script: string, modelDir: string, inputPath: string, shape: number[], outDir: string): ChildReport {
  mkdirSync(outDir, { recursive: true });
  const out = execFileSync(process.execPath, [join(project, script), modelDir, inputPath, JSON.stringify(shape), outDir], {
    cwd: project,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 240_000,
  });
  return JSON.parse(out) as ChildReport;
}

const CASES: { id: string; doc: () => GraphDoc; classes: string[] }[] = [
  { id: 'custom', doc: () => customDoc([64, 32], 7), classes: ['ReidGeMPool', 'ReidIBNa', 'ReidInstanceNorm', 'ReidMaxPool2D', 'ReidBatchNorm'] },
  { id: 'resnet18_ibn_a', doc: () => buildPreset('resnet18_ibn_a', { input: [64, 32], numClasses: 5, neckFeat: 'after' }), classes: ['ReidBatchNorm', 'ReidIBNa', 'ReidMaxPool2D'] },
  { id: 'resnet18_non_local', doc: nonLocalDoc, classes: ['ReidBatchNorm', 'ReidMaxPool2D', 'ReidNonLocalAttention'] },
];

/** resnet18 with a fast-reid non-local block after layer3's last block (the NL layer class must register). */
function nonLocalDoc(): GraphDoc {
  const doc = buildPreset('resnet18', { input: [64, 32], numClasses: 5 });
  doc.graph.nodes.find((n) => n.id === 'layer3')!.params.non_local = 1;
  return doc;
}

describe('tfjs export reloads in a fresh Node process', () => {
  for (const c of CASES)
    it(`${c.id}: tf.loadLayersModel (CommonJS and ES module) and loadModelDir give identical outputs`, async () => {
      const doc = c.doc();
      const analysis = analyze(doc.graph);
      const layers = compileToKeras(analysis).layers;
      const weights = randomWeights(layers, 13);
      const [n, h, w] = [2, 64, 32];
      const input = randomInput(n, h, w, 3, 17);
      const inputPath = join(project, `${c.id}.input.f32`);
      writeFileSync(inputPath, new Uint8Array(input.buffer));

      const modelDir = join(project, `${c.id}-model`);
      const res = await exportModel(doc, 'tfjs', modelDir, { weights });
      expect(res.weights.set).toBe(res.weights.slots);
      const files = readdirSync(modelDir).sort();
      const shards = files.filter((f) => /^group1-shard\d+of\d+\.bin$/.test(f));
      expect(files).toEqual([...shards, '.reid-studio-export.json', 'README.txt', 'model.json', 'reid-studio-layers.js', 'reid-studio-layers.mjs'].sort());
      expect(shards.length).toBeGreaterThan(1); // > 4 MiB of weights: several shards
      for (const s of shards) expect(statSync(join(modelDir, s)).size).toBeLessThanOrEqual(SHARD_BYTES);
      const json = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8'));
      expect(json.format).toBe('layers-model');
      expect(json.weightsManifest[0].paths.length).toBe(shards.length);
      // The preprocessing the model expects (RSB config/defaults.py PIXEL_MEAN / PIXEL_STD, T.Resize's bilinear, the input size).
      expect(json.userDefinedMetadata.reidStudio.preprocessing).toEqual({ size: [h, w], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], interpolation: 'bilinear' });
      expect(json.userDefinedMetadata.reidStudio.roles).toBeDefined();
      expect(readFileSync(join(modelDir, 'README.txt'), 'utf8')).toMatch(/resize to 64x32\n\(height x width, PIL bilinear\), RGB \/ 255, subtract mean \[0\.485, 0\.456, 0\.406\], divide by std \[0\.229, 0\.224, 0\.225\]/);

      // The app's outputs (all model outputs in inference mode, and the eval feature).
      const { reid } = await buildModel(analysis);
      let appOuts: Float32Array[];
      let appEval: Float32Array;
      try {
        setWeightsFromValues(reid, layers, weights);
        const x = tf.tensor4d(input, [n, h, w, 3]);
        const outs = reid.model.predict(x) as tf.Tensor | tf.Tensor[];
        const list = Array.isArray(outs) ? outs : [outs];
        appOuts = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
        const f = forwardEval(reid, x);
        appEval = (await f.data()) as Float32Array;
        tf.dispose([x, f, ...list]);
      } finally {
        disposeModel(reid);
      }
      const roles = reid.metadata.roles;
      const evalIndex = reid.metadata.outputs.indexOf(roles.evalFeature);

      for (const script of ['tfjs-child.cjs', 'tfjs-child.mjs']) {
        const outDir = join(project, `${c.id}-${script}-out`);
        const r = runChild(script, modelDir, inputPath, [n, h, w, 3], outDir);
        expect(r.backend).toBe('cpu');
        expect(r.metadata.reidStudio.roles).toEqual(roles);
        expect(r.shapes.length).toBe(appOuts.length);
        if (r.classes) for (const k of c.classes) expect(r.classes).toContain(k);
        appOuts.forEach((want, i) => {
          const got = readF32(join(outDir, `out${i}.f32`));
          expect(got.length).toBe(want.length);
          expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)), `${script} output ${i} identical`).toBe(true);
        });
        expect(Buffer.from(readF32(join(outDir, `out${evalIndex}.f32`)).buffer).equals(Buffer.from(appEval.buffer))).toBe(true);
      }

      if (c.id === 'custom') {
        // Without the layers file plain tfjs in Node has no file:// loader.
        const r = spawnSync(process.execPath, [join(project, 'tfjs-child.cjs'), modelDir, inputPath, '[2,64,32,3]', join(project, 'none')], {
          cwd: project,
          encoding: 'utf8',
          env: { ...process.env, SKIP_LAYERS: '1' },
        });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/fetch failed/); // tfjs falls back to HTTP for an unhandled URL
      }

      // The app's own loader reads the export too (roles from userDefinedMetadata).
      const loaded = await loadModelDir(modelDir);
      try {
        expect(loaded.metadata.roles).toEqual(roles);
        const x = tf.tensor4d(input, [n, h, w, 3]);
        const f = forwardEval(loaded, x);
        expect(Buffer.from(((await f.data()) as Float32Array).buffer).equals(Buffer.from(appEval.buffer))).toBe(true);
        tf.dispose([x, f]);
      } finally {
        disposeModel(loaded);
      }
    });
});
