import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALL_PRESET_NAMES,
  buildFastreidPreset,
  buildMgnPreset,
  FR_PRESET_NAMES,
  MGN_PRESET_NAMES,
  parseTrainingSettings,
  addNode,
  applyCommand,
  buildPreset,
  connect,
  disconnect,
  expandNode,
  setFrozen,
  setStatsFrozen,
  swapNorm,
  type GraphDoc,
} from '../../core/index.js';
import { buildModel, exportFastreidYaml, exportRsbYaml, importConfig, withFastreidStem, type ModelSpec } from '../../core/config/index.js';
import { FIXTURES, frSpec, modelFacts } from './helpers.js';

/** Graphs (and settings) the frameworks cannot express are refused with the reason, never approximated. */

const MARKET_TRIPLET = { dataset: { kind: 'market1501' }, loss: { metric: 'triplet' }, pretrained: { choice: 'imagenet', path: '/w.pth' } };
const withTraining = (doc: GraphDoc, training: Record<string, unknown> = MARKET_TRIPLET): GraphDoc => ({ ...doc, training });
const FR50: ModelSpec = frSpec({ ibn: true });
const reasonsOf = (r: ReturnType<typeof exportRsbYaml>) => {
  expect(r.ok).toBe(false);
  return (r as { reasons: string[] }).reasons.join('\n');
};

describe('model refusals', () => {
  it('IBN-a in only some blocks (one stage back to BN)', () => {
    const doc = applyCommand(buildPreset('resnet50_ibn_a'), swapNorm(['layer2'], 'bn'));
    expect(reasonsOf(exportRsbYaml(withTraining(doc)))).toMatch(/base\.layer2\.0\.bn1 is batch_norm where ResNet-IBN-a has IBN-a/);
    const fr = applyCommand(buildModel(FR50), swapNorm(['layer2'], 'bn'));
    expect(reasonsOf(exportFastreidYaml(withTraining(fr)))).toMatch(/IBN-a replaces bn1 of every block in layer1–3/);
  });

  it('IBN-a in a single block of an expanded stage, and IBN-a in layer4', () => {
    let doc = applyCommand(buildPreset('resnet50'), expandNode('layer3'));
    doc = applyCommand(doc, swapNorm(['layer3/2'], 'ibn_a'));
    expect(reasonsOf(exportRsbYaml(withTraining(doc)))).toMatch(/base\.layer3\.2\.bn1 is ibn_a where ResNet has BatchNorm/);
    const l4 = applyCommand(buildPreset('resnet50_ibn_a'), swapNorm(['layer4'], 'ibn_a'));
    expect(reasonsOf(exportRsbYaml(withTraining(l4)))).toMatch(/base\.layer4\.0\.bn1 is ibn_a/);
  });

  it('a frozen stage: RSB has no freezing; fast-reid freezes the whole backbone only', () => {
    const doc = applyCommand(buildPreset('resnet50'), setFrozen(['layer3'], true));
    expect(reasonsOf(exportRsbYaml(withTraining(doc)))).toMatch(/reid-strong-baseline has no layer freezing/);
    const fr = applyCommand(buildModel(FR50), setFrozen(['layer3'], true));
    expect(reasonsOf(exportFastreidYaml(withTraining(fr)))).toMatch(/freeze pattern: only part of the backbone is frozen/);
  });

  it('a frozen backbone whose BN statistics keep updating: fast-reid\'s freeze also stops them', () => {
    let fr = buildModel({ ...FR50, frozenBackbone: true });
    fr = applyCommand(fr, setStatsFrozen(['layer1'], false));
    expect(reasonsOf(exportFastreidYaml(withTraining(fr)))).toMatch(/freeze pattern: base\.layer1\.0\.conv1 is frozen with its BN statistics updating where the framework's model has it frozen/);
  });

  it('a frozen backbone exports to fast-reid as FREEZE_LAYERS [backbone] for the whole run', () => {
    const out = exportFastreidYaml(withTraining(buildModel({ ...FR50, frozenBackbone: true })));
    if (!out.ok) throw new Error(out.reasons.join('; '));
    expect(out.text).toMatch(/FREEZE_LAYERS: \['backbone'\]/);
    // 120 epochs × (12,936 // 64 = 202) iterations.
    expect(out.text).toMatch(/FREEZE_ITERS: 24240\n/);
    const back = importConfig(out.text).doc;
    expect(modelFacts(back).trainable).toBe(1_540_096); // BNNeck γ + classifier (the head without the backbone)
  });

  it('resnet152_ibn_a (and 18/34/101 IBN) in RSB, which wires only resnet50_ibn_a', () => {
    for (const name of ['resnet18_ibn_a', 'resnet152_ibn_a'])
      expect(reasonsOf(exportRsbYaml(withTraining(buildPreset(name))))).toMatch(new RegExp(`^${name}: reid-strong-baseline's Baseline wires only`));
  });

  it('GeM pooling in RSB (fast-reid has it)', () => {
    const doc = structuredClone(buildPreset('resnet50'));
    const gap = doc.graph.nodes.find((n) => n.id === 'gap')!;
    gap.kind = 'gem_pool';
    gap.params = { p: 3, learnable: true, eps: 1e-6 };
    expect(reasonsOf(exportRsbYaml(withTraining(doc)))).toBe(
      'GeM pooling: reid-strong-baseline pools with global average pooling only (modeling/baseline.py)',
    );
    const fr = exportFastreidYaml(withTraining(buildModel({ ...FR50, pool: 'gemP' })));
    expect(fr.ok && fr.text).toMatch(/POOL_LAYER: 'GeneralizedMeanPoolingP'/);
  });

  it('a custom topology: an extra layer between the backbone and the pooling', () => {
    let doc = applyCommand(buildPreset('resnet50'), addNode({ kind: 'relu', id: 'extra', name: 'extra', position: { x: 0, y: 0 } }));
    doc = applyCommand(doc, disconnect(['layer4:out->gap:in']));
    doc = applyCommand(doc, connect({ source: 'layer4', sourcePort: 'out', target: 'extra', targetPort: 'in' }));
    doc = applyCommand(doc, connect({ source: 'extra', sourcePort: 'out', target: 'gap', targetPort: 'in' }));
    expect(reasonsOf(exportRsbYaml(withTraining(doc)))).toMatch(/^custom topology: it has a layer extra \(relu\)/);
    expect(reasonsOf(exportFastreidYaml(withTraining(doc)))).toMatch(/custom topology|stem/);
  });

  it('a stem that is neither framework\'s (torchvision: ReLU with padding-1 max pool on a plain ResNet)', () => {
    const doc = structuredClone(buildPreset('resnet50'));
    doc.graph.nodes.find((n) => n.id === 'stem')!.params.relu = true;
    expect(reasonsOf(exportRsbYaml(withTraining(doc)))).toMatch(/is neither reid-strong-baseline's \(resnet\.py: no ReLU, padding 1\) nor fast-reid's/);
  });

  it("fast-reid's stem in RSB; RSB's eval-before-BNNeck and classifier bias in fast-reid", () => {
    expect(reasonsOf(exportRsbYaml(withTraining(withFastreidStem(buildPreset('resnet50')))))).toMatch(/the stem is fast-reid's/);
    expect(reasonsOf(exportFastreidYaml(withTraining(buildModel({ ...FR50, neckFeat: 'before' }))))).toMatch(/fast-reid always evaluates the post-neck feature/);
    expect(reasonsOf(exportFastreidYaml(withTraining(buildModel({ ...FR50, neck: 'no', classifierBias: true }))))).toMatch(/bias-free weight/);
    expect(reasonsOf(exportRsbYaml(withTraining(buildModel({ ...FR50, stem: 'rsb', ibn: false, trainFeat: 'after' }))))).toMatch(/pre-BN global feature/);
  });

  it('a graph with errors', () => {
    const doc = applyCommand(buildPreset('resnet50'), disconnect(['gap:out->neck:in']));
    expect(reasonsOf(exportRsbYaml(withTraining(doc)))).toMatch(/the graph has \d+ problem/);
  });
});

describe('settings refusals and notes', () => {
  it('a classifier sized for other data is a note, not a refusal: both frameworks size it from the data they load', () => {
    // reid-strong-baseline tools/train.py: build_model(cfg, num_classes) with make_data_loader's count (no config
    // key); fast-reid engine/defaults.py auto_scale_hyperparams: NUM_CLASSES 0 takes the dataset's count.
    const doc = withTraining(buildPreset('resnet50'), { ...MARKET_TRIPLET, dataset: { kind: 'dukemtmc' } });
    const rsb = exportRsbYaml(doc);
    expect(rsb.ok).toBe(true);
    if (!rsb.ok) return;
    expect(rsb.warnings).toContain("the graph's classifier has 751 classes; reid-strong-baseline sizes it from the data it loads (DukeMTMC-reID: 702 training identities), as the app's trainer does");
    const fr = exportFastreidYaml(withTraining(buildModel({ ...FR50, numClasses: 12 })));
    expect(fr.ok).toBe(true);
    if (!fr.ok) return;
    expect(fr.text).toMatch(/^\s+NUM_CLASSES: 0$/m);
    expect(fr.warnings).toContain("the graph's classifier has 12 classes; fast-reid sizes it from the data it loads (Market-1501: 751 training identities), as the app's trainer does");
  });

  it('the demo dataset and training from scratch in RSB: an editable config with notes, not a refusal', () => {
    // The written file itself is checked with PyYAML + yacs in editable-export.test.ts.
    const doc = withTraining(buildPreset('resnet50'), { loss: { metric: 'triplet' } });
    const out = exportRsbYaml(doc);
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.text).toMatch(/# TO FILL IN: the run trained on the app's built-in demo dataset/);
    expect(out.text).toMatch(/# TO FILL IN: the run trained from scratch, but reid-strong-baseline always loads weights/);
    expect(out.warnings).toContain('the config needs editing before it trains: DATASETS.NAMES, MODEL.PRETRAIN_PATH (see the TO FILL IN comments)');
  });

  it('center loss and an LR step inside the warmup in fast-reid', () => {
    const doc = withTraining(buildModel(FR50), { dataset: { kind: 'market1501' }, loss: { metric: 'triplet_center' }, schedule: { warmupEpochs: 10, steps: [5, 70] } });
    const reasons = reasonsOf(exportFastreidYaml(doc));
    // fast-reid's stem: reid-strong-baseline cannot build the model either, so the reason does not send the user there.
    expect(reasons).toMatch(/fast-reid has no center loss; choose the triplet metric loss \(reid-strong-baseline, which trains center loss, cannot build this model: the stem is fast-reid's/);
    expect(reasons).not.toMatch(/rsb-yaml/);
    expect(reasons).toMatch(/LR step at epoch 5 falls inside the 10-epoch warmup/);
    // reid-strong-baseline's own ResNet-50: the reason names its export, which accepts the document.
    const rsb50 = withTraining(buildPreset('resnet50'), { dataset: { kind: 'market1501' }, loss: { metric: 'triplet_center' } });
    expect(reasonsOf(exportFastreidYaml(rsb50))).toMatch(/fast-reid has no center loss; choose the triplet metric loss, or export for reid-strong-baseline \(rsb-yaml, rsb-job\), which trains it/);
    expect(exportRsbYaml(rsb50).ok).toBe(true);
  });

  it('center loss on ResNeSt: each framework names the step that leads somewhere (RSB has no ResNeSt, fast-reid no center loss)', () => {
    const doc = withTraining(buildPreset('resnest50'), { dataset: { kind: 'market1501' }, loss: { metric: 'triplet_center' } });
    const fr = reasonsOf(exportFastreidYaml(doc));
    expect(fr).toMatch(/fast-reid has no center loss; choose the triplet metric loss \(reid-strong-baseline, which trains center loss, has no ResNeSt\)/);
    expect(fr).not.toMatch(/rsb-yaml/);
    expect(reasonsOf(exportRsbYaml(doc))).toMatch(/reid-strong-baseline has no ResNeSt — export it as fast-reid YAML/);
  });

  it('a document without training settings exports the app defaults, saying so', () => {
    const out = exportRsbYaml(buildPreset('resnet50'));
    if (!out.ok) throw new Error(out.reasons.join('; '));
    expect(out.warnings.join('\n')).toMatch(/no training settings/);
    expect(out.text).toMatch(/NAMES: 'market1501'/);
  });
});

/**
 * Every preset, with the training settings a run of it records (the preset's own, else the app's defaults), exports
 * to a framework config, or its refusals name no format: a refusal that sends the user to the other format (or to
 * `--fastreid-stem`) names one that accepts the run — never two refusals pointing at each other. The presets no
 * framework takes as trained say why: IBN-b and ResNet-152-IBN-a are in neither (IBN-Net's / RSB's resnet_ibn_a.py
 * only, which RSB's Baseline cannot select). ResNet-18/34/101-IBN-a are fast-reid's only and train its recipe's losses
 * (no center loss), so they export to fast-reid.
 */
describe('every preset has a framework config to export to, or a refusal that leads somewhere', () => {
  const names = [...ALL_PRESET_NAMES, ...FR_PRESET_NAMES, ...MGN_PRESET_NAMES];
  const build = (n: string) => (FR_PRESET_NAMES.includes(n) ? buildFastreidPreset(n) : MGN_PRESET_NAMES.includes(n) ? buildMgnPreset(n) : buildPreset(n));
  /** The formats a refusal sends the user to. */
  const named = (reason: string) => ({ rsb: /rsb-yaml|rsb-job|reid-strong-baseline YAML/.test(reason), fastreid: /fastreid-yaml|fastreid-job|fast-reid YAML|--fastreid-stem/.test(reason) });
  const NOWHERE: Record<string, RegExp> = {
    ...Object.fromEntries(names.filter((n) => n.endsWith('_ibn_b')).map((n) => [n, /in neither reid-strong-baseline's nor fast-reid's ResNet/])),
    resnet152_ibn_a: /fast-reid's ResNet builder has depths 18x, 34x, 50x and 101x only/,
  };

  it.each(names)('%s', (name) => {
    const doc = build(name);
    const parsed = parseTrainingSettings(doc.training ?? {});
    if (!parsed.ok) throw new Error(parsed.message);
    const run = { ...doc, training: { ...parsed.settings, dataset: { kind: 'market1501' } } };
    const rsb = exportRsbYaml(run);
    let fastreid = exportFastreidYaml(run);
    // fastreid-yaml --fastreid-stem: the conversion the stem refusal names.
    if (!fastreid.ok && /--fastreid-stem/.test(fastreid.reasons.join('\n'))) fastreid = exportFastreidYaml(withFastreidStem(run));
    const out = { rsb, fastreid };
    for (const [format, r] of Object.entries(out)) {
      if (r.ok) continue;
      const to = named(r.reasons.join('\n'));
      for (const other of ['rsb', 'fastreid'] as const) if (to[other]) expect([format, 'points at', other, out[other].ok], r.reasons.join('\n')).toEqual([format, 'points at', other, true]);
    }
    if (NOWHERE[name]) {
      expect([out.rsb.ok, out.fastreid.ok]).toEqual([false, false]);
      expect(`${reasonsOf(out.rsb)}\n${reasonsOf(out.fastreid)}`).toMatch(NOWHERE[name]);
    } else expect(out.rsb.ok || out.fastreid.ok, name).toBe(true);
  });

  /**
   * A preset only fast-reid builds trains the losses of fast-reid's recipe for it: its fast-reid export (with the
   * conversion a stem refusal names), yacs-merged, has the recipe's MODEL.LOSSES (and DEPTH / WITH_IBN: the model
   * is fast-reid's). resnet18/34_ibn_a have no recipe file: Base-bagtricks.yml itself, at their depth.
   */
  it.each([
    ['resnest50', 'Market1501/bagtricks_S50.yml', undefined],
    ['resnet18_ibn_a', 'Base-bagtricks.yml', { DEPTH: '18x', WITH_IBN: true }],
    ['resnet34_ibn_a', 'Base-bagtricks.yml', { DEPTH: '34x', WITH_IBN: true }],
    ['resnet101_ibn_a', 'Market1501/bagtricks_R101-ibn.yml', { DEPTH: '101x', WITH_IBN: true }],
  ] as const)("%s trains fast-reid's recipe losses: its export, yacs-merged, has %s's MODEL.LOSSES", (name, recipeFile, backbone) => {
    const doc = buildPreset(name);
    const parsed = parseTrainingSettings(doc.training ?? {});
    if (!parsed.ok) throw new Error(parsed.message);
    const run = { ...doc, training: { ...parsed.settings, dataset: { kind: 'market1501' } } };
    let out = exportFastreidYaml(run);
    if (!out.ok && /--fastreid-stem/.test(out.reasons.join('\n'))) out = exportFastreidYaml(withFastreidStem(run));
    if (!out.ok) throw new Error(out.reasons.join('; '));
    const file = join(mkdtempSync(join(tmpdir(), 'reid-fr-only-')), `${name}.yml`);
    writeFileSync(file, out.text);
    const merged = execFileSync('/usr/bin/python3', [new URL('./yacs_merge.py', import.meta.url).pathname, 'fastreid', join(FIXTURES, 'fastreid', recipeFile), file], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; error?: string; cfg: { MODEL: { LOSSES: Record<string, unknown>; BACKBONE: { DEPTH: string; WITH_IBN: boolean } } } });
    const [recipe, ours] = merged.map((m) => {
      expect(m.ok, m.error).toBe(true);
      const l = m.cfg.MODEL.LOSSES as { NAME: string[]; CE: { EPSILON: number }; TRI: Record<string, unknown> };
      return { NAME: l.NAME, EPSILON: l.CE.EPSILON, TRI: l.TRI };
    });
    expect(ours).toEqual(recipe);
    expect(ours?.NAME).not.toContain('CenterLoss');
    if (backbone) expect({ DEPTH: merged[1]?.cfg.MODEL.BACKBONE.DEPTH, WITH_IBN: merged[1]?.cfg.MODEL.BACKBONE.WITH_IBN }).toEqual(backbone);
  });
});
