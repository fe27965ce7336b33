import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addNode,
  analyze,
  applyCommand,
  applyIbnPlacement,
  backboneNodeIds,
  buildPreset,
  collapseGroup,
  CommandError,
  connect,
  createHistory,
  disconnect,
  execute,
  expandNode,
  freezeBackbone,
  layerKindCounts,
  moveNodes,
  redo,
  removeNodes,
  renameNode,
  setFrozen,
  setNeck,
  setNeckFeat,
  setParams,
  setStatsFrozen,
  summarize,
  swapNorm,
  undo,
  type Command,
  type GraphDoc,
  type History,
} from '../../core/index.js';

/** The flattened model: what the compiler sees. Expanding / collapsing must not change it. */
const flat = (doc: GraphDoc) =>
  analyze(doc.graph).layers.map((l) => [l.name, l.kind, JSON.stringify(l.params), l.inputs.join(','), l.shape.join('x'), l.frozen, l.statsFrozen]);

describe('edit commands', () => {
  it('swap BN → IBN-a over a selection, then back', () => {
    const doc = buildPreset('resnet50');
    const ibn = applyCommand(doc, swapNorm(['layer1', 'layer2'], 'ibn_a'));
    expect(layerKindCounts(analyze(ibn.graph)).ibn_a).toBe(7);
    expect(flat(applyCommand(ibn, swapNorm(['layer1', 'layer2'], 'bn')))).toEqual(flat(doc));
    expect(() => applyCommand(doc, swapNorm(['gap'], 'ibn_a'))).toThrow(CommandError);
  });

  it('the paper IBN-a placement turns resnet50 into resnet50_ibn_a\'s norms with an unchanged parameter count', () => {
    const doc = applyCommand(buildPreset('resnet50'), applyIbnPlacement());
    const a = analyze(doc.graph);
    expect(layerKindCounts(a).ibn_a).toBe(13);
    expect(a.totals.params).toBe(25_050_176);
    const ref = analyze(buildPreset('resnet50_ibn_a').graph).layers.filter((l) => l.kind === 'ibn_a').map((l) => l.name);
    expect(a.layers.filter((l) => l.kind === 'ibn_a').map((l) => l.name)).toEqual(ref);
  });

  it('IBN-a placement also works on expanded stages and blocks (primitive bn1 nodes)', () => {
    let doc = applyCommand(buildPreset('resnet50'), expandNode('layer2'));
    doc = applyCommand(doc, expandNode('layer2/0'));
    doc = applyCommand(doc, applyIbnPlacement());
    const a = analyze(doc.graph);
    expect(layerKindCounts(a).ibn_a).toBe(13);
    expect(doc.graph.nodes.find((n) => n.name === 'base.layer2.0.bn1')?.kind).toBe('ibn_a');
  });

  it('swap the whole backbone to IN and back leaves the stem and downsample BNs alone', () => {
    const doc = applyCommand(buildPreset('resnet18'), swapNorm('backbone', 'in'));
    const kinds = layerKindCounts(analyze(doc.graph));
    expect(kinds.instance_norm).toBe(8); // bn1 of 8 basic blocks
    expect(analyze(doc.graph).layers.find((l) => l.name === 'base.bn1')?.kind).toBe('batch_norm');
  });

  it('freeze backbone, statistics opt-out, unfreeze', () => {
    const doc = applyCommand(buildPreset('resnet50'), freezeBackbone(true));
    expect(backboneNodeIds(doc).sort()).toEqual(['layer1', 'layer2', 'layer3', 'layer4', 'stem']);
    const a = analyze(doc.graph);
    expect(a.layers.filter((l) => l.name.startsWith('base.')).every((l) => l.frozen && l.statsFrozen)).toBe(true);
    const keepStats = applyCommand(doc, setStatsFrozen(['layer4'], false));
    const l4 = analyze(keepStats.graph).layers.filter((l) => l.name.startsWith('base.layer4'));
    expect(l4.every((l) => l.frozen && !l.statsFrozen)).toBe(true);
    expect(summarize(applyCommand(doc, freezeBackbone(false)).graph).trainableParams).toBe(25_048_128);
    const statsOnly = analyze(applyCommand(buildPreset('resnet18'), setStatsFrozen(['stem'], true)).graph);
    expect(statsOnly.layers.find((l) => l.name === 'base.bn1')).toMatchObject({ frozen: false, statsFrozen: true });
  });

  it('neck none ↔ BNNeck toggles the classifier bias; neck_feat switches the eval feature', () => {
    const none = applyCommand(buildPreset('resnet50'), setNeck('no'));
    expect(summarize(none.graph).totalParams).toBe(25_046_831);
    expect(flat(applyCommand(none, setNeck('bnneck')))).toEqual(flat(buildPreset('resnet50')));
    expect(analyze(applyCommand(buildPreset('resnet50'), setNeckFeat('before')).graph).outputs.evalFeature).toBe('gap');
  });

  it('invalid edits are refused with a reason and change nothing', () => {
    const doc = buildPreset('resnet18');
    expect(() => applyCommand(doc, setParams(['layer1'], { blocks: 0 }))).toThrow(/at least 1/);
    expect(() => applyCommand(doc, setParams(['layer1'], { nonsense: 1 }))).toThrow(/no parameter/);
    expect(() => applyCommand(doc, addNode({ kind: 'nope', position: { x: 0, y: 0 } }))).toThrow(/unknown block kind/);
    expect(() => applyCommand(doc, renameNode('gap', 'classifier'))).toThrow(/taken/);
    expect(() => applyCommand(doc, connect({ source: 'gap', sourcePort: 'out', target: 'gap', targetPort: 'in' }))).toThrow(/itself/);
    expect(() => applyCommand(doc, connect({ source: 'gap', sourcePort: 'zzz', target: 'neck', targetPort: 'in' }))).toThrow(/no output/);
  });
});

describe('expand / collapse in place', () => {
  it('expanding every stage and block keeps the flattened model identical, and collapses back', () => {
    const doc = buildPreset('resnet50_ibn_a');
    let d = doc;
    for (const s of ['stem', 'layer1', 'layer2', 'layer3', 'layer4']) d = applyCommand(d, expandNode(s));
    expect(d.graph.nodes.filter((n) => n.kind === 'bottleneck')).toHaveLength(16);
    d = applyCommand(d, expandNode('layer3/2'));
    expect(flat(d)).toEqual(flat(doc));
    expect(analyze(d.graph).diagnostics).toEqual([]);
    d = applyCommand(d, collapseGroup('layer3/2'));
    for (const s of ['stem', 'layer1', 'layer2', 'layer3', 'layer4']) d = applyCommand(d, collapseGroup(s));
    expect(flat(d)).toEqual(flat(doc));
    expect(d.graph.nodes.map((n) => n.id).sort()).toEqual(doc.graph.nodes.map((n) => n.id).sort());
    expect(d.graph.edges.map((e) => e.id).sort()).toEqual(doc.graph.edges.map((e) => e.id).sort());
  });

  it('collapse picks up a uniform norm edit and refuses mixed norms', () => {
    let d = applyCommand(buildPreset('resnet50'), expandNode('layer1'));
    d = applyCommand(d, swapNorm(['layer1/0', 'layer1/1', 'layer1/2'], 'ibn_a'));
    const collapsed = applyCommand(d, collapseGroup('layer1'));
    expect(collapsed.graph.nodes.find((n) => n.id === 'layer1')?.params.norm).toBe('ibn_a');
    const mixed = applyCommand(d, swapNorm(['layer1/1'], 'bn'));
    expect(() => applyCommand(mixed, collapseGroup('layer1'))).toThrow(/cannot collapse/);
  });

  it('refuses to expand a node whose input is not connected', () => {
    const d = applyCommand(buildPreset('resnet18'), removeNodes(['stem']));
    expect(() => applyCommand(d, expandNode('layer1'))).toThrow(/not connected/);
  });
});

describe('history', () => {
  const doc0 = buildPreset('resnet18', { input: [128, 64] });
  const ids = doc0.graph.nodes.map((n) => n.id);
  const cmd: fc.Arbitrary<Command> = fc.oneof(
    fc.constantFrom(...ids).map((id) => setFrozen([id], true)),
    fc.constantFrom(...ids).map((id) => removeNodes([id])),
    fc.constantFrom('bn', 'ibn_a', 'in').map((n) => swapNorm('backbone', n as 'bn')),
    fc.constant(applyIbnPlacement()),
    fc.constant(freezeBackbone(true)),
    fc.constantFrom('bnneck', 'no').map((t) => setNeck(t as 'no')),
    fc.constantFrom('after', 'before').map((t) => setNeckFeat(t as 'after')),
    fc.constantFrom('stem', 'layer1', 'layer2', 'layer3', 'layer4', 'layer1/0', 'layer2/1').map((id) => expandNode(id)),
    fc.constantFrom('stem', 'layer1', 'layer2', 'layer1/0').map((id) => collapseGroup(id)),
    fc.tuple(fc.constantFrom(...ids), fc.integer({ min: -5, max: 300 })).map(([id, v]) => setParams([id], { planes: v })),
    fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...ids)).map(([s, t]) => connect({ source: s, sourcePort: 'out', target: t, targetPort: 'in' })),
    fc.constantFrom(...doc0.graph.edges.map((e) => e.id)).map((e) => disconnect([e])),
    fc.tuple(fc.constantFrom(...ids), fc.double({ noNaN: true, min: -1e4, max: 1e4 })).map(([id, x]) => moveNodes([{ id, position: { x, y: x / 2 } }])),
    fc.constantFrom('conv2d', 'ibn_a', 'stage', 'neck', 'add').map((k) => addNode({ kind: k, position: { x: 1, y: 2 } })),
  );

  it('any command sequence: refusals are CommandErrors, analysis never throws, undo restores the start, redo the end', () => {
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 12 }), (cmds) => {
        let h: History = createHistory(doc0);
        for (const c of cmds) {
          try {
            h = execute(h, c);
          } catch (e) {
            if (!(e instanceof CommandError)) throw e;
          }
          analyze(h.doc.graph);
        }
        const end = h.doc;
        const steps = h.past.length;
        for (let i = 0; i < steps; i++) h = undo(h);
        expect(h.doc).toEqual(doc0);
        for (let i = 0; i < steps; i++) h = redo(h);
        expect(h.doc).toEqual(end);
      }),
      { numRuns: 150 },
    );
  });

  it('a refused command leaves history untouched; a new edit clears redo', () => {
    let h = execute(createHistory(doc0), freezeBackbone(true));
    expect(() => execute(h, setParams(['layer1'], { blocks: -1 }))).toThrow(CommandError);
    h = undo(h);
    expect(h.future).toHaveLength(1);
    h = execute(h, setNeck('no'));
    expect(h.future).toHaveLength(0);
    expect(h.past.map((e) => e.label)).toEqual(['Neck: none']);
  });
});
