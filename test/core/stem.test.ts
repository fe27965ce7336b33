/**
 * The stem follows the norm of the stages as reid-strong-baseline's MODEL.NAME does (resnet.py: no ReLU after
 * bn1; resnet_ibn_a.py: a ReLU), the analyzer flags a stem no framework pairs with its stages
 * (W_STEM_MISMATCH, Problems panel), and "Convert the stem" fixes it — on the composite and on an expanded stem.
 * The features of the result against RSB's own code are in test/parity/ibn-trick.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  analyze,
  applyCommand,
  applyIbnPlacement,
  buildPreset,
  collapseInGraph,
  convertStem,
  expandInGraph,
  expandNode,
  setParams,
  swapNorm,
  type GraphDoc,
  type Layer,
} from '../../core/index.js';
import { exportRsbYaml, withFastreidStem } from '../../core/config/index.js';

const sig = (doc: GraphDoc) => analyze(doc.graph).layers.map((l: Layer) => JSON.stringify([l.name, l.kind, l.params, l.inputs]));
const codes = (doc: GraphDoc) => analyze(doc.graph).diagnostics.map((d) => `${d.code}@${d.nodeId ?? ''}`);
const hasRelu = (doc: GraphDoc) => analyze(doc.graph).layers.some((l) => l.name === 'base.relu');

describe('the IBN-a trick switches the stem as RSB MODEL.NAME does', () => {
  for (const depth of ['resnet18', 'resnet50', 'resnet101'])
    it(`${depth}: paper placement → ${depth}_ibn_a layer for layer; BN back → ${depth}`, () => {
      const plain = buildPreset(depth);
      const ibn = applyCommand(plain, applyIbnPlacement());
      expect(sig(ibn)).toEqual(sig(buildPreset(`${depth}_ibn_a`)));
      expect(codes(ibn)).toEqual([]);
      expect(sig(applyCommand(ibn, swapNorm('backbone', 'bn')))).toEqual(sig(plain));
    });

  it('on an expanded stem (a frozen, immer-produced document): the placement inserts base.relu and undoing removes it', () => {
    const expanded = applyCommand(buildPreset('resnet50'), expandNode('stem'));
    const ibn = applyCommand(expanded, applyIbnPlacement());
    expect(sig(ibn)).toEqual(sig(buildPreset('resnet50_ibn_a')));
    expect(collapseInGraph(ibn.graph, 'stem').nodes.find((n) => n.id === 'stem')!.params.relu).toBe(true);
    expect(sig(applyCommand(ibn, swapNorm('backbone', 'bn')))).toEqual(sig(buildPreset('resnet50')));
  });

  it('IBN-a on a selection follows layer1 (as the RSB / fast-reid recognizer reads the model off layer1.0.bn1)', () => {
    const doc = applyCommand(buildPreset('resnet50'), swapNorm(['layer1', 'layer2', 'layer3'], 'ibn_a'));
    expect(sig(doc)).toEqual(sig(buildPreset('resnet50_ibn_a')));
    expect(hasRelu(applyCommand(buildPreset('resnet50'), swapNorm(['layer3'], 'ibn_a')))).toBe(false);
  });

  it("fast-reid's stem (ReLU, ceil-mode pool) stays as it is: WITH_IBN does not change it", () => {
    const fr = withFastreidStem(buildPreset('resnet50'));
    const ibn = applyCommand(fr, applyIbnPlacement());
    const pool = (d: GraphDoc) => analyze(d.graph).layers.find((l) => l.name === 'base.maxpool')!.params;
    expect(hasRelu(ibn)).toBe(true);
    expect(pool(ibn)).toMatchObject({ padding: 0, ceilMode: true });
    const back = applyCommand(ibn, swapNorm('backbone', 'bn'));
    expect(hasRelu(back)).toBe(true);
    expect(sig(back)).toEqual(sig(fr));
  });

  it('a torchvision stem (ReLU, padding 1) over BN stages keeps its ReLU under IBN-a and is not flagged', () => {
    const tv = applyCommand(buildPreset('resnet50'), setParams(['stem'], { relu: true }));
    expect(codes(tv)).toEqual([]);
    expect(hasRelu(applyCommand(tv, applyIbnPlacement()))).toBe(true);
  });
});

describe('W_STEM_MISMATCH and Convert the stem', () => {
  const mismatched = () => applyCommand(buildPreset('resnet50_ibn_a'), setParams(['stem'], { relu: false }));

  it("RSB's no-ReLU stem over IBN-a stages is flagged on the stem, naming the fix", () => {
    const d = analyze(mismatched().graph).diagnostics;
    expect(d.map((x) => `${x.code}@${x.nodeId}`)).toEqual(['W_STEM_MISMATCH@stem']);
    expect(d[0]!.severity).toBe('warning');
    expect(d[0]!.message).toMatch(/no ReLU after bn1.*IBN-a.*neither framework.*Convert the stem/);
    // The RSB export refuses it and names the same fix.
    const r = exportRsbYaml({ ...mismatched(), training: { dataset: { kind: 'market1501' }, loss: { metric: 'triplet' }, pretrained: { choice: 'imagenet', path: '/w.pth' } } } as GraphDoc);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).toMatch(/Convert the stem \(Problems panel\) adds resnet_ibn_a\.py's ReLU/);
  });

  it('Convert the stem gives resnet50_ibn_a; refused when nothing is wrong', () => {
    const fixed = applyCommand(mismatched(), convertStem());
    expect(sig(fixed)).toEqual(sig(buildPreset('resnet50_ibn_a')));
    expect(() => applyCommand(fixed, convertStem())).toThrow(/already matches/);
    expect(() => applyCommand(buildPreset('se_resnet50'), convertStem())).toThrow(/no ResNet stem/);
  });

  it('on an expanded stem: a base.relu node between bn1 and the pool, and the stem still collapses', () => {
    const expanded: GraphDoc = { ...mismatched(), graph: expandInGraph(mismatched().graph, 'stem') };
    const pool = expanded.graph.nodes.find((n) => n.kind === 'max_pool')!;
    expect(codes(expanded)).toEqual([`W_STEM_MISMATCH@${pool.id}`]);
    const fixed = applyCommand(expanded, convertStem());
    expect(codes(fixed)).toEqual([]);
    expect(sig(fixed)).toEqual(sig(buildPreset('resnet50_ibn_a')));
    const collapsed = collapseInGraph(fixed.graph, 'stem');
    expect(collapsed.nodes.find((n) => n.id === 'stem')!.params.relu).toBe(true);
    // And the trick undone on the expanded stem removes the node again.
    const back = applyCommand(fixed, swapNorm('backbone', 'bn'));
    expect(sig(back)).toEqual(sig(buildPreset('resnet50')));
    expect(back.graph.nodes.some((n) => n.kind === 'relu' && n.name === 'base.relu')).toBe(false);
  });
});
