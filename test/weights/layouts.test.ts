import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, serializeDocument, type Layer, type PresetOptions } from '../../core/index.js';
import { buildModel as buildSpecModel, type ModelSpec } from '../../core/config/index.js';
import { Service } from '../../main/service/index.js';
import { assertFiniteWeights, NonFiniteWeightsError, planLoad, readCheckpoint, type LoadReport } from '../../main/weights/index.js';

/**
 * Checkpoint layouts people bring (layouts.ts): files written by real PyTorch (make_layouts.py), right
 * answers from the frameworks' own naming (torchvision, torchreid, fast-reid's EmbeddingHead / BNneckHead /
 * GeneralizedMeanPoolingP, Lightning / DataParallel / torch.compile wrappers) and from the field cases
 * torchreid-checkpoint-layout and reliability/st_nan_weights.safetensors.
 */

const PYTHON = '/usr/bin/python3';
const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
let dir = '';
const p = (f: string) => join(dir, f);

const readRef = (name: string) => {
  const meta = JSON.parse(readFileSync(p(`${name}.ref.json`), 'utf8')) as Record<string, { shape: number[]; offset: number }>;
  const bin = readFileSync(p(`${name}.ref.bin`));
  return (key: string) => {
    const m = meta[key]!;
    const n = m.shape.reduce((a, b) => a * b, 1);
    return new Float32Array(bin.buffer.slice(bin.byteOffset + m.offset, bin.byteOffset + m.offset + 4 * n));
  };
};
const sameBits = (a: Float32Array | undefined, b: Float32Array) =>
  !!a && a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
const layersOf = (preset: string, o: Partial<PresetOptions> = {}): Layer[] => analyze(buildPreset(preset, o).graph).layers;
const reasonsOf = (r: LoadReport) => {
  const m: Record<string, number> = {};
  for (const s of r.skipped) {
    const tag = s.reason.split(/[:(]/)[0]!.trim();
    m[tag] = (m[tag] ?? 0) + 1;
  }
  return m;
};
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-layouts-'));
  execFileSync(PYTHON, [fileURLToPath(new URL('./make_layouts.py', import.meta.url)), dir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 280_000 });
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('torchreid checkpoint (case torchreid-checkpoint-layout): layout decided per key', () => {
  it('the 100 backbone tensors load into base.*, the classifier is skipped with its reason', async () => {
    const expected = JSON.parse(readFileSync(p('torchreid.expected.json'), 'utf8')) as { loaded: number; nbt: number };
    const c = await readCheckpoint(p('torchreid.pth.tar-60'));
    expect(c.wrapper).toBe('state_dict');
    const { values, report } = planLoad(layersOf('resnet18', { neck: 'no', numClasses: 751 }), c);
    expect(report.layout).toBe('torchreid');
    expect(report.counts.loaded).toBe(expected.loaded); // 100
    expect(report.renamed).toContainEqual({ from: 'conv1.weight', to: 'base.conv1.weight' });
    expect(report.renamed).toContainEqual({ from: 'layer4.1.bn2.running_var', to: 'base.layer4.1.bn2.running_var' });
    expect(report.missing.map((m) => m.key).sort()).toEqual(['classifier.bias', 'classifier.weight']);
    expect(report.mismatched).toEqual([]);
    expect(reasonsOf(report)).toEqual({ num_batches_tracked: expected.nbt, 'classifier of the training identities': 2 });
    expect(report.skipped.find((s) => s.key === 'classifier.weight')!.reason).toMatch(/751 classes/);
    // Layout groups: the backbone by the ImageNet rule, the head by the classifier rule.
    expect(report.groups.map((g) => [g.layout, g.keys, g.loaded, g.to])).toEqual([
      ['imagenet-backbone', expected.loaded + expected.nbt, expected.loaded, 'base.*'],
      ['classifier', 2, 0, 'classifier.*'],
    ]);
    // Values in tfjs layout: the conv kernel equals torch's permute(2, 3, 1, 0).
    const ref = readRef('torchreid');
    expect(sameBits(values.get('base.conv1/kernel'), ref('conv1.weight.hwio'))).toBe(true);
    expect(sameBits(values.get('base.layer4.1.bn2/moving_variance'), ref('layer4.1.bn2.running_var'))).toBe(true);
  });

  it('with --keep-classifier and 751 classes the classifier loads too (weight and bias)', async () => {
    const { report } = planLoad(layersOf('resnet18', { neck: 'no', numClasses: 751 }), await readCheckpoint(p('torchreid.pth.tar-60')), { keepClassifier: true });
    expect(report.counts).toMatchObject({ loaded: 102, missing: 0 });
  });

  it("CLI: weights prints the layout groups; embed refuses RSB's no-ReLU stem for torchvision's (#22), --source-model embeds", () => {
    const w = cli('weights', p('torchreid.pth.tar-60'), '--preset', 'resnet18', '--neck', 'no', '--num-classes', '751');
    expect(w.status).toBe(0);
    expect(w.stdout).toMatch(/torchreid layout/);
    expect(w.stdout).toMatch(/ImageNet-style backbone.*\(120 keys\) -> base\.\*: 100 loaded, 20 skipped/);
    expect(w.stdout).toMatch(/identity classifier.*\(2 keys\) -> classifier\.\*: 0 loaded, 2 skipped/);
    const j = JSON.parse(cli('weights', p('torchreid.pth.tar-60'), '--preset', 'resnet18', '--neck', 'no', '--num-classes', '751', '--json').stdout);
    expect(j.counts.loaded).toBe(100);
    expect(j.groups).toHaveLength(2);
    expect(j.source.model).toBe('resnet18');
    const feats = join(dir, 'feats.json');
    // torchreid's ResNet is torchvision's (ReLU after bn1); RSB's resnet18 preset has none: features would be
    // off (test/weights/source-models.test.ts measures it against torchreid's code), so embed says so and stops.
    const refused = cli('embed', '--preset', 'resnet18', '--neck', 'no', '--num-classes', '751', '--input', '64x32', '--weights', p('torchreid.pth.tar-60'), '--images', p('imgs'), '--out', feats, '--backend', 'cpu');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/torchreid resnet18: torchvision resnet18 \(ReLU after bn1\).*stem has no ReLU after bn1.*embed --source-model builds it/);
    expect(existsSync(feats)).toBe(false);
    const e = cli('embed', '--preset', 'resnet18', '--input', '64x32', '--weights', p('torchreid.pth.tar-60'), '--images', p('imgs'), '--out', feats, '--backend', 'cpu', '--source-model');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stderr).not.toMatch(/warning/); // every tensor of the feature path loads
    expect(existsSync(feats)).toBe(true);
  });
});

describe('wrapper prefixes and checkpoint dicts, alone or combined', () => {
  const files: [string, string, string][] = [
    ['wrap_plain.pth', '', ''],
    ['wrap_dataparallel.pth', 'state_dict', 'module.'],
    ['wrap_compile.pth', 'model', '_orig_mod.'],
    ['wrap_lightning.pth', 'state_dict', 'model.'],
    ['wrap_tutorial.pth', 'model_state_dict', 'net.module.'],
    ['wrap_net.pth', 'net', 'module._orig_mod.'],
    ['wrap_all.pth', '', '_orig_mod.module.model.'],
  ];
  for (const [file, wrapper, prefix] of files)
    it(`${file}: ${wrapper || 'top level'}${prefix ? `, keys under ${prefix}` : ''} → every backbone and BNNeck slot`, async () => {
      const c = await readCheckpoint(p(file));
      expect(c.wrapper).toBe(wrapper);
      const { values, report } = planLoad(layersOf('resnet18'), c);
      expect(report.layout).toBe('reid-strong-baseline');
      // resnet18: 20 convs + 20 BN × 4 = 100 backbone slots, + BNNeck 4; classifier skipped; 21 counters.
      expect(report.counts).toMatchObject({ loaded: 104, missing: 1, mismatched: 0, skipped: 22 });
      expect(report.groups.map((g) => g.stripped)).toEqual([prefix, prefix]);
      const ref = readRef('rsb');
      expect(sameBits(values.get('bottleneck/moving_mean'), ref('bottleneck.running_mean'))).toBe(true);
      expect(sameBits(values.get('base.layer3.1.bn1/gamma'), ref('base.layer3.1.bn1.weight'))).toBe(true);
    });

  it('Lightning model.backbone.* goes to base.* (fast-reid-style backbone rule), its neck and classifier by name', async () => {
    const c = await readCheckpoint(p('wrap_backbone.pth'));
    const { values, report } = planLoad(layersOf('resnet18'), c);
    expect(report.counts).toMatchObject({ loaded: 104, missing: 1, mismatched: 0 });
    expect(report.renamed).toContainEqual({ from: 'model.backbone.conv1.weight', to: 'base.conv1.weight' });
    expect(report.groups.map((g) => [g.layout, g.stripped])).toEqual([
      ['fast-reid-backbone', 'model.'],
      ['reid-strong-baseline', 'model.'],
      ['classifier', 'model.'],
    ]);
    expect(sameBits(values.get('base.layer2.0.downsample.1/beta'), readRef('rsb')('base.layer2.0.downsample.1.bias'))).toBe(true);
  });
});

describe('fast-reid heads, completely', () => {
  const frSpec = (pool: ModelSpec['pool']): ModelSpec => ({
    depth: 'resnet18',
    ibn: false,
    stem: 'fastreid',
    lastStride: 1,
    neck: 'bnneck',
    neckFeat: 'after',
    trainFeat: 'before',
    classifierBias: false,
    pool,
    numClasses: 751,
    input: [64, 32],
    frozenBackbone: false,
  });
  const frLayers = (pool: ModelSpec['pool']) => analyze(buildSpecModel(frSpec(pool)).graph).layers;

  it('EmbeddingHead: learned GeM p → gap.p, heads.bottleneck.0 → bottleneck, heads.weight → classifier; pixel_mean / pixel_std reported as preprocessing', async () => {
    const c = await readCheckpoint(p('fastreid_embedding.pth'));
    const { values, report } = planLoad(frLayers('gemP'), c, { keepClassifier: true });
    expect(report.layout).toBe('fast-reid');
    // 100 backbone + GeM p + 4 BNNeck + classifier = 106 slots, all from the file.
    expect(report.counts).toMatchObject({ loaded: 106, missing: 0, mismatched: 0 });
    expect(report.renamed).toContainEqual({ from: 'heads.pool_layer.p', to: 'gap.p' });
    expect(Array.from(values.get('gap/p')!)).toEqual([Math.fround(3.7)]);
    const ref = readRef('fastreid_embedding');
    expect(sameBits(values.get('bottleneck/moving_variance'), ref('heads.bottleneck.0.running_var'))).toBe(true);
    expect(report.preprocessing).toEqual({
      source: 'pixel_mean / pixel_std',
      pixelMean: Array.from(ref('pixel_mean')),
      pixelStd: Array.from(ref('pixel_std')),
      scale: 255,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    expect(report.skipped.map((s) => s.key).filter((k) => !k.endsWith('num_batches_tracked'))).toEqual(['pixel_mean', 'pixel_std']);
    expect(report.skipped[0]!.reason).toMatch(/fast-reid input normalisation \(MODEL\.PIXEL_MEAN\)/);
    // state_dict order: the Baseline's own buffers first, then backbone, then heads.
    expect(report.groups.map((g) => [g.layout, g.keys])).toEqual([
      ['fast-reid-input', 2],
      ['fast-reid-backbone', 120],
      ['fast-reid-heads', 7],
    ]);
  });

  it('older zoo naming: heads.bnneck.* and heads.classifier.weight', async () => {
    const { values, report } = planLoad(frLayers('gemP'), await readCheckpoint(p('fastreid_oldzoo.pth')), { keepClassifier: true });
    expect(report.counts).toMatchObject({ loaded: 106, missing: 0, mismatched: 0 });
    expect(report.renamed).toContainEqual({ from: 'heads.bnneck.weight', to: 'bottleneck.weight' });
    expect(report.renamed).toContainEqual({ from: 'heads.classifier.weight', to: 'classifier.weight' });
    expect(sameBits(values.get('bottleneck/beta'), readRef('fastreid_oldzoo')('heads.bnneck.bias'))).toBe(true);
  });

  it('a learned p into an average pool, and an embedding conv, are skipped with their reasons', async () => {
    const avg = planLoad(frLayers('avg'), await readCheckpoint(p('fastreid_embedding.pth'))).report;
    expect(avg.skipped.find((s) => s.key === 'heads.pool_layer.p')!.reason).toMatch(/learned GeM exponent .*p = 3\.7.*average pool/);
    const fixed = planLoad(frLayers('gem'), await readCheckpoint(p('fastreid_embedding.pth'))).report;
    expect(fixed.skipped.find((s) => s.key === 'heads.pool_layer.p')!.reason).toMatch(/fixed p = 3/);
    const emb = planLoad(frLayers('gemP'), await readCheckpoint(p('fastreid_embdim.pth'))).report;
    expect(emb.skipped.find((s) => s.key === 'heads.bottleneck.0.weight')!.reason).toMatch(/embedding conv \(MODEL\.HEADS\.EMBEDDING_DIM 256\)/);
    // heads.bottleneck.1 is the BNNeck (256 features): a shape mismatch against the graph's 512, reported.
    expect(emb.mismatched.find((m) => m.source === 'heads.bottleneck.1.weight')).toMatchObject({ key: 'bottleneck.weight', expected: [512], got: [256] });
  });
});

describe('non-finite pretrained weights (case reliability/st_nan_weights.safetensors)', () => {
  it('are named tensor by tensor in the load report, not loaded, and refused by assertFiniteWeights', async () => {
    const { values, report } = planLoad(layersOf('resnet18'), await readCheckpoint(p('st_nan_weights.safetensors')));
    expect(report.nonFinite).toEqual([{ key: 'base.conv1.weight', source: 'conv1.weight', nan: 64 * 3 * 7 * 7, posInf: 0, negInf: 0, elements: 9408 }]);
    expect(values.has('base.conv1/kernel')).toBe(false);
    expect(() => assertFiniteWeights(report, 'st_nan_weights.safetensors')).toThrow(NonFiniteWeightsError);

    const mixed = planLoad(layersOf('resnet18'), await readCheckpoint(p('st_mixed_nonfinite.safetensors'))).report;
    expect(mixed.nonFinite.map(({ source, nan, posInf, negInf }) => [source, nan, posInf, negInf])).toEqual([
      ['layer2.0.conv1.weight', 1, 1, 1],
      ['layer3.1.bn2.running_var', 0, 1, 0],
    ]); // fc.weight's NaN does not count: fc is never loaded
    expect(mixed.counts.loaded).toBe(98);
    let err: unknown;
    try {
      assertFiniteWeights(mixed, 'mixed.safetensors');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteWeightsError);
    expect((err as NonFiniteWeightsError).code).toBe('E_NONFINITE_WEIGHTS');
    expect((err as Error).message).toMatch(/2 pretrained tensor\(s\) hold non-finite values.*layer2\.0\.conv1\.weight \(1 NaN, 1 \+Inf, 1 −Inf of 73728 values\); layer3\.1\.bn2\.running_var/);
  });

  it('CLI weights lists them; CLI train refuses before creating the run folder', () => {
    const w = JSON.parse(cli('weights', p('st_nan_weights.safetensors'), '--preset', 'resnet18', '--json').stdout);
    expect(w.nonFinite).toHaveLength(1);
    const out = join(dir, 'nan-run');
    const r = cli('train', '--preset', 'resnet18', '--input', '64x32', '--demo', '--demo-size', 'tiny', '--batch', '4,4', '--epochs', '1', '--backend', 'cpu', '--weights', p('st_nan_weights.safetensors'), '--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^reid-studio: error: .*conv1\.weight \(9408 NaN of 9408 values\).*\(E_NONFINITE_WEIGHTS\)/);
    expect(existsSync(out)).toBe(false);
    const e = cli('embed', '--preset', 'resnet18', '--input', '64x32', '--weights', p('st_nan_weights.safetensors'), '--images', p('imgs'), '--out', join(dir, 'nan.json'));
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/^reid-studio: error: .*conv1\.weight.*\(E_NONFINITE_WEIGHTS\)\n$/);
  });

  it('the app: train.start answers E_NONFINITE_WEIGHTS before any run exists', async () => {
    const home = mkdtempSync(join(tmpdir(), 'reid-layouts-svc-'));
    try {
      const svc = new Service({ host: 'browser', version: '9.9.9', dataDir: home, documentsDir: home });
      const doc = serializeDocument(buildPreset('resnet18', { input: [64, 32] }));
      const r = await svc.dispatch('train.start', { doc, data: { kind: 'demo', size: 'tiny' }, weights: p('st_nan_weights.safetensors') });
      expect(r).toMatchObject({ ok: false, error: { code: 'E_NONFINITE_WEIGHTS' } });
      if (!r.ok) expect(r.error.message).toMatch(/conv1\.weight \(9408 NaN/);
      expect(existsSync(join(home, 'runs')) ? readdirSync(join(home, 'runs')) : []).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
