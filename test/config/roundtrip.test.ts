import { describe, expect, it } from 'vitest';
import { buildPreset, parseDocument, parseTrainingSettings, PRESET_NAMES, serializeDocument, type GraphDoc } from '../../core/index.js';
import { buildModel, exportFastreidYaml, exportRsbYaml, importConfig, type ModelSpec } from '../../core/config/index.js';
import { importFixture } from './helpers.js';

/**
 * graph → rsb-yaml → graph and graph → fastreid-yaml → graph must give back the same document, byte for
 * byte (same model, same settings). Every preset meets every option value (neck, eval feature, last stride,
 * input size, dataset/classes) and several training recipes through a rotating covering design, which keeps
 * the suite fast on a 2-core machine while no option value is left untested for any preset.
 */

type Ds = { settings: Record<string, unknown>; classes: number };
const MARKET: Ds = { settings: { dataset: { kind: 'market1501' } }, classes: 751 };
const DUKE: Ds = { settings: { dataset: { kind: 'dukemtmc' } }, classes: 702 };
const MSMT: Ds = { settings: { dataset: { kind: 'msmt17' } }, classes: 1041 };

const OPTION_SETS = [
  { neck: 'bnneck', neckFeat: 'after', lastStride: 1, input: [256, 128], ds: MARKET },
  { neck: 'bnneck', neckFeat: 'before', lastStride: 2, input: [384, 128], ds: DUKE },
  { neck: 'no', neckFeat: 'after', lastStride: 2, input: [256, 128], ds: MSMT },
  { neck: 'no', neckFeat: 'before', lastStride: 1, input: [384, 128], ds: MARKET },
] as const;

function withSettings(doc: GraphDoc, ds: Ds, recipe: Record<string, unknown>, extra: Record<string, unknown> = {}): GraphDoc {
  const merged = { ...recipe, ...ds.settings, ...extra, framework: { ...((ds.settings.framework as object) ?? {}), ...((extra.framework as object) ?? {}) } };
  if (!Object.keys(merged.framework).length) delete (merged as Record<string, unknown>).framework;
  const r = parseTrainingSettings(merged);
  if (!r.ok) throw new Error(r.message);
  return { ...doc, training: r.settings as unknown as Record<string, unknown> };
}

/** Training recipes the RSB round trip must preserve (all within what RSB expresses). */
const RSB_RECIPES: Record<string, unknown>[] = [
  // softmax_triplet_with_center.yml = the app defaults, ImageNet weights
  { pretrained: { choice: 'imagenet', path: '/weights/resnet50-19c8e357.pth' } },
  {
    sampler: 'softmax_triplet',
    batch: { p: 8, k: 8 },
    loss: { labelSmooth: false, metric: 'triplet', margin: 0.5, centerWeight: 0.0005, centerLr: 0.5 },
    optimizer: { name: 'sgd', baseLr: 0.01, weightDecay: 1e-4, momentum: 0.8 },
    schedule: { warmup: false, warmupFactor: 0.01, warmupEpochs: 10, steps: [20, 40], gamma: 0.5 },
    epochs: 60,
    augment: { flipProb: 0.3, padding: 0, randomErasingProb: 0 },
    test: { featNorm: false, metric: 'euclidean', reRanking: true },
    pretrained: { choice: 'self', path: '/runs/a/resnet50_model_40.pth' },
    evalPeriod: 10,
    checkpointPeriod: 5,
    framework: { outputDir: '/runs/a' },
  },
  // softmax.yml-like
  { sampler: 'softmax', loss: { labelSmooth: true, metric: 'triplet' }, schedule: { warmup: true, warmupFactor: 0.1, warmupEpochs: 5, steps: [30, 55], gamma: 0.1 }, pretrained: { choice: 'imagenet', path: '/w.pth' } },
  { sampler: 'triplet', loss: { labelSmooth: true, metric: 'center', centerWeight: 0.001, centerLr: 0.3 }, epochs: 80, pretrained: { choice: 'imagenet', path: '/w.pth' } },
];

/** Recipes within fast-reid's reach (no center loss; steps after warmup). */
const FR_RECIPES: Record<string, unknown>[] = [
  // BoT: CE(LS) + triplet, 10 warmup epochs, decays at 50/100
  { loss: { labelSmooth: true, metric: 'triplet', margin: 0.3 }, schedule: { warmup: true, warmupFactor: 0.1, warmupEpochs: 10, steps: [50, 100], gamma: 0.1 }, pretrained: { choice: 'imagenet' }, evalPeriod: 30, checkpointPeriod: 30 },
  {
    sampler: 'triplet',
    batch: { p: 8, k: 8 },
    loss: { labelSmooth: true, metric: 'triplet', margin: 0.2 },
    optimizer: { name: 'sgd', baseLr: 0.01, weightDecay: 1e-4, momentum: 0.8 },
    schedule: { warmup: false, warmupFactor: 0.1, warmupEpochs: 10, steps: [20, 40], gamma: 0.5 },
    epochs: 60,
    augment: { flipProb: 0, padding: 0, randomErasingProb: 0.25 },
    test: { featNorm: false, metric: 'euclidean', reRanking: true },
    pretrained: { choice: 'none' },
    framework: { outputDir: 'logs/x' },
  },
  { sampler: 'softmax', loss: { labelSmooth: false, metric: 'triplet' }, schedule: { warmup: true, warmupFactor: 0.01, warmupEpochs: 5, steps: [30, 55], gamma: 0.1 }, pretrained: { choice: 'self', path: 'logs/m/model_final.pth' } },
];

const RSB_NAMES = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnet50_ibn_a'];
const FR_DEPTHS = ['resnet18', 'resnet34', 'resnet50', 'resnet101'];
const canonical = (d: GraphDoc) => serializeDocument(d);
// IBN-b (IBN-Net) is neither framework's Baseline: ibn-b.test.ts covers its presets.
const BASELINE_PRESETS = PRESET_NAMES.filter((n) => !n.endsWith('_ibn_b'));

describe('graph → rsb-yaml → graph', () => {
  BASELINE_PRESETS.forEach((name, i) => {
    it(`${name}: every option set`, () => {
      OPTION_SETS.forEach((o, j) => {
        const doc = withSettings(
          buildPreset(name, { neck: o.neck, neckFeat: o.neckFeat, lastStride: o.lastStride, numClasses: o.ds.classes, input: [...o.input] }),
          o.ds,
          RSB_RECIPES[(i + j) % RSB_RECIPES.length]!,
        );
        const out = exportRsbYaml(doc);
        if (!RSB_NAMES.includes(name)) {
          // reid-strong-baseline's Baseline wires only resnet50_ibn_a among the IBN nets.
          expect(out).toEqual({ ok: false, reasons: [expect.stringMatching(/^resnet\d+_ibn_a: reid-strong-baseline's Baseline wires only resnet18\/34\/50\/101\/152 and resnet50_ibn_a/)] });
          return;
        }
        if (!out.ok) throw new Error(`${name} option set ${j}: ${out.reasons.join('; ')}`);
        expect(out.warnings).toEqual([]);
        const back = importConfig(out.text);
        expect(back.framework).toBe('rsb');
        expect(back.ignored).toEqual([]);
        // Only informational notes: label smoothing being inert with the softmax sampler.
        expect(back.warnings.filter((w) => !/IF_LABELSMOOTH 'on' has no effect/.test(w))).toEqual([]);
        expect(canonical(back.doc)).toBe(canonical(doc));
        // And the YAML is a fixed point: exporting the re-imported document writes the same text.
        expect((exportRsbYaml(back.doc) as { text: string }).text).toBe(out.text);
      });
    });
  });
});

describe('graph → fastreid-yaml → graph', () => {
  it('the RSB-stem presets are refused for fast-reid, with the reason', () => {
    for (const name of BASELINE_PRESETS) {
      const out = exportFastreidYaml(withSettings(buildPreset(name), MARKET, FR_RECIPES[0]!));
      expect(out.ok).toBe(false);
      const reasons = (out as { reasons: string[] }).reasons.join('\n');
      expect(reasons).toMatch(/the stem is reid-strong-baseline's .*fast-reid's is conv → BN → ReLU → max pool 3×3\/2 padding 0 ceil_mode/);
      if (name.startsWith('resnet152')) expect(reasons).toMatch(/fast-reid's ResNet builder has depths 18x, 34x, 50x and 101x only/);
    }
  });

  const POOLS = ['avg', 'gem', 'gemP'] as const;
  BASELINE_PRESETS.forEach((name, i) => {
    it(`${name} with fast-reid's stem: every option set`, () => {
      OPTION_SETS.forEach((o, j) => {
        const spec: ModelSpec = {
          depth: name.replace('_ibn_a', '') as ModelSpec['depth'],
          ibn: name.endsWith('_ibn_a'),
          stem: 'fastreid',
          lastStride: o.lastStride,
          neck: o.neck,
          neckFeat: 'after', // fast-reid evaluates the post-neck feature
          trainFeat: o.neck === 'bnneck' && j % 2 === 0 ? 'after' : 'before',
          classifierBias: false,
          pool: POOLS[(i + j) % 3]!,
          numClasses: o.ds.classes,
          input: [o.input[0], o.input[1]],
          frozenBackbone: (i + j) % 3 === 1,
        };
        const doc = withSettings(buildModel(spec), o.ds, FR_RECIPES[(i + j) % FR_RECIPES.length]!);
        // fast-reid resizes bicubic (T.Resize(interpolation=3)): its documents carry that pre-processing.
        doc.preprocess = { interpolation: 'bicubic', pixelMean: [0.485, 0.456, 0.406], pixelStd: [0.229, 0.224, 0.225] };
        const out = exportFastreidYaml(doc);
        if (!FR_DEPTHS.includes(spec.depth)) {
          expect(out).toEqual({ ok: false, reasons: [expect.stringMatching(/fast-reid's ResNet builder has depths 18x, 34x, 50x and 101x only/)] });
          return;
        }
        if (!out.ok) throw new Error(`${name} option set ${j}: ${out.reasons.join('; ')}`);
        const back = importConfig(out.text);
        expect(back.framework).toBe('fastreid');
        expect(back.ignored).toEqual([]);
        expect(canonical(back.doc)).toBe(canonical(doc));
        expect((exportFastreidYaml(back.doc) as { text: string }).text).toBe(out.text);
      });
    });
  });
});

describe('document → document', () => {
  it('imported documents serialise byte-stably', () => {
    for (const f of ['rsb/softmax_triplet_with_center.yml', 'rsb/baseline.yml', 'fastreid/Market1501/bagtricks_R50-ibn.yml']) {
      const text = serializeDocument(importFixture(f).doc);
      expect(serializeDocument(parseDocument(text))).toBe(text);
    }
  });

  it('recipe yml → graph → yml → graph keeps the model and settings', () => {
    for (const f of ['rsb/softmax_triplet_with_center.yml', 'rsb/softmax_triplet.yml', 'rsb/baseline.yml', 'rsb/softmax.yml']) {
      const first = importFixture(f).doc;
      const out = exportRsbYaml(first);
      if (!out.ok) throw new Error(out.reasons.join('; '));
      expect(canonical(importConfig(out.text).doc)).toBe(canonical(first));
    }
    for (const f of ['fastreid/Base-bagtricks.yml', 'fastreid/DukeMTMC/bagtricks_R50.yml', 'fastreid/MSMT17/bagtricks_R50-ibn.yml']) {
      const first = importFixture(f).doc;
      const out = exportFastreidYaml(first);
      if (!out.ok) throw new Error(out.reasons.join('; '));
      expect(canonical(importConfig(out.text).doc)).toBe(canonical(first));
    }
  });
});
