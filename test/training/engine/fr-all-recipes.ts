import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, parseTrainingSettings, seedInitializers, type GraphDoc } from '../../../core/index.js';
import { importConfig, type ImportResult } from '../../../core/config/index.js';
import { ENGINE_CHOICES } from '../../../main/onnx/engine.js';
import { recoverCheckpoint } from '../../../main/runs/store/checkpoint.js';
import { decodeRunWeights } from '../../../main/runs/store/checkpoint-keys.js';
import { freshWeightStore } from '../../../main/weights/index.js';
import { loadDataset, type DatasetKind } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { sizeClassifier } from '../../../main/training/engine/prepare.js';
import { train, type TrainEvent } from '../../../main/training/engine/trainer.js';
import { layDemoAs } from './demo-layouts.js';

/**
 * fast-reid's recipe configs (configs/<dataset>/*.yml, the Base-* files aside: 43, of which 42 are ResNet-family
 * and one a ViT), each imported at a tiny input, grouped by what its training computes, and trained two
 * iterations on the demo data laid out as the recipe's dataset (fr-all-recipes-*.test.ts).
 */

export const CONFIGS = new URL('../../fixtures/frameworks/configs/', import.meta.url).pathname;
type Cfg = Record<string, Record<string, unknown>>;
/** Each config merged by fast-reid's own code and yacs (make_config_references.py): the test's outside reference. */
export const MERGED = (JSON.parse(readFileSync(join(CONFIGS, 'merged.json'), 'utf8')) as { merged: Record<string, Cfg> }).merged;
export const VIT = 'fastreid/Market1501/bagtricks_vit.yml';
/** All 43 recipe configs, by their path under the fixture folder ("fastreid/Market1501/sbs_R50.yml"). */
export const ALL_RECIPES = Object.keys(MERGED)
  .filter((k) => k.startsWith('fastreid/') && !k.split('/').pop()!.startsWith('Base-'))
  .sort();
export const RECIPES = ALL_RECIPES.filter((k) => k !== VIT);

/**
 * The tiny SIZE_TRAIN / SIZE_TEST each trains at: 64×32, MGN 96×32 (its 3-part branch chunks the 6-row map of
 * a 96-row input into 3 stripes of 2 rows, as torch.chunk would the 24 rows of 384×128).
 */
export const tinySize = (rel: string): [number, number] => (/\/mgn_/.test(rel) ? [96, 32] : [64, 32]);

/** Imports a recipe as a user would write it: `_BASE_: <recipe>` with the input size overridden. */
export function importTiny(rel: string): ImportResult {
  const [h, w] = tinySize(rel);
  const text = `_BASE_: ${rel.replace(/^fastreid\//, '')}\nINPUT:\n  SIZE_TRAIN: [${h}, ${w}]\n  SIZE_TEST: [${h}, ${w}]\n`;
  return importConfig(text, { path: join(CONFIGS, 'fastreid', 'tiny.yml'), resolveBase: (p) => readFileSync(p, 'utf8') });
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/**
 * What training an imported recipe computes: the whole document (graph, training settings, preprocessing)
 * with only these normalised — the dataset's identity (`training.dataset`: which reader, which folder), its
 * class count (the classifier sized to 1 class, as the trainer sizes it to the dataset: `sizeClassifier`), and
 * what names no computation (node positions on the canvas, `framework.outputDir`). Everything else — every
 * node's kind, name, parameters and freezing, every edge, the losses, classifier layer, optimizer, schedule
 * (warmup, milestones, cosine), FREEZE_ITERS, sampler, P×K, augmentation, evaluation settings, the keys kept
 * for export — is part of it, so two recipes that differ in anything that trains differently differ here.
 */
export function signature(doc: GraphDoc): string {
  const d = structuredClone(sizeClassifier(doc, 1)) as unknown as { graph: { nodes: { position?: unknown }[] }; training: Record<string, unknown> & { framework?: Record<string, unknown> } };
  for (const n of d.graph.nodes) delete n.position;
  delete d.training.dataset;
  if (d.training.framework) delete d.training.framework.outputDir;
  return JSON.stringify(canonical(d));
}

/** The recipes grouped by signature, each group in ALL_RECIPES order; the first of each trains. */
export function signatureGroups(): string[][] {
  const groups = new Map<string, string[]>();
  for (const rel of RECIPES) {
    const s = signature(importTiny(rel).doc);
    groups.set(s, [...(groups.get(s) ?? []), rel]);
  }
  return [...groups.values()];
}

/**
 * The training test files and the recipe folders each trains (split so they run side by side): every
 * signature's representative is in exactly one, except the DukeMTMC and MSMT17 recipes, which differ from their
 * Market-1501 twin only in the warmup and milestones their dataset's size gives (fr-all-recipes.test.ts checks
 * both; the schedule itself is checked against fast-reid's in fr-schedule.test.ts): the twin trains for them.
 */
export const SHARDS = {
  'market-bot-agw': { folders: ['Market1501'], families: ['bagtricks', 'AGW'], count: 8 },
  'market-sbs-mgn': { folders: ['Market1501'], families: ['sbs', 'mgn'], count: 5 },
  vehicles: { folders: ['VeRi', 'VehicleID', 'VERIWild'], families: ['bagtricks', 'sbs'], count: 3 },
} as const;
export type Shard = keyof typeof SHARDS;

/** The shard a recipe ("fastreid/<folder>/<family>_<backbone>.yml") trains in, or undefined. */
export function shardOf(rel: string): Shard | undefined {
  const [, folder, file] = rel.split('/');
  const family = file!.split('_')[0]!;
  return (Object.keys(SHARDS) as Shard[]).find((s) => (SHARDS[s].folders as readonly string[]).includes(folder!) && (SHARDS[s].families as readonly string[]).includes(family));
}

/** The representatives (first of each signature group) a shard trains. */
export function shardRecipes(shard: Shard): string[] {
  return signatureGroups()
    .map((g) => g[0]!)
    .filter((rel) => shardOf(rel) === shard);
}

/** The loss the run log must name, written from fast-reid's merged config (MODEL.HEADS / MODEL.LOSSES). */
export function expectedLoss(rel: string): string {
  const heads = MERGED[rel]!.MODEL!.HEADS as { CLS_LAYER: string; SCALE: number; MARGIN: number };
  const losses = MERGED[rel]!.MODEL!.LOSSES as { CE: { EPSILON: number }; TRI: { MARGIN: number; HARD_MINING: boolean } };
  const cls = heads.CLS_LAYER === 'Linear' ? '' : `${heads.CLS_LAYER}(s=${heads.SCALE}, m=${heads.MARGIN}) `;
  const tri = `${losses.TRI.HARD_MINING ? '' : 'weighted '}triplet(${losses.TRI.MARGIN === 0 ? 'soft margin' : `m=${losses.TRI.MARGIN}`})`;
  return `${cls}CE(ε=${losses.CE.EPSILON}) + ${tri}`;
}

/**
 * fast-reid's MODEL.FREEZE_LAYERS of a recipe as weight-name prefixes: the Baseline's `backbone` module is the
 * app's `base.*` (the reid-strong-baseline name its checkpoints map onto); MGN keeps fast-reid's names
 * (`backbone.*`, `b1.*`, `b2.*`, `b3.*`).
 */
export function frozenPrefixes(rel: string): string[] {
  const model = MERGED[rel]!.MODEL! as { META_ARCHITECTURE: string; FREEZE_LAYERS: string[] };
  return model.FREEZE_LAYERS.map((m) => (m === 'backbone' && model.META_ARCHITECTURE === 'Baseline' ? 'base.' : `${m}.`));
}

const REAL_ENGINES = ENGINE_CHOICES.filter((e) => e !== 'auto');

/** Layouts written once per test file (recipe dataset kind → folder read and training identities). */
const layouts = new Map<DatasetKind, { root: string; trainIds: number }>();

/**
 * Trains one imported recipe two iterations (P×K 2×2, the engine chosen by `auto`, FREEZE_ITERS cut to 1 so one
 * iteration is frozen and one trains, no pretrained weights; everything else as imported) on the demo data
 * laid out as the recipe's dataset, and checks: the run stops after 2 finite steps with fast-reid's loss terms;
 * the run log names a real engine; the classifier has the layout's identities; every weight slot moved, except
 * the FREEZE_LAYERS ones during the frozen iteration and the BNNeck shift fast-reid never trains.
 */
export async function trainRecipe(rel: string, tmp: string, demo: string): Promise<void> {
  const imp = importTiny(rel);
  const parsed = parseTrainingSettings(imp.doc.training);
  if (!parsed.ok) throw new Error(parsed.message);
  const freeze = parsed.settings.freezeBackboneIters > 0;
  expect(freeze, rel).toBe((MERGED[rel]!.SOLVER!.FREEZE_ITERS as number) > 0);
  const settings = { ...parsed.settings, batch: { p: 2, k: 2 }, freezeBackboneIters: freeze ? 1 : 0, pretrained: { choice: 'none' as const } };
  const kind = settings.dataset.kind as DatasetKind;
  if (!layouts.has(kind)) layouts.set(kind, layDemoAs(kind, demo, join(tmp, `as-${kind}`)));
  const layout = layouts.get(kind)!;
  const ds = await loadDataset(kind, layout.root, { k: 2 });
  expect(ds.numClasses, rel).toBe(layout.trainIds);

  // The starting weights: the run's seeded initialisation of the same graph, sized to the dataset (the weight
  // store every engine starts from; tfjs-layers' own draws, bit for bit: test/weights/store.test.ts).
  const analysis = analyze(sizeClassifier(imp.doc, ds.numClasses).graph);
  const start = freshWeightStore(seedInitializers(compileToKeras(analysis), settings.seed)).tfjsValues();

  const name = rel.replace(/\//g, '__');
  const runDir = join(tmp, name);
  const afterFrozen = join(tmp, `${name}-step1`);
  const events: TrainEvent[] = [];
  try {
    const out = await train({
      doc: imp.doc,
      settings,
      dataset: ds,
      runDir,
      backend: 'auto',
      maxSteps: 2,
      ...(freeze ? { checkpointEverySteps: 1 } : {}),
      onEvent: (e) => {
        events.push(e);
        // The checkpoint after the frozen iteration, kept before the next one replaces it.
        if (e.type === 'checkpoint' && e.step === 1) cpSync(join(runDir, 'checkpoint'), join(afterFrozen, 'checkpoint'), { recursive: true });
      },
    });
    expect(out.status, rel).toBe('stopped');
    const started = events.find((e) => e.type === 'start') as Extract<TrainEvent, { type: 'start' }>;
    expect(REAL_ENGINES, rel).toContain(started.backend);
    expect(readFileSync(join(runDir, 'train.log'), 'utf8'), rel).toContain(`start: backend ${started.backend} (`);
    expect(started.loss, rel).toBe(expectedLoss(rel));
    expect(started.numClasses, rel).toBe(layout.trainIds);
    const steps = events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[];
    expect(steps.length, rel).toBe(2);
    for (const st of steps) expect([st.loss, st.ce, st.triplet].every((x) => Number.isFinite(x)), `${rel}: ${JSON.stringify(st)}`).toBe(true);

    // fast-reid's BNNeck (and MGN's heads' necks) freeze the shift: `bias.requires_grad_(False)` in
    // embedding_head.py, the layers with freezeShift here.
    const shiftFrozen = new Set(analysis.layers.filter((l) => l.params.freezeShift === true).map((l) => `${l.name}/beta`));
    const frozenBy = frozenPrefixes(rel);
    const inFrozen = (k: string) => frozenBy.some((p) => k.startsWith(p));
    const changed = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => {
      const out = new Map<string, boolean>();
      for (const [k, v] of a) {
        const w = b.get(k);
        expect(w?.length, `${rel}: ${k}`).toBe(v.length);
        out.set(k, v.some((x, i) => x !== w![i]));
      }
      return out;
    };
    const weightsOf = async (dir: string) => decodeRunWeights(analysis.layers, (await recoverCheckpoint<Record<string, unknown>>(dir))!).values;
    const last = await weightsOf(runDir);
    if (freeze) {
      expect(frozenBy.length, rel).toBeGreaterThan(0);
      const first = await weightsOf(afterFrozen);
      const moved1 = changed(start, first);
      const moved2 = changed(first, last);
      // Iteration 1: the FREEZE_LAYERS modules (weights and BatchNorm statistics) stay, the rest trains.
      expect([...moved1].filter(([k, m]) => m !== (!inFrozen(k) && !shiftFrozen.has(k))).map(([k]) => k), rel).toEqual([]);
      // Iteration 2: everything trains, they too.
      expect([...moved2].filter(([k, m]) => m !== !shiftFrozen.has(k)).map(([k]) => k), rel).toEqual([]);
      expect([...moved1].some(([k]) => inFrozen(k)), rel).toBe(true);
    } else {
      expect([...changed(start, last)].filter(([k, m]) => m !== !shiftFrozen.has(k)).map(([k]) => k), rel).toEqual([]);
    }
  } finally {
    rmSync(runDir, { recursive: true, force: true });
    rmSync(afterFrozen, { recursive: true, force: true });
  }
}

/**
 * One training test file: the shard's representatives (SHARDS' `count` of them) each train two iterations
 * (trainRecipe) on the tiny demo dataset, written once for the file.
 */
export function describeShard(shard: Shard): void {
  const count = SHARDS[shard].count;
  const tmp = mkdtempSync(join(tmpdir(), `reid-fr-all-${shard}-`));
  const demo = join(tmp, 'demo');
  const recipes = shardRecipes(shard);
  describe(`fast-reid recipes (${shard}) train two iterations on the demo data laid out as their dataset`, () => {
    beforeAll(async () => {
      await writeDemoDataset(demo, 'tiny', 0);
    }, 120_000);
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it(`are the ${count} expected`, () => expect(recipes.length).toBe(count));
    for (const rel of recipes) it(rel, () => trainRecipe(rel, tmp, demo), 600_000);
  });
}
