import { describe, expect, it } from 'vitest';
import {
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
import { frSpec, modelFacts } from './helpers.js';

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
    expect(reasons).toMatch(/fast-reid has no center loss; choose the triplet metric loss, or export for reid-strong-baseline \(rsb-yaml, rsb-job\), which trains it/);
    expect(reasons).toMatch(/LR step at epoch 5 falls inside the 10-epoch warmup/);
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
