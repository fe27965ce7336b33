import { describe, expect, it } from 'vitest';
import { buildPreset, lrFactor } from '../../core/index.js';
import { exportFastreidYaml, exportRsbYaml, importConfig } from '../../core/config/index.js';
import { importFixture, modelFacts, settingsOf } from './helpers.js';

/**
 * The frameworks' own recipe configs (test/fixtures/configs: RSB configs/*.yml, fast-reid configs/Market1501/*.yml)
 * imported and checked against what those recipes describe. Parameter totals are torchvision's published
 * counts plus the head; IBN placement and channel totals follow IBN-Net (bn1 of layer1–3, half of each).
 */

const R50 = [3, 4, 6, 3];
// ResNet downsamples ×32 (×16 with LAST_STRIDE 1): layer4 map at 256×128 is 16×8 with LAST_STRIDE 1, 8×4 with 2.
const MAP_S1 = [16, 8, 2048];
const MAP_S2 = [8, 4, 2048];
const RSB_IGNORED = [
  'DATALOADER.NUM_WORKERS',
  'SOLVER.CLUSTER_MARGIN',
  'SOLVER.RANGE_K',
  'SOLVER.RANGE_MARGIN',
  'SOLVER.RANGE_ALPHA',
  'SOLVER.RANGE_BETA',
  'SOLVER.RANGE_LOSS_WEIGHT',
  'SOLVER.LOG_PERIOD',
  'TEST.IMS_PER_BATCH',
  'TEST.WEIGHT',
];
const RSB_STEM = { stemRelu: false, maxpool: { kernel: 3, stride: 2, padding: 1, ceil: false } };
const FR_STEM = { stemRelu: true, maxpool: { kernel: 3, stride: 2, padding: 0, ceil: true } };

describe('reid-strong-baseline recipe configs', () => {
  it('softmax_triplet_with_center.yml: resnet50, all tricks + center loss', () => {
    const r = importFixture('rsb/softmax_triplet_with_center.yml');
    expect(r.framework).toBe('rsb');
    expect(modelFacts(r.doc)).toMatchObject({
      ok: true,
      blocks: R50,
      block: 'bottleneck',
      ibnLayers: [],
      ...RSB_STEM,
      lastStride: 1,
      pool: { kind: 'avg' },
      bnneck: true,
      evalFeature: 'bottleneck', // TEST.NECK_FEAT 'after'
      trainFeature: 'gap', // triplet/center take the pre-BN global feature
      classes: 751,
      classifierBias: false,
      input: [256, 128, 3],
      featureMap: MAP_S1,
      params: 25_050_176,
      trainable: 25_048_128,
    });
    const s = settingsOf(r.doc);
    expect(s).toMatchObject({
      dataset: { kind: 'market1501' },
      sampler: 'softmax_triplet',
      batch: { p: 16, k: 4 },
      loss: { labelSmooth: true, metric: 'triplet_center', margin: 0.3, centerWeight: 0.0005, centerLr: 0.5 },
      optimizer: { name: 'adam', baseLr: 3.5e-4, weightDecay: 5e-4 },
      schedule: { warmup: true, warmupFactor: 0.01, warmupEpochs: 10, steps: [40, 70], gamma: 0.1 },
      epochs: 120,
      augment: { flipProb: 0.5, padding: 10, randomErasingProb: 0.5 },
      test: { featNorm: true, metric: 'cosine', reRanking: false },
      pretrained: { choice: 'imagenet', path: '/home/user/.torch/models/resnet50-19c8e357.pth' },
      evalPeriod: 40,
      checkpointPeriod: 40,
      framework: { outputDir: './log/market1501/all-tricks-tri_center' },
    });
    // The per-epoch LR of RSB's WarmupMultiStepLR (solver/lr_scheduler.py) for this recipe.
    const lr = (e: number) => s.optimizer.baseLr * lrFactor(s, e);
    expect(lr(1)).toBeCloseTo(3.815e-5, 9);
    expect(lr(2)).toBeCloseTo(7.28e-5, 9);
    expect(lr(9)).toBeCloseTo(3.1535e-4, 9);
    expect(lr(10)).toBeCloseTo(3.5e-4, 9);
    expect(lr(40)).toBeCloseTo(3.5e-5, 10);
    expect(lr(70)).toBeCloseTo(3.5e-6, 11);
    expect(r.ignored).toEqual(RSB_IGNORED);
    // The recipe's LOG_PERIOD 20 and TEST.WEIGHT 'path' differ from RSB's defaults.py: kept for export.
    expect(r.warnings).toEqual(['kept for export as the config sets them: SOLVER.LOG_PERIOD, TEST.WEIGHT']);
  });

  it('softmax_triplet.yml: the same without center loss', () => {
    const r = importFixture('rsb/softmax_triplet.yml');
    expect(modelFacts(r.doc)).toMatchObject({ blocks: R50, lastStride: 1, bnneck: true, classes: 751, params: 25_050_176 });
    expect(settingsOf(r.doc)).toMatchObject({ sampler: 'softmax_triplet', loss: { metric: 'triplet', labelSmooth: true }, schedule: { steps: [40, 70], warmupEpochs: 10 } });
    expect(r.ignored).toEqual(RSB_IGNORED);
  });

  it('baseline.yml: the standard baseline (last stride 2, no neck, no label smoothing, no erasing, no warmup)', () => {
    const r = importFixture('rsb/baseline.yml');
    expect(modelFacts(r.doc)).toMatchObject({
      blocks: R50,
      ...RSB_STEM,
      lastStride: 2,
      bnneck: false,
      evalFeature: 'gap',
      classifierBias: true, // RSB Linear(C, num_classes) with bias when NECK is 'no'
      classes: 751,
      featureMap: MAP_S2,
      params: 25_046_831,
    });
    expect(settingsOf(r.doc)).toMatchObject({
      sampler: 'softmax_triplet',
      loss: { labelSmooth: false, metric: 'triplet' },
      schedule: { warmup: false, steps: [40, 70] },
      augment: { randomErasingProb: 0 },
      epochs: 120,
    });
  });

  it('softmax.yml: cross-entropy only; MODEL keys from defaults.py; label smoothing reported inert', () => {
    const r = importFixture('rsb/softmax.yml');
    // defaults.py: resnet50, LAST_STRIDE 1, bnneck, TEST.NECK_FEAT after.
    expect(modelFacts(r.doc)).toMatchObject({ blocks: R50, lastStride: 1, bnneck: true, evalFeature: 'bottleneck', classes: 751 });
    const s = settingsOf(r.doc);
    expect(s).toMatchObject({
      sampler: 'softmax',
      loss: { metric: 'triplet', labelSmooth: true },
      schedule: { warmup: true, warmupEpochs: 5, steps: [30, 55] },
      evalPeriod: 20,
      checkpointPeriod: 20,
    });
    expect(r.warnings.join('\n')).toMatch(/IF_LABELSMOOTH 'on' has no effect with SAMPLER 'softmax'/);
  });

  it('MODEL.NAME resnet50_ibn_a: IBN-a in bn1 of every layer1–3 block, stem ReLU (RSB resnet_ibn_a.py)', () => {
    const text = `MODEL:\n  NAME: 'resnet50_ibn_a'\n  NECK: 'bnneck'\nDATASETS:\n  NAMES: ('dukemtmc')\nINPUT:\n  SIZE_TRAIN: [384, 128]\n  SIZE_TEST: [384, 128]\n`;
    const m = modelFacts(importConfig(text).doc);
    expect(m.ibnLayers).toHaveLength(13);
    expect(m.inChannels).toBe(1120);
    expect(m.ibnLayers.some((n) => n.startsWith('base.layer4'))).toBe(false);
    expect(m).toMatchObject({ stemRelu: true, classes: 702, input: [384, 128, 3], featureMap: [24, 8, 2048], params: 24_949_824 });
  });
});

describe('fast-reid recipe configs', () => {
  const BOT = {
    sampler: 'softmax_triplet',
    batch: { p: 16, k: 4 },
    loss: { labelSmooth: true, metric: 'triplet', margin: 0.3 },
    optimizer: { name: 'adam', baseLr: 3.5e-4, weightDecay: 5e-4 },
    epochs: 120,
    augment: { flipProb: 0.5, padding: 10, randomErasingProb: 0.5 },
    test: { metric: 'cosine', reRanking: false },
    pretrained: { choice: 'imagenet' },
    evalPeriod: 30,
    checkpointPeriod: 30,
  };

  it('Base-bagtricks.yml: BoT(R50) with fast-reid\'s stem and per-iteration warmup converted to epochs', () => {
    const r = importFixture('fastreid/Base-bagtricks.yml');
    expect(r.framework).toBe('fastreid');
    expect(modelFacts(r.doc)).toMatchObject({
      blocks: R50,
      ibnLayers: [],
      ...FR_STEM,
      lastStride: 1,
      pool: { kind: 'avg' },
      bnneck: true,
      evalFeature: 'bottleneck', // fast-reid evaluates the post-neck feature
      trainFeature: 'gap', // MODEL.HEADS.NECK_FEAT before
      classes: 751, // NUM_CLASSES 0 = from the data: Market-1501's 751 identities
      classifierBias: false,
      input: [256, 128, 3],
      featureMap: MAP_S1,
      params: 25_050_176,
    });
    // 2000 warmup iterations at 12,936 // 64 = 202 iterations per epoch ≈ 10 epochs; the milestones [40, 90]
    // count epochs after warmup, so the decays land at ~50 and ~100.
    expect(settingsOf(r.doc)).toMatchObject({ ...BOT, dataset: { kind: 'market1501' }, schedule: { warmup: true, warmupFactor: 0.1, warmupEpochs: 10, steps: [50, 100], gamma: 0.1 } });
    expect(r.ignored).toEqual(['DATALOADER.NUM_WORKERS', 'SOLVER.AMP.ENABLED', 'TEST.IMS_PER_BATCH', 'CUDNN_BENCHMARK']);
    expect(r.warnings.join('\n')).toMatch(/2000 iterations = 9\.90 epochs at 202 iterations per epoch/);
  });

  it('Market1501/bagtricks_R50-ibn.yml through _BASE_: IBN-a in layer1–3', () => {
    const r = importFixture('fastreid/Market1501/bagtricks_R50-ibn.yml');
    const m = modelFacts(r.doc);
    expect(m.ibnLayers).toHaveLength(13);
    expect(m.inChannels).toBe(1120);
    expect(m).toMatchObject({ ...FR_STEM, blocks: R50, lastStride: 1, bnneck: true, classes: 751, params: 25_050_176 });
    expect(settingsOf(r.doc)).toMatchObject({ ...BOT, framework: { outputDir: 'logs/market1501/bagtricks_R50-ibn' } });
    expect(r.ignored).toEqual(['DATALOADER.NUM_WORKERS', 'SOLVER.AMP.ENABLED', 'TEST.IMS_PER_BATCH', 'CUDNN_BENCHMARK']);
  });

  it('DukeMTMC/bagtricks_R50.yml: 702 classes; 258 iterations per epoch', () => {
    const r = importFixture('fastreid/DukeMTMC/bagtricks_R50.yml');
    expect(modelFacts(r.doc)).toMatchObject({ classes: 702, params: 24_949_824, ibnLayers: [] });
    // 16,522 // 64 = 258: 2000 iterations ≈ 7.75 → 8 epochs.
    expect(settingsOf(r.doc)).toMatchObject({ dataset: { kind: 'dukemtmc' }, schedule: { warmupEpochs: 8, steps: [48, 98] } });
  });

  it('MSMT17/bagtricks_R50-ibn.yml: 1,041 classes, the MSMT17 reader chosen', () => {
    const r = importFixture('fastreid/MSMT17/bagtricks_R50-ibn.yml');
    expect(modelFacts(r.doc)).toMatchObject({ classes: 1041 });
    expect(settingsOf(r.doc)).toMatchObject({ dataset: { kind: 'msmt17' } });
    expect(r.warnings.join('\n')).not.toMatch(/loader/);
  });
});

describe("datasets named in configs choose the app's reader", () => {
  const fr = (name: string) =>
    importConfig(
      `MODEL:\n  META_ARCHITECTURE: Baseline\n  BACKBONE:\n    NAME: build_resnet_backbone\n    DEPTH: 50x\nDATASETS:\n  NAMES: ("${name}",)\n  TESTS: ("${name}",)\n`,
    );
  // fast-reid's registered names (fastreid/data/datasets: cuhk03.py, msmt17.py, veri.py, vehicleid.py); the
  // identity counts are the datasets' published training splits.
  it.each([
    ['CUHK03', 'cuhk03_labeled', 767], // fast-reid cuhk03.py: cuhk03_labeled=True
    ['MSMT17', 'msmt17', 1041],
    ['VeRi', 'veri', 576],
    ['SmallVehicleID', 'vehicleid_800', 13134],
    ['LargeVehicleID', 'vehicleid_2400', 13134],
  ])('fast-reid %s → %s, %i classes', (name, kind, classes) => {
    const r = fr(name);
    expect(modelFacts(r.doc)).toMatchObject({ classes });
    expect(settingsOf(r.doc).dataset.kind).toBe(kind);
    expect(r.warnings.join('\n')).not.toMatch(/loader/);
  });

  it('a config of fast-reid-only keys (AUTOAUG, FREEZE_ITERS, DELAY_EPOCHS) is recognised as fast-reid', () => {
    const r = importConfig('INPUT:\n  AUTOAUG:\n    ENABLED: True\n    PROB: 0.1\nSOLVER:\n  FREEZE_ITERS: 10\n  DELAY_EPOCHS: 30\n');
    expect(r.framework).toBe('fastreid');
    expect(settingsOf(r.doc).augment.autoAugmentProb).toBe(0.1);
  });

  it('reid-strong-baseline cuhk03 reads CUHK03 detected (its reader defaults to cuhk03_labeled=False)', () => {
    const r = importConfig('MODEL:\n  NAME: resnet50\nDATASETS:\n  NAMES: (\'cuhk03\')\n');
    expect(settingsOf(r.doc).dataset.kind).toBe('cuhk03_detected');
  });

  it('a VeRi run exports to fast-reid by name and to reid-strong-baseline with a placeholder (it has no VeRi reader)', () => {
    const doc = fr('VeRi').doc;
    const f = exportFastreidYaml(doc);
    expect(f.ok && f.text).toMatch(/NAMES: '\("VeRi",\)'/);
    const rsbDoc = { ...buildPreset('resnet50', { numClasses: 576 }), training: { dataset: { kind: 'veri' } } };
    const r = exportRsbYaml(rsbDoc);
    if (!r.ok) throw new Error(r.reasons.join('; '));
    expect(r.ok && r.text).toMatch(/YOUR_DATASET/);
    expect(r.ok && r.text).toMatch(/no VeRi-776 reader/);
  });
});
