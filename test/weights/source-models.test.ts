/**
 * Re-ID checkpoints built on torchvision's ResNet (#22): torchreid resnet50_fc512 / resnet18 and
 * Person_reID_baseline_pytorch ft_net, against their own code — test/fixtures/frameworks/torchvision-reid.json
 * (make_torchvision_reid.py ran deep-person-reid's `torchreid/models/resnet.py` and the baseline's `model.py`
 * on formula weights: keys, shapes and eval features). The file's model is recognised, a graph that is not it
 * (RSB's no-ReLU stem, no 512-d head) is refused with the reason, and the checkpoint's own model
 * (core/presets/torchvision.ts) gives the frameworks' features within 1e-4 · max|ref|.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, buildTorchvisionReid } from '../../core/index.js';
import { detectSourceModel, planLoad, writeCheckpoint, type Checkpoint } from '../../main/weights/index.js';
import { formulaFeatures } from '../fixtures/frameworks/formula-features.js';
import { f32FromBase64, formulaCheckpoint, frameworkFixture } from '../fixtures/frameworks/formula-weights.js';
import { maxDiff } from '../parity/fixtures.js';

const REF = frameworkFixture<{ models: Record<string, { keys: Record<string, number[]>; features: string }> }>('torchvision-reid.json').models;
const INPUT: [number, number] = [64, 32];
const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });

/** The file as the code base writes it: torchreid's save_checkpoint wraps the state dict; ft_net saves it plain. */
const CASES = [
  { id: 'torchreid_resnet50_fc512', wrapper: 'state_dict', model: 'resnet50_fc512', depth: 'resnet50', lastStride: 1, head: ['fc.0', 'fc.1', 'fc.2'], classifier: 'classifier', dim: 512 },
  { id: 'torchreid_resnet18', wrapper: 'state_dict', model: 'resnet18', depth: 'resnet18', lastStride: 2, head: [], classifier: 'classifier', dim: 512 },
  { id: 'ft_net', wrapper: '', model: 'ft_net', depth: 'resnet50', lastStride: 2, head: ['classifier.add_block.0', 'classifier.add_block.1'], classifier: 'classifier.classifier.0', dim: 512 },
] as const;
const ckptOf = (id: string): Checkpoint => formulaCheckpoint(REF[id]!.keys, CASES.find((c) => c.id === id)!.wrapper);

describe('torchvision-ResNet re-ID checkpoints against their code bases', () => {
  it.each(CASES)('$id: recognised as $model (torchvision stem, its head, classifier of 751)', (c) => {
    const s = detectSourceModel(ckptOf(c.id))!;
    expect(s.model).toBe(c.model);
    expect(s.spec.depth).toBe(c.depth);
    expect(s.spec.lastStride).toBe(c.lastStride);
    expect(s.spec.head.map((h) => h.name)).toEqual(c.head);
    expect(s.spec.classifier).toEqual({ name: c.classifier, units: 751 });
  });

  it('an ImageNet torchvision file and RSB / fast-reid checkpoints are not such a model', () => {
    const rsb = frameworkFixture<{ models: Record<string, Record<string, number[]>> }>('rsb-state-dicts.json').models;
    expect(detectSourceModel(formulaCheckpoint(rsb.resnet50!))).toBeUndefined();
    const imagenet = Object.fromEntries(Object.entries(REF.torchreid_resnet18!.keys).filter(([k]) => !k.startsWith('classifier.')).concat([['fc.weight', [1000, 512]], ['fc.bias', [1000]]]));
    expect(detectSourceModel(formulaCheckpoint(imagenet))).toBeUndefined();
  });

  it.each(CASES)("$id: the checkpoint's own model gives its features within 1e-4 · max|ref|, every tensor loaded", async (c) => {
    const source = detectSourceModel(ckptOf(c.id))!;
    const doc = buildTorchvisionReid({ ...source.spec, input: INPUT });
    const { features, report } = await formulaFeatures(doc, ckptOf(c.id));
    expect(report.sourceMismatch).toBeUndefined();
    // Everything but BN step counters and ft_net's unused torchvision fc loads.
    expect(report.skipped.map((s) => s.key).filter((k) => !k.endsWith('num_batches_tracked'))).toEqual(c.id === 'ft_net' ? ['model.fc.weight', 'model.fc.bias'] : []);
    const want = f32FromBase64(REF[c.id]!.features);
    expect(features.length).toBe(2 * c.dim);
    const { diff, ref } = maxDiff(features, want);
    console.log(`${c.id}: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
    expect(ref).toBeGreaterThan(0.5);
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);
  }, 120_000);

  it("into RSB's preset the report says why it is not the file's model; the old answer (exit 0) was off by > 1e-3 · max|ref|", async () => {
    const fc512 = planLoad(analyze(buildPreset('resnet50', { neck: 'no', numClasses: 751, input: INPUT }).graph).layers, ckptOf('torchreid_resnet50_fc512')).report;
    expect(fc512.source?.model).toBe('resnet50_fc512');
    expect(fc512.sourceMismatch).toEqual([
      "the graph's stem has no ReLU after bn1 (reid-strong-baseline's resnet.py); torchvision's has one",
      "the graph has no fc.0, fc.1, fc.2 (the checkpoint's head after the pooling), so its feature is another one",
    ]);
    // resnet18 without a head: only the stem differs — what embed gave before, with exit 0.
    const rsb18 = buildPreset('resnet18', { neck: 'no', numClasses: 751, lastStride: 2, input: INPUT });
    const old = await formulaFeatures(rsb18, ckptOf('torchreid_resnet18'));
    expect(old.report.sourceMismatch).toEqual(["the graph's stem has no ReLU after bn1 (reid-strong-baseline's resnet.py); torchvision's has one"]);
    const { diff, ref } = maxDiff(old.features, f32FromBase64(REF.torchreid_resnet18!.features));
    console.log(`torchreid resnet18 into RSB's resnet18 (no stem ReLU): max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
    expect(diff).toBeGreaterThan(1e-3 * ref);
  }, 120_000);
});

describe('CLI: embed refuses a graph that is not the checkpoint\'s model, --source-model embeds with it', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reid-source-'));
    for (const c of CASES) {
      const tensors = new Map([...ckptOf(c.id).tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
      await writeCheckpoint(join(dir, `${c.id}.pth`), tensors, c.wrapper ? { wrap: c.wrapper } : {});
    }
    mkdirSync(join(dir, 'imgs'));
    for (let i = 0; i < 2; i++) {
      const px = Buffer.alloc(64 * 32 * 3);
      for (let j = 0; j < px.length; j++) px[j] = (j * (7 + i) + 13 * i) % 256;
      await sharp(px, { raw: { width: 32, height: 64, channels: 3 } }).png().toFile(join(dir, 'imgs', `img${i}.png`));
    }
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('weights names the model and what differs; embed with RSB\'s resnet50 exits 2 with the reason', () => {
    const w = cli('weights', join(dir, 'torchreid_resnet50_fc512.pth'), '--preset', 'resnet50', '--neck', 'no', '--num-classes', '751');
    expect(w.status).toBe(0);
    expect(w.stdout).toMatch(/model in the file: torchreid resnet50_fc512: torchvision resnet50 \(ReLU after bn1\), fc Linear → 512, BatchNorm1d, ReLU, classifier 751 classes/);
    expect(w.stdout).toMatch(/NOT THIS GRAPH: the graph's stem has no ReLU/);
    const e = cli('embed', '--preset', 'resnet50', '--neck', 'no', '--input', '64x32', '--weights', join(dir, 'torchreid_resnet50_fc512.pth'), '--images', join(dir, 'imgs'), '--out', join(dir, 'no.json'), '--backend', 'cpu');
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/^reid-studio: error: torchreid_resnet50_fc512\.pth is a torchreid resnet50_fc512.*stem has no ReLU.*no fc\.0, fc\.1, fc\.2.*embed --source-model builds it/m);
  });

  it.each(['torchreid_resnet50_fc512', 'ft_net'])('%s: --source-model writes 512-d features and says what it built', (id) => {
    const out = join(dir, `${id}.json`);
    const e = cli('embed', '--preset', 'resnet50', '--input', '64x32', '--weights', join(dir, `${id}.pth`), '--images', join(dir, 'imgs'), '--out', out, '--backend', 'cpu', '--source-model');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stderr).toMatch(id === 'ft_net' ? /--source-model: Person_reID_baseline_pytorch ft_net.*last stride 2 \(Person_reID_baseline_pytorch's default\)/ : /--source-model: torchreid resnet50_fc512.*last stride 1 \(torchreid's default\)/);
    const j = JSON.parse(readFileSync(out, 'utf8')) as { dim: number; load: { source: { model: string }; sourceMismatch?: string[] } };
    expect(j.dim).toBe(512);
    expect(j.load.source.model).toBe(id === 'ft_net' ? 'ft_net' : 'resnet50_fc512');
    expect(j.load.sourceMismatch).toBeUndefined();
  }, 300_000);

  it('--source-model with a checkpoint that is no such model is refused with the reason', () => {
    const e = cli('embed', '--preset', 'resnet50', '--input', '64x32', '--weights', join(dir, 'missing.pth'), '--images', join(dir, 'imgs'), '--out', join(dir, 'x.json'), '--source-model');
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/^reid-studio: error: .*missing\.pth/);
  });
});
