import { describe, expect, it } from 'vitest';
import { analyze, applyCommand, buildPreset, freezeBackbone, layerKindCounts, PRESET_NAMES, summarize } from '../../core/index.js';

/** torchvision's published parameter counts (IMAGENET1K_V1 model cards). */
const TORCHVISION = { resnet18: 11_689_512, resnet34: 21_797_672, resnet50: 25_557_032, resnet101: 44_549_160, resnet152: 60_192_808 };

describe('ResNet / ResNet-IBN-a presets', () => {
  it('lists the fifteen presets (plain, IBN-a, IBN-b per depth)', () => {
    expect([...PRESET_NAMES].sort()).toEqual(Object.keys(TORCHVISION).flatMap((d) => [d, `${d}_ibn_a`, `${d}_ibn_b`]).sort());
  });

  it.each(Object.entries(TORCHVISION))('%s with a 1000-class fc and last stride 2 has torchvision\'s parameter count', (depth, count) => {
    for (const name of [depth, `${depth}_ibn_a`]) {
      const s = summarize(buildPreset(name, { neck: 'no', numClasses: 1000, lastStride: 2 }).graph);
      expect(s.diagnostics).toEqual([]);
      expect(s.totalParams).toBe(count);
      expect(s.trainableParams).toBe(count);
    }
  });

  it('default resnet50 (BNNeck, 751 Market-1501 identities) matches reid-strong-baseline\'s Baseline', () => {
    const doc = buildPreset('resnet50');
    const s = summarize(doc.graph);
    expect(s.totalParams).toBe(25_050_176);
    expect(s.trainableParams).toBe(25_048_128);
    const frozen = summarize(applyCommand(doc, freezeBackbone(true)).graph);
    expect(frozen.totalParams).toBe(25_050_176);
    expect(frozen.trainableParams).toBe(1_540_096);
  });

  it('neck "no" gives the classifier a bias (RSB: 25,046,831 for resnet50 on Market)', () => {
    expect(summarize(buildPreset('resnet50', { neck: 'no' }).graph).totalParams).toBe(25_046_831);
    expect(summarize(buildPreset('resnet50', { numClasses: 702 }).graph).totalParams).toBe(24_949_824);
    expect(summarize(buildPreset('resnet18').graph).totalParams).toBe(11_562_048);
  });

  it('feature map and dimension follow last stride and depth', () => {
    expect(summarize(buildPreset('resnet50').graph).featureMap).toEqual([16, 8, 2048]);
    expect(summarize(buildPreset('resnet50', { lastStride: 2 }).graph).featureMap).toEqual([8, 4, 2048]);
    expect(summarize(buildPreset('resnet50', { input: [384, 128] }).graph).featureMap).toEqual([24, 8, 2048]);
    for (const d of ['resnet18', 'resnet34', 'resnet18_ibn_a']) {
      const s = summarize(buildPreset(d).graph);
      expect(s.featureDim).toBe(512);
      expect(s.featureMap).toEqual([16, 8, 512]);
    }
    expect(summarize(buildPreset('resnet101').graph).featureDim).toBe(2048);
  });

  it('IBN-a sits in bn1 of every block of layer1–3 and never layer4', () => {
    const a = analyze(buildPreset('resnet50_ibn_a').graph);
    const ibn = a.layers.filter((l) => l.kind === 'ibn_a');
    expect(ibn).toHaveLength(13);
    for (const l of ibn) expect(l.name).toMatch(/^base\.layer[123]\.\d+\.bn1$/);
    // 1,120 IN channels in resnet50_ibn_a: half of each bn1 width.
    expect(ibn.reduce((s, l) => s + Math.floor(l.inputShapes[0]![2]! / 2), 0)).toBe(1120);
    expect(layerKindCounts(analyze(buildPreset('resnet101_ibn_a').graph)).ibn_a).toBe(30);
    expect(layerKindCounts(analyze(buildPreset('resnet50').graph)).ibn_a).toBeUndefined();
  });

  it('stem ReLU: absent in RSB plain ResNets, present in the IBN-a copy', () => {
    const names = (p: string) => analyze(buildPreset(p).graph).layers.map((l) => l.name);
    expect(names('resnet50')).not.toContain('base.relu');
    expect(names('resnet50_ibn_a')).toContain('base.relu');
  });

  it('layer names follow reid-strong-baseline\'s state_dict layout', () => {
    const a = analyze(buildPreset('resnet50').graph);
    const byName = new Map(a.layers.map((l) => [l.name, l]));
    expect(byName.get('base.conv1')).toMatchObject({ kind: 'conv2d', shape: [128, 64, 64] });
    expect(byName.get('base.layer1.0.downsample.0')?.kind).toBe('conv2d');
    expect(byName.get('base.layer1.0.downsample.1')?.kind).toBe('batch_norm');
    expect(byName.has('base.layer1.1.downsample.0')).toBe(false);
    expect(byName.get('base.layer4.0.conv2')?.params.stride).toBe(1); // last stride 1, on the 3×3 (v1.5)
    expect(byName.get('base.layer2.0.conv2')?.params.stride).toBe(2);
    expect(byName.get('base.layer2.0.conv1')?.params.stride).toBe(1);
    expect(byName.get('bottleneck')).toMatchObject({ kind: 'batch_norm', shape: [2048] });
    expect(byName.get('classifier')).toMatchObject({ kind: 'linear', shape: [751] });
    expect(a.outputs).toEqual({ logits: 'classifier', trainFeature: 'gap', evalFeature: 'bottleneck' });
    const r18 = new Set(analyze(buildPreset('resnet18').graph).layers.map((l) => l.name));
    expect(r18.has('base.layer1.0.downsample.0')).toBe(false);
    expect(r18.has('base.layer4.0.downsample.0')).toBe(true);
  });

  it('neck_feat picks the eval feature: after = post-BN, before = global feature', () => {
    expect(analyze(buildPreset('resnet50', { neckFeat: 'before' }).graph).outputs.evalFeature).toBe('gap');
    expect(analyze(buildPreset('resnet50', { neck: 'no' }).graph).outputs).toEqual({ logits: 'classifier', trainFeature: 'gap', evalFeature: 'gap' });
  });
});
