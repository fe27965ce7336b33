/**
 * The IBN-a trick (Settings ▸ IBN-a, Model ▸ Apply paper IBN-a placement) on reid-strong-baseline's plain
 * ResNet-50 against RSB's own code: test/fixtures/frameworks/rsb-state-dicts.json (keys and shapes of RSB's
 * Baseline, make_rsb_state_dicts.py) and rsb-ibn-features.json (eval features of RSB's Baseline with
 * MODEL.NAME resnet50_ibn_a / resnet50, run by make_rsb_ibn_features.py with weights given by a closed
 * formula of the state_dict key, rebuilt here: fixtures/frameworks/formula-weights.ts). After the trick the graph is RSB's resnet50_ibn_a (its stem
 * has the ReLU, as resnet_ibn_a.py's has); undone, it is RSB's resnet50 (no stem ReLU, resnet.py).
 */
import { describe, expect, it } from 'vitest';
import { analyze, applyCommand, applyIbnPlacement, buildPreset, setParams, swapNorm, weightSpecs, type GraphDoc } from '../../core/index.js';
import { formulaFeatures } from '../fixtures/frameworks/formula-features.js';
import { f32FromBase64, formulaCheckpoint, frameworkFixture } from '../fixtures/frameworks/formula-weights.js';
import { maxDiff } from './fixtures.js';

const RSB_KEYS = frameworkFixture<{ models: Record<string, Record<string, number[]>> }>('rsb-state-dicts.json').models;
const FEATURES = frameworkFixture<{ features: Record<string, string> }>('rsb-ibn-features.json');
const refFeatures = (name: string) => f32FromBase64(FEATURES.features[name]!);

const INPUT: [number, number] = [64, 32];
const plainRsb = () => buildPreset('resnet50', { input: INPUT, numClasses: 751, lastStride: 1, neckFeat: 'before' });
const graphKeys = (doc: GraphDoc) => Object.fromEntries(analyze(doc.graph).layers.flatMap((l) => weightSpecs(l)).filter((s) => !s.torchKey.endsWith('num_batches_tracked')).map((s) => [s.torchKey, s.torchShape]));

const features = async (doc: GraphDoc, model: string) => (await formulaFeatures(doc, formulaCheckpoint(RSB_KEYS[model]!))).features;

describe("the IBN-a trick on RSB's plain ResNet-50 equals RSB's resnet50_ibn_a (its own code)", () => {
  it('keys and shapes: the trick gives resnet_ibn_a.py\'s state dict (its unused base.fc aside), undoing it resnet.py\'s', () => {
    const rsbIbn = Object.fromEntries(Object.entries(RSB_KEYS.resnet50_ibn_a!).filter(([k]) => !k.startsWith('base.fc.')));
    const trick = applyCommand(plainRsb(), applyIbnPlacement());
    expect(graphKeys(trick)).toEqual(rsbIbn);
    expect(graphKeys(applyCommand(trick, swapNorm('backbone', 'bn')))).toEqual(RSB_KEYS.resnet50);
    // The settings toggle and the paper placement leave a graph the analyzer finds nothing wrong with.
    expect(analyze(trick.graph).diagnostics).toEqual([]);
  });

  it('features within 1e-4 · max|ref| of RSB\'s Baseline, with and without the trick; the old no-ReLU stem is visibly off', async () => {
    const trick = applyCommand(plainRsb(), applyIbnPlacement());
    const want = refFeatures('resnet50_ibn_a');
    const got = await features(trick, 'resnet50_ibn_a');
    const { diff, ref } = maxDiff(got, want);
    console.log(`IBN-a trick vs RSB resnet50_ibn_a: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
    expect(ref).toBeGreaterThan(1);
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);

    const undone = await features(applyCommand(trick, swapNorm('backbone', 'bn')), 'resnet50');
    const plain = maxDiff(undone, refFeatures('resnet50'));
    expect(plain.diff).toBeLessThanOrEqual(1e-4 * plain.ref);

    // What the trick gave before (RSB's plain stem kept under IBN-a stages): RSB's model with the stem ReLU
    // removed, 1e-2 of max|ref| away from RSB's resnet50_ibn_a — the stem is visible in these features.
    const old = applyCommand(trick, setParams(['stem'], { relu: false }));
    expect(analyze(old.graph).diagnostics.map((d) => d.code)).toEqual(['W_STEM_MISMATCH']);
    const oldFeat = await features(old, 'resnet50_ibn_a');
    expect(maxDiff(oldFeat, want).diff).toBeGreaterThan(3e-3 * ref);
    const noRelu = maxDiff(oldFeat, refFeatures('resnet50_ibn_a_no_stem_relu'));
    expect(noRelu.diff).toBeLessThanOrEqual(1e-4 * noRelu.ref);
  }, 120_000);
});
