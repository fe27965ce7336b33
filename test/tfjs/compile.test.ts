/**
 * The Keras-JSON lowering (core/compile/keras.ts, pure) and the tfjs model built from it: PyTorch
 * padding rules, norm conventions, names, roles, weight-slot order, freezing,
 * statistics freezing, BNNeck's frozen shift, and save → reload identity.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  analyze,
  applyCommand,
  auxLayerName,
  buildPreset,
  compileToKeras,
  CompileError,
  coreLayerName,
  freezeBackbone,
  setStatsFrozen,
  weightSpecs,
  type KerasLayerJson,
} from '../../core/index.js';
import {
  buildModel,
  disposeModel,
  forwardEval,
  forwardTrain,
  fromArtifacts,
  getWeightValues,
  initBackend,
  layerSlots,
  loadModelDir,
  saveModelDir,
  toArtifacts,
  trainableVariables,
  type ReidModel,
} from '../../main/tfjs/index.js';

const small = { input: [64, 32] as [number, number], numClasses: 6 };
const layerOf = (layers: KerasLayerJson[], name: string) => {
  const l = layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name}`);
  return l;
};

describe('Keras-JSON lowering (pure)', () => {
  const c = compileToKeras(analyze(buildPreset('resnet50', small).graph));
  const L = c.modelTopology.config.layers;

  it('pads symmetrically where PyTorch does, and uses "same"/"valid" only where they are identical', () => {
    expect(layerOf(L, auxLayerName('base.conv1', 'pad')).config.padding).toEqual([[3, 3], [3, 3]]);
    expect(layerOf(L, 'base.conv1').config).toMatchObject({ padding: 'valid', strides: [2, 2], kernel_size: [7, 7], use_bias: false });
    expect(layerOf(L, 'base.conv1').inbound_nodes).toEqual([[[auxLayerName('base.conv1', 'pad'), 0, 0, {}]]]);
    // 3×3 stride 2 (v1.5 Bottleneck conv2): explicit pad 1 + valid; 3×3 stride 1: 'same' (symmetric for odd k).
    expect(layerOf(L, auxLayerName('base.layer2.0.conv2', 'pad')).config.padding).toEqual([[1, 1], [1, 1]]);
    expect(layerOf(L, 'base.layer2.0.conv2').config).toMatchObject({ padding: 'valid', strides: [2, 2] });
    expect(layerOf(L, 'base.layer1.0.conv2').config).toMatchObject({ padding: 'same', strides: [1, 1] });
    expect(L.some((l) => l.name === auxLayerName('base.layer1.0.conv2', 'pad'))).toBe(false);
    expect(layerOf(L, 'base.layer2.0.downsample.0').config).toMatchObject({ padding: 'valid', strides: [2, 2], kernel_size: [1, 1] });
    // Max pool 3×3/2 pad 1 with −∞ padding (RSB's stem has no ReLU).
    expect(layerOf(L, 'base.maxpool')).toMatchObject({ class_name: 'ReidMaxPool2D', config: { pool_size: 3, strides: 2, padding: 1, ceil_mode: false } });
    expect(L.some((l) => l.name === 'base.relu')).toBe(false);
  });

  it('uses PyTorch norm conventions and BNNeck without a trainable shift', () => {
    expect(layerOf(L, 'base.bn1')).toMatchObject({ class_name: 'ReidBatchNorm', config: { epsilon: 1e-5, momentum: 0.9, freeze_shift: false, stats_frozen: false } });
    expect(layerOf(L, 'bottleneck').config).toMatchObject({ freeze_shift: true });
    expect(layerOf(L, 'classifier')).toMatchObject({ class_name: 'Dense', config: { units: 6, use_bias: false } });
    const ibn = compileToKeras(analyze(buildPreset('resnet50_ibn_a', small).graph)).modelTopology.config.layers;
    expect(layerOf(ibn, 'base.layer3.5.bn1')).toMatchObject({ class_name: 'ReidIBNa', config: { ratio: 0.5, epsilon: 1e-5 } });
    expect(layerOf(ibn, 'base.layer4.0.bn1').class_name).toBe('ReidBatchNorm');
    expect(layerOf(ibn, 'base.relu').class_name).toBe('Activation');
  });

  it('records output roles (train: logits + pre-neck feature; eval: neck_feat)', () => {
    expect(c.metadata.roles).toEqual({ logits: 'classifier', trainFeature: 'gap', evalFeature: 'bottleneck' });
    expect(c.modelTopology.config.output_layers).toEqual([['classifier', 0, 0], ['gap', 0, 0], ['bottleneck', 0, 0]]);
    const before = compileToKeras(analyze(buildPreset('resnet18', { ...small, neckFeat: 'before' }).graph));
    expect(before.metadata.roles.evalFeature).toBe('gap');
    expect(before.metadata.outputs).toEqual(['classifier', 'gap']);
    const no = compileToKeras(analyze(buildPreset('resnet18', { ...small, neck: 'no' }).graph));
    expect(no.metadata.roles).toEqual({ logits: 'classifier', trainFeature: 'gap', evalFeature: 'gap' });
    expect(layerOf(no.modelTopology.config.layers, 'classifier').config.use_bias).toBe(true);
  });

  it('marks frozen layers untrainable with frozen statistics, unless statistics opt out', () => {
    const doc = applyCommand(buildPreset('resnet18', small), freezeBackbone(true));
    const fl = compileToKeras(analyze(doc.graph)).modelTopology.config.layers;
    expect(layerOf(fl, 'base.layer1.0.conv1').config.trainable).toBe(false);
    expect(layerOf(fl, 'base.layer1.0.bn1').config).toMatchObject({ trainable: false, stats_frozen: true });
    expect(layerOf(fl, 'bottleneck').config).toMatchObject({ trainable: true, stats_frozen: false });
    const optOut = applyCommand(doc, setStatsFrozen(['layer2'], false));
    const ol = compileToKeras(analyze(optOut.graph)).modelTopology.config.layers;
    expect(layerOf(ol, 'base.layer2.0.bn1').config).toMatchObject({ trainable: false, stats_frozen: false });
  });

  it('maps names reversibly and refuses broken graphs', () => {
    expect(coreLayerName(auxLayerName('base.layer1.0.conv2', 'pad'))).toBe('base.layer1.0.conv2');
    expect(coreLayerName('base.layer1.0.conv2')).toBe('base.layer1.0.conv2');
    const doc = buildPreset('resnet18', small);
    doc.graph.edges = doc.graph.edges.filter((e) => e.target !== 'gap');
    expect(() => compileToKeras(analyze(doc.graph))).toThrow(CompileError);
  });
});

describe('tfjs model from the topology', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('deserialises to the same topology and weight slots in weight-spec order', async () => {
    const a = analyze(buildPreset('resnet50_ibn_a', small).graph);
    const { reid, compiled } = await buildModel(a);
    const json = reid.model.toJSON(null, false) as unknown as { config: { layers: KerasLayerJson[] } };
    // tfjs may list the layers in another topological order: compare as sets.
    const strip = (l: KerasLayerJson) => JSON.stringify([l.name, l.class_name, l.inbound_nodes, l.config.trainable]);
    expect(json.config.layers.map(strip).sort()).toEqual(compiled.modelTopology.config.layers.map(strip).sort());
    for (const l of a.layers) {
      const specs = weightSpecs(l);
      if (!specs.length) continue;
      expect(layerSlots(reid.model.getLayer(l.name)), l.name).toEqual(specs.map((s) => s.slot));
    }
    // PyTorch's parameter count: every trainable spec, and BNNeck's shift is not trainable.
    const trainable = trainableVariables(reid).reduce((s, v) => s + v.size, 0);
    expect(trainable).toBe(a.totals.trainable);
    disposeModel(reid);
  });

  it('frozen nodes have no trainable weights', async () => {
    const a = analyze(applyCommand(buildPreset('resnet18', small), freezeBackbone(true)).graph);
    const { reid } = await buildModel(a);
    const names = reid.model.trainableWeights.map((w) => w.originalName).sort();
    expect(names).toEqual(['bottleneck/gamma', 'classifier/kernel']);
    for (const w of reid.model.weights) if (w.originalName.startsWith('base.')) expect((w.read() as tf.Variable).trainable, w.originalName).toBe(false);
    disposeModel(reid);
  });

  async function stepAndCompare(reid: ReidModel, layers: ReturnType<typeof analyze>['layers']) {
    const before = await getWeightValues(reid, layers);
    const x = tf.randomNormal([4, 64, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const opt = tf.train.sgd(0.05);
    for (let i = 0; i < 2; i++) {
      const { value, grads } = tf.variableGrads(() => {
        const { logits, feature } = forwardTrain(reid, x);
        return tf.add(tf.mean(tf.square(logits)), tf.mean(feature)) as tf.Scalar;
      }, trainableVariables(reid));
      opt.applyGradients(grads);
      tf.dispose([value, grads]);
    }
    x.dispose();
    opt.dispose();
    const after = await getWeightValues(reid, layers);
    const changed = (k: string) => before.get(k)!.some((v, i) => v !== after.get(k)![i]);
    return { changed, after };
  }

  it('frozen statistics do not change in training; BNNeck shift stays exactly zero', async () => {
    const a = analyze(applyCommand(buildPreset('resnet18', small), freezeBackbone(true)).graph);
    const { reid } = await buildModel(a);
    const { changed, after } = await stepAndCompare(reid, a.layers);
    expect(changed('base.layer1.0.bn1/moving_mean')).toBe(false);
    expect(changed('base.layer1.0.bn1/moving_variance')).toBe(false);
    expect(changed('base.layer1.0.conv1/kernel')).toBe(false);
    expect(changed('bottleneck/moving_mean')).toBe(true); // the neck is not frozen
    expect(changed('bottleneck/gamma')).toBe(true);
    expect(after.get('bottleneck/beta')!.every((v) => v === 0)).toBe(true);
    disposeModel(reid);
  });

  it('a frozen node that opts out of frozen statistics updates them but not its weights', async () => {
    const doc = applyCommand(applyCommand(buildPreset('resnet18', small), freezeBackbone(true)), setStatsFrozen(['layer2'], false));
    const a = analyze(doc.graph);
    const { reid } = await buildModel(a);
    const { changed } = await stepAndCompare(reid, a.layers);
    expect(changed('base.layer2.0.bn1/moving_mean')).toBe(true);
    expect(changed('base.layer2.0.bn1/gamma')).toBe(false);
    expect(changed('base.layer3.0.bn1/moving_mean')).toBe(false);
    disposeModel(reid);
  });

  it('unfrozen BN statistics move in training', async () => {
    const a = analyze(buildPreset('resnet18', small).graph);
    const { reid } = await buildModel(a);
    const { changed } = await stepAndCompare(reid, a.layers);
    expect(changed('base.bn1/moving_mean')).toBe(true);
    expect(changed('base.layer4.1.bn2/moving_variance')).toBe(true);
    disposeModel(reid);
  });

  it('a saved and reloaded model behaves identically (memory artifacts and model.json folder)', async () => {
    const a = analyze(applyCommand(buildPreset('resnet18_ibn_a', { ...small, neckFeat: 'before' }), setStatsFrozen(['layer1'], true)).graph);
    const { reid } = await buildModel(a);
    await stepAndCompare(reid, a.layers); // non-trivial statistics and weights
    const dir = mkdtempSync(join(tmpdir(), 'reid-model-'));
    try {
      await saveModelDir(reid, dir);
      const reloaded = [await fromArtifacts(await toArtifacts(reid)), await loadModelDir(dir)];
      // Reference behaviour of the original from the saved state (a training pass then moves statistics).
      const w1 = await getWeightValues(reid, a.layers);
      const x = tf.randomNormal([3, 64, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
      const e1 = Array.from(await forwardEval(reid, x).data());
      const t1 = forwardTrain(reid, x);
      const l1 = Array.from(await t1.logits.data());
      const f1 = Array.from(await t1.feature.data());
      for (const re of reloaded) {
        expect(re.metadata).toEqual(reid.metadata);
        expect(re.model.trainableWeights.map((w) => w.originalName)).toEqual(reid.model.trainableWeights.map((w) => w.originalName));
        const w2 = await getWeightValues(re, a.layers);
        for (const [k, v] of w1) expect(Array.from(w2.get(k)!), k).toEqual(Array.from(v));
        expect(Array.from(await forwardEval(re, x).data())).toEqual(e1);
        const t2 = forwardTrain(re, x);
        expect(Array.from(await t2.logits.data())).toEqual(l1);
        expect(Array.from(await t2.feature.data())).toEqual(f1);
        tf.dispose([t2.logits, t2.feature]);
        disposeModel(re);
      }
      tf.dispose([x, t1.logits, t1.feature]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      disposeModel(reid);
    }
    // Three resnet18-ibn-a models with a training pass each on tfjs' CPU kernels: ~100 s alone on a loaded
    // 2-core machine, so the default 120 s is too close.
  }, 360_000);
});
