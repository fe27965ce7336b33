import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, parseTrainingSettings, type GraphDoc, type TrainingSettings } from '../../core/index.js';
import { importConfig, type ModelSpec } from '../../core/config/index.js';

export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/configs');

/** Imports a fixture from disk, resolving `_BASE_` the way the CLI does. */
export function importFixture(rel: string) {
  const path = join(FIXTURES, rel);
  return importConfig(readFileSync(path, 'utf8'), { path, resolveBase: (p) => readFileSync(p, 'utf8') });
}

/**
 * What a graph *is*, read off the flattened layers (names follow the PyTorch state_dict layout), so the
 * tests state expectations in the frameworks' terms rather than the app's node kinds.
 */
export function modelFacts(doc: GraphDoc) {
  const a = analyze(doc.graph);
  const L = new Map(a.layers.map((l) => [l.name, l]));
  const blocks = [1, 2, 3, 4].map((s) => {
    let i = 0;
    while (L.has(`base.layer${s}.${i}.conv1`)) i++;
    return i;
  });
  const bottleneck = L.has('base.layer1.0.conv3');
  const ibn = a.layers.filter((l) => l.kind === 'ibn_a');
  const maxpool = L.get('base.maxpool')!;
  const logits = L.get(a.outputs.logits!)!;
  const pool = a.layers.find((l) => l.kind === 'global_avg_pool' || l.kind === 'gem_pool')!;
  return {
    ok: a.ok,
    blocks,
    block: bottleneck ? 'bottleneck' : 'basic',
    ibnLayers: ibn.map((l) => l.name),
    inChannels: ibn.reduce((s, l) => s + Math.floor(l.shape[2]! * (l.params.ratio as number)), 0),
    stemRelu: L.has('base.relu'),
    maxpool: { kernel: maxpool.params.kernel, stride: maxpool.params.stride, padding: maxpool.params.padding, ceil: maxpool.params.ceilMode },
    // ResNeSt (fast-reid resnest.py) strides with avd_layer, its split-attention conv at stride 1.
    lastStride: (L.get('base.layer4.0.avd_layer') ?? L.get(bottleneck ? 'base.layer4.0.conv2' : 'base.layer4.0.conv1'))!.params.stride,
    splitAttention: a.layers.filter((l) => l.kind === 'rsoftmax').length,
    pool: pool.kind === 'gem_pool' ? { kind: 'gem', ...pool.params } : { kind: 'avg' },
    bnneck: L.get('bottleneck')?.kind === 'batch_norm',
    evalFeature: a.outputs.evalFeature,
    trainFeature: a.outputs.trainFeature,
    classes: logits.shape[0],
    classifierBias: logits.params.bias,
    input: a.inputShape,
    featureMap: a.featureMap,
    params: a.totals.params,
    trainable: a.totals.trainable,
    frozenLayers: a.layers.filter((l) => l.frozen).length,
    layers: a.layers.length,
  };
}

export function settingsOf(doc: GraphDoc): TrainingSettings {
  const r = parseTrainingSettings(doc.training);
  if (!r.ok) throw new Error(r.message);
  return r.settings;
}

/** fast-reid's bagtricks R50 (configs/Base-bagtricks.yml: fast-reid stem, last stride 1, BNNeck, average pooling), with overrides. */
export function frSpec(over: Partial<ModelSpec> = {}): ModelSpec {
  return {
    depth: 'resnet50',
    ibn: false,
    stem: 'fastreid',
    lastStride: 1,
    neck: 'bnneck',
    neckFeat: 'after',
    trainFeat: 'before',
    classifierBias: false,
    pool: 'avg',
    numClasses: 751,
    input: [256, 128],
    frozenBackbone: false,
    ...over,
  };
}
