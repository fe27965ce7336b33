import { describe, expect, it } from 'vitest';
import { analyze } from '../../../core/index.js';
import { sizeClassifier } from '../../../main/training/engine/prepare.js';
import { ALL_RECIPES, importTiny, MERGED, RECIPES, shardOf, SHARDS, signature, signatureGroups, tinySize, VIT, type Shard } from './fr-all-recipes.js';

/**
 * fast-reid's 43 recipe configs (configs/<dataset>/*.yml, Base-* aside): the ViT is refused with its reason;
 * the 42 others import at a tiny input, build, and fall into 42 distinct training signatures — every one
 * trains differently. The 16 Market-1501 and vehicle recipes each train two iterations in
 * fr-all-recipes-<shard>.test.ts; the 26 DukeMTMC / MSMT17 ones differ from their Market-1501 twin only in the
 * schedule's warmup and milestones their dataset's size gives (checked below; the schedule function itself is
 * checked against fast-reid's in fr-schedule.test.ts).
 */

type Doc = ReturnType<typeof importTiny>['doc'];
const flat = (o: unknown, p = '', out: Record<string, string> = {}): Record<string, string> => {
  if (o && typeof o === 'object' && !Array.isArray(o)) for (const [k, v] of Object.entries(o)) flat(v, `${p}${k}.`, out);
  else out[p.slice(0, -1)] = JSON.stringify(o);
  return out;
};
/** The signature keys two documents differ in. */
const sigDiff = (a: Doc, b: Doc) => {
  const fa = flat(JSON.parse(signature(a)));
  const fb = flat(JSON.parse(signature(b)));
  return [...new Set([...Object.keys(fa), ...Object.keys(fb)])].filter((k) => fa[k] !== fb[k]).sort();
};

describe("fast-reid's recipe configs, by what they train", () => {
  it('43 recipes: 42 ResNet-family, and the ViT refused with its reason (at the tiny input too)', () => {
    expect(ALL_RECIPES).toHaveLength(43);
    expect(RECIPES).toHaveLength(42);
    expect(() => importTiny(VIT)).toThrow(/MODEL\.BACKBONE\.NAME 'build_vit_backbone': a Vision Transformer .* is not a ResNet-family network/);
  });

  it('each of the 42 imports at its tiny input into a graph that builds without errors', () => {
    for (const rel of RECIPES) {
      const a = analyze(importTiny(rel).doc.graph);
      expect(a.diagnostics.filter((d) => d.severity === 'error'), rel).toEqual([]);
      expect(a.inputShape, rel).toEqual([...tinySize(rel), 3]);
    }
  });

  it('42 distinct training signatures: no two recipes train alike', () => {
    const groups = signatureGroups();
    expect(groups).toHaveLength(42);
    expect(groups.every((g) => g.length === 1)).toBe(true);
  });

  it('one recipe on Market-1501, DukeMTMC and MSMT17 differs only in the schedule its dataset size gives: WARMUP_ITERS and the milestones after it', () => {
    // Training images (the datasets' papers: Market-1501 Zheng et al. 2015; DukeMTMC-reID Zheng et al. 2017;
    // MSMT17 Wei et al. 2018, Table 1). The app warms up per epoch: WARMUP_ITERS / (images // IMS_PER_BATCH)
    // epochs, rounded; fast-reid's LRScheduler hook steps the main schedule only after the warmup, so the
    // milestones (SOLVER.STEPS, epochs) come after it.
    const images: Record<string, number> = { Market1501: 12936, DukeMTMC: 16522, MSMT17: 32621 };
    const names = RECIPES.filter((r) => r.startsWith('fastreid/Market1501/')).map((r) => r.split('/')[2]!);
    expect(names).toHaveLength(13);
    for (const name of names) {
      const docs = Object.keys(images).map((d) => importTiny(`fastreid/${d}/${name}`).doc);
      expect(sigDiff(docs[0]!, docs[1]!), name).toEqual(['training.schedule.steps', 'training.schedule.warmupEpochs']);
      expect(sigDiff(docs[0]!, docs[2]!), name).toEqual(['training.schedule.steps', 'training.schedule.warmupEpochs']);
      Object.keys(images).forEach((d, i) => {
        const solver = MERGED[`fastreid/${d}/${name}`]!.SOLVER as { WARMUP_ITERS: number; IMS_PER_BATCH: number; STEPS: number[] };
        const warm = Math.round(solver.WARMUP_ITERS / Math.floor(images[d]! / solver.IMS_PER_BATCH));
        const s = (docs[i]!.training as { schedule: { warmupEpochs: number; steps: number[] } }).schedule;
        expect([s.warmupEpochs, s.steps], `${d}/${name}`).toEqual([warm, solver.STEPS.map((e) => e + warm)]);
      });
    }
  });

  it('the signature changes with anything that trains differently, and not with the dataset, the class count or the canvas (negative control)', () => {
    const base = () => importTiny('fastreid/Market1501/sbs_R50.yml').doc;
    type T = Record<string, Record<string, unknown>> & { framework: Record<string, unknown> };
    const edit = (f: (d: Doc, t: T) => void) => {
      const d = base();
      f(d, d.training as unknown as T);
      return d;
    };
    const conv = (d: Doc) => d.graph.nodes.find((n) => n.kind === 'conv2d')!;
    const same = [
      edit((d) => d.graph.nodes.forEach((n, i) => (n.position = { x: i, y: -i }))),
      edit((_, t) => (t.framework.outputDir = 'logs/elsewhere')),
      edit((_, t) => (t.dataset = { kind: 'dukemtmc' })),
      sizeClassifier(base(), 5),
    ];
    for (const d of same) expect(signature(d)).toBe(signature(base()));
    const different: [string, Doc][] = [
      ['a conv stride', edit((d) => (conv(d).params.stride = 1))],
      ['a frozen node', edit((d) => (conv(d).frozen = true))],
      ['a node name', edit((d) => (conv(d).name = 'base.conv0'))],
      ['an edge', edit((d) => d.graph.edges.pop())],
      ['the triplet margin', edit((_, t) => (t.loss!.margin = 0.3))],
      ['the classifier scale', edit((_, t) => (t.classifier!.scale = 32))],
      ['the base LR', edit((_, t) => (t.optimizer!.baseLr = 1e-3))],
      ['the warmup factor', edit((_, t) => (t.schedule!.warmupFactor = 0.01))],
      ['FREEZE_ITERS', edit((_, t) => ((t as Record<string, unknown>).freezeBackboneIters = 10))],
      ['the sampler', edit((_, t) => ((t as Record<string, unknown>).sampler = 'softmax'))],
      ['K', edit((_, t) => (t.batch!.k = 4))],
      ['the flip probability', edit((_, t) => (t.augment!.flipProb = 0))],
      ['the pixel mean', edit((d) => ((d as { preprocess: { pixelMean: number[] } }).preprocess.pixelMean = [0.5, 0.5, 0.5]))],
    ];
    for (const [what, d] of different) expect(signature(d), what).not.toBe(signature(base()));
  });

  it('the training files cover every signature once', () => {
    const reps = signatureGroups().map((g) => g[0]!);
    // Not trained: exactly the DukeMTMC / MSMT17 twins of trained Market-1501 recipes (the test above).
    const untrained = reps.filter((r) => !shardOf(r));
    expect(untrained.every((r) => /^fastreid\/(DukeMTMC|MSMT17)\//.test(r) && shardOf(r.replace(/^fastreid\/\w+\//, 'fastreid/Market1501/')))).toBe(true);
    expect(untrained).toHaveLength(26);
    const counts = Object.fromEntries((Object.keys(SHARDS) as Shard[]).map((s) => [s, reps.filter((r) => shardOf(r) === s).length]));
    expect(counts).toEqual(Object.fromEntries((Object.keys(SHARDS) as Shard[]).map((s) => [s, SHARDS[s].count])));
  });
});
