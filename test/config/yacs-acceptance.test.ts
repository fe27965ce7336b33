import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPreset, parseTrainingSettings, type GraphDoc } from '../../core/index.js';
import { buildModel, exportFastreidYaml, exportRsbYaml, type ModelSpec } from '../../core/config/index.js';
import { FIXTURES } from './helpers.js';

/**
 * "Runs unmodified there": every exported config goes through PyYAML + yacs's merge rules with the
 * framework's typed defaults (test/config/yacs_merge.py), which reject unknown keys and type mismatches
 * exactly as the frameworks' `cfg.merge_from_file` does. The recipe fixtures pass the same check.
 */

const PY = '/usr/bin/python3'; // Debian python3 with PyYAML (AGENTS.md)
const SCRIPT = new URL('./yacs_merge.py', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'reid-yacs-'));

type Merged = { ok: true; cfg: Record<string, Record<string, unknown>> } | { ok: false; error: string };
function merge(framework: 'rsb' | 'fastreid', files: string[]): Merged[] {
  const out = execFileSync(PY, [SCRIPT, framework, ...files], { encoding: 'utf8' });
  return out.trim().split('\n').map((l) => JSON.parse(l) as Merged);
}

function settings(raw: Record<string, unknown>): Record<string, unknown> {
  const r = parseTrainingSettings(raw);
  if (!r.ok) throw new Error(r.message);
  return r.settings as unknown as Record<string, unknown>;
}

function write(name: string, r: ReturnType<typeof exportRsbYaml>): string {
  if (!r.ok) throw new Error(r.reasons.join('; '));
  const path = join(tmp, name);
  writeFileSync(path, r.text);
  return path;
}

describe('exported configs pass yacs merge_from_file against the frameworks\' defaults', () => {
  it('reid-strong-baseline', () => {
    const docs: GraphDoc[] = [
      { ...buildPreset('resnet50'), training: settings({ dataset: { kind: 'market1501' }, pretrained: { choice: 'imagenet', path: '/w.pth' } }) },
      {
        ...buildPreset('resnet18', { neck: 'no', lastStride: 2, numClasses: 702, input: [384, 128] }),
        training: settings({
          dataset: { kind: 'dukemtmc' },
          sampler: 'softmax',
          loss: { metric: 'triplet', labelSmooth: false, margin: 1 },
          optimizer: { name: 'sgd', baseLr: 1, weightDecay: 0, momentum: 0 },
          schedule: { warmup: false, warmupFactor: 1, steps: [1, 2], gamma: 1 },
          augment: { flipProb: 0, padding: 0, randomErasingProb: 1 },
          pretrained: { choice: 'self', path: 'out/resnet18_model_10.pth' },
          framework: { outputDir: 'out' },
        }),
      },
      { ...buildPreset('resnet50_ibn_a', { numClasses: 1041 }), training: settings({ framework: { datasetName: 'msmt17' }, pretrained: { choice: 'imagenet', path: '/w.pth' }, optimizer: { baseLr: 1e-7 } }) },
    ];
    const files = docs.map((d, i) => write(`rsb-${i}.yml`, exportRsbYaml(d)));
    const results = merge('rsb', files);
    expect(results.map((r) => (r.ok ? 'ok' : r.error))).toEqual(['ok', 'ok', 'ok']);
    const [a, b, c] = results.map((r) => (r as { cfg: Record<string, Record<string, unknown>> }).cfg);
    expect(a!.MODEL).toMatchObject({ NAME: 'resnet50', IF_WITH_CENTER: 'yes', METRIC_LOSS_TYPE: 'triplet_center', IF_LABELSMOOTH: 'on', NECK: 'bnneck' });
    expect(a!.SOLVER).toMatchObject({ BASE_LR: 0.00035, BIAS_LR_FACTOR: 1, WARMUP_FACTOR: 0.01, WARMUP_ITERS: 10, STEPS: [40, 70], IMS_PER_BATCH: 64 });
    expect(a!.DATASETS).toMatchObject({ NAMES: 'market1501' });
    expect(b!.MODEL).toMatchObject({ NAME: 'resnet18', NECK: 'no', LAST_STRIDE: 2, IF_LABELSMOOTH: 'off', PRETRAIN_CHOICE: 'self' });
    expect(b!.SOLVER).toMatchObject({ OPTIMIZER_NAME: 'SGD', BASE_LR: 1, MOMENTUM: 0, GAMMA: 1, WARMUP_ITERS: 0 });
    expect(b!.INPUT).toMatchObject({ SIZE_TRAIN: [384, 128], PROB: 0, RE_PROB: 1, PADDING: 0 });
    expect(c!.SOLVER).toMatchObject({ BASE_LR: 1e-7 });
    expect(c!.DATASETS).toMatchObject({ NAMES: 'msmt17' });
  });

  it('fast-reid', () => {
    const spec: ModelSpec = {
      depth: 'resnet34',
      ibn: true,
      stem: 'fastreid',
      lastStride: 2,
      neck: 'bnneck',
      neckFeat: 'after',
      trainFeat: 'after',
      classifierBias: false,
      pool: 'gemP',
      numClasses: 751,
      input: [384, 128],
      frozenBackbone: true,
    };
    const docs: GraphDoc[] = [
      { ...buildModel(spec), training: settings({ dataset: { kind: 'market1501' }, loss: { metric: 'triplet' }, schedule: { warmupEpochs: 10, steps: [50, 100] } }) },
      { ...buildModel({ ...spec, depth: 'resnet101', ibn: false, neck: 'no', trainFeat: 'before', pool: 'avg', frozenBackbone: false, numClasses: 702 }), training: settings({ dataset: { kind: 'dukemtmc' }, sampler: 'softmax', loss: { metric: 'triplet' }, test: { featNorm: false, metric: 'euclidean', reRanking: true }, pretrained: { choice: 'self', path: 'logs/m.pth' } }) },
    ];
    const files = docs.map((d, i) => write(`fr-${i}.yml`, exportFastreidYaml(d)));
    const results = merge('fastreid', files);
    expect(results.map((r) => (r.ok ? 'ok' : r.error))).toEqual(['ok', 'ok']);
    const [a, b] = results.map((r) => (r as { cfg: Record<string, Record<string, Record<string, unknown>>> }).cfg);
    expect(a!.MODEL!.BACKBONE).toMatchObject({ DEPTH: '34x', FEAT_DIM: 512, WITH_IBN: true, LAST_STRIDE: 2 });
    expect(a!.MODEL!.HEADS).toMatchObject({ POOL_LAYER: 'GeneralizedMeanPoolingP', NECK_FEAT: 'after', WITH_BNNECK: true, SCALE: 1 });
    expect(a!.MODEL!.LOSSES).toMatchObject({ NAME: ['CrossEntropyLoss', 'TripletLoss'] });
    expect(a!.MODEL!.FREEZE_LAYERS).toEqual(['backbone']);
    // 12,936 // 64 = 202 iterations per epoch: 10 warmup epochs, a 120-epoch freeze.
    expect(a!.SOLVER).toMatchObject({ WARMUP_ITERS: 2020, STEPS: [40, 90], FREEZE_ITERS: 24240 });
    expect(b!.MODEL!.WEIGHTS).toBe('logs/m.pth');
    expect(b!.MODEL!.LOSSES).toMatchObject({ NAME: ['CrossEntropyLoss'], CE: { EPSILON: 0 } });
    expect(b!.TEST).toMatchObject({ METRIC: 'euclidean', RERANK: { ENABLED: true } });
    expect(b!.DATALOADER).toMatchObject({ SAMPLER_TRAIN: 'TrainingSampler' });
  });

  it('the recipe fixtures load too (fast-reid ones through _BASE_)', () => {
    const rsb = ['softmax', 'softmax_triplet', 'softmax_triplet_with_center', 'baseline'].map((f) => join(FIXTURES, 'rsb', `${f}.yml`));
    expect(merge('rsb', rsb).map((r) => r.ok)).toEqual([true, true, true, true]);
    const fr = ['Base-bagtricks.yml', 'Market1501/bagtricks_R50-ibn.yml', 'DukeMTMC/bagtricks_R50.yml', 'MSMT17/bagtricks_R50-ibn.yml'].map((f) => join(FIXTURES, 'fastreid', f));
    const res = merge('fastreid', fr);
    expect(res.map((r) => r.ok)).toEqual([true, true, true, true]);
    expect((res[1] as unknown as { cfg: { MODEL: { BACKBONE: { WITH_IBN: boolean } } } }).cfg.MODEL.BACKBONE.WITH_IBN).toBe(true);
  });

  it('the checker itself rejects what yacs rejects (negative control)', () => {
    const intLr = join(tmp, 'int-lr.yml');
    writeFileSync(intLr, 'SOLVER:\n  BASE_LR: 1\n');
    const unknown = join(tmp, 'unknown.yml');
    writeFileSync(unknown, 'MODEL:\n  WIDTH: 2\n');
    const bareYes = join(tmp, 'bare-yes.yml');
    writeFileSync(bareYes, 'MODEL:\n  IF_WITH_CENTER: yes\n');
    const errors = merge('rsb', [intLr, unknown, bareYes]).map((r) => (r.ok ? 'ok' : r.error));
    expect(errors[0]).toMatch(/Type mismatch .* SOLVER\.BASE_LR/);
    expect(errors[1]).toMatch(/Non-existent config key: MODEL\.WIDTH/);
    expect(errors[2]).toMatch(/Type mismatch .* MODEL\.IF_WITH_CENTER/);
  });
});
