import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, buildFastreidPreset, compileToKeras, FR_PRESET_NAMES, type GraphDoc } from '../../core/index.js';
import { exportFastreidYaml, exportRsbYaml, importConfig } from '../../core/config/index.js';
import { FIXTURES, importFixture, modelFacts, settingsOf } from './helpers.js';

/**
 * Every fast-reid ResNet-family recipe of configs/Market1501, DukeMTMC and MSMT17 for R50 / R50-ibn / R101-ibn
 * and S50 (ResNeSt-50, build_resnest_backbone) (bagtricks, AGW, SBS; test/fixtures/configs/fastreid) imports, builds, and exports back to an equivalent
 * config: both the recipe and the exported file are merged into fast-reid's typed defaults with yacs's rules
 * (test/config/yacs_merge.py) and compared key by key.
 */

const PY = '/usr/bin/python3';
const SCRIPT = new URL('./yacs_merge.py', import.meta.url).pathname;
const DATASETS = ['Market1501', 'DukeMTMC', 'MSMT17'] as const;
const FAMILIES = ['bagtricks', 'AGW', 'sbs'] as const;
const BACKBONES = ['R50', 'R50-ibn', 'R101-ibn', 'S50'] as const;
const RECIPES = DATASETS.flatMap((d) => FAMILIES.flatMap((f) => BACKBONES.map((b) => ({ ds: d, family: f, bb: b, rel: `fastreid/${d}/${f}_${b}.yml` }))));

/** fast-reid's iterations per epoch (len(train set) // IMS_PER_BATCH, batch 64): the app stores warmup in whole epochs. */
const IPE: Record<(typeof DATASETS)[number], number> = { Market1501: 12936 >> 6, DukeMTMC: 16522 >> 6, MSMT17: 30248 >> 6 };
/** Keys that do not change the model or its training (runtime, logging), not written by the exporter. */
const RUNTIME = ['SOLVER.AMP.ENABLED', 'CUDNN_BENCHMARK', 'DATALOADER.NUM_WORKERS', 'TEST.IMS_PER_BATCH'];

/**
 * Pooling names of older fast-reid heads (v1.0 heads/embedding_head.py: 'gempool' → GeneralizedMeanPooling,
 * 'gempoolP' → GeneralizedMeanPoolingP, 'avgpool' → AdaptiveAvgPool2d(1)) that Base-AGW.yml still uses.
 */
const POOL_ALIAS: Record<string, string> = { gempool: 'GeneralizedMeanPooling', gempoolP: 'GeneralizedMeanPoolingP', avgpool: 'GlobalAvgPool', FastGlobalAvgPool: 'GlobalAvgPool' };

type Flat = Record<string, unknown>;
function flatten(o: Record<string, unknown>, prefix = '', out: Flat = {}): Flat {
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

function merge(files: string[]): Flat[] {
  const out = execFileSync(PY, [SCRIPT, 'fastreid', ...files], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((l) => {
      const r = JSON.parse(l) as { ok: boolean; cfg?: Record<string, unknown>; error?: string };
      if (!r.ok) throw new Error(r.error);
      return flatten(r.cfg!);
    });
}

/** A preset equals the import of its recipe file, but for the output folder and the runtime keys kept for export. */
function expectPresetIsRecipe(preset: GraphDoc, doc: GraphDoc, rel: string): void {
  const recipe = JSON.parse(JSON.stringify(doc));
  delete recipe.training.framework.outputDir;
  // Keys kept for export: the recipe's runtime keys (SOLVER.AMP.ENABLED, CUDNN_BENCHMARK, TEST.IMS_PER_BATCH) are not in the preset.
  const keys = recipe.training.framework.keys.fastreid;
  delete recipe.training.framework.keys;
  if (!Object.keys(recipe.training.framework).length) delete recipe.training.framework;
  const t = preset.training as { framework?: { keys?: { fastreid?: Record<string, unknown> } } };
  for (const [k, v] of Object.entries(t.framework?.keys?.fastreid ?? {})) expect(keys[k], `${rel} ${k}`).toEqual(v);
  delete t.framework?.keys;
  if (t.framework && !Object.keys(t.framework).length) delete t.framework;
  expect(JSON.stringify(preset), rel).toBe(JSON.stringify(recipe));
}

type Imported = { ds: (typeof DATASETS)[number]; rel: string; result: ReturnType<typeof importFixture> };

/** Exports each imported recipe to fast-reid YAML; the originals and the exports, yacs-merged into fast-reid's defaults, must agree key by key and the export must re-import to the same document. */
function expectExportsBack(imported: Imported[], tmp: string): void {
  const exported = imported.map(({ rel, result }) => {
    const out = exportFastreidYaml(result.doc);
    if (!out.ok) throw new Error(`${rel}: ${out.reasons.join('; ')}`);
    const path = join(tmp, rel.replace(/[/]/g, '-'));
    writeFileSync(path, out.text);
    return { path, text: out.text };
  });
  const originals = merge(imported.map((r) => join(FIXTURES, r.rel)));
  const backs = merge(exported.map((e) => e.path));
  imported.forEach(({ rel, ds }, i) => {
    const a = originals[i]!;
    const b = backs[i]!;
    const diffs: string[] = [];
    for (const k of Object.keys(a)) {
      if (RUNTIME.includes(k)) continue;
      const canon = (v: unknown) => (k === 'MODEL.HEADS.POOL_LAYER' ? (POOL_ALIAS[v as string] ?? v) : v);
      const x = canon(a[k]);
      const y = canon(b[k]);
      if (k === 'SOLVER.WARMUP_ITERS') {
        // Stored as whole epochs: within half an epoch of the recipe's iterations.
        if (Math.abs((x as number) - (y as number)) > IPE[ds] / 2) diffs.push(`${k}: ${x} → ${y}`);
        continue;
      }
      const same = typeof x === 'number' && typeof y === 'number' ? Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x)) : JSON.stringify(x) === JSON.stringify(y);
      if (!same) diffs.push(`${k}: ${JSON.stringify(x)} → ${JSON.stringify(y)}`);
    }
    expect(diffs, rel).toEqual([]);
    // And the exported file re-imports to the same document.
    expect(JSON.stringify(importConfig(exported[i]!.text).doc), rel).toBe(JSON.stringify(imported[i]!.result.doc));
  });
}

describe('fast-reid BoT / AGW / SBS recipes on Market1501, DukeMTMC, MSMT17', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'reid-fr-recipes-'));
  const imported = RECIPES.map((r) => ({ ...r, result: importFixture(r.rel) }));

  it('all 36 import, build and compile', () => {
    for (const { rel, bb, family, result } of imported) {
      expect(result.framework, rel).toBe('fastreid');
      const facts = modelFacts(result.doc);
      expect(facts.ok, rel).toBe(true);
      expect(facts.blocks, rel).toEqual(bb === 'R101-ibn' ? [3, 4, 23, 3] : [3, 4, 6, 3]);
      expect(facts.ibnLayers.length > 0, rel).toBe(bb !== 'R50' && bb !== 'S50');
      // ResNeSt-50: a split-attention conv in each of its 16 bottlenecks (fast-reid resnest.py).
      expect(facts.splitAttention, rel).toBe(bb === 'S50' ? 16 : 0);
      expect(facts.pool, rel).toMatchObject(family === 'bagtricks' ? { kind: 'avg' } : { kind: 'gem', learnable: family === 'sbs' });
      expect(facts.trainFeature, rel).toBe(family === 'sbs' ? 'bottleneck' : 'gap');
      expect(facts.input, rel).toEqual(family === 'sbs' ? [384, 128, 3] : [256, 128, 3]);
      expect(compileToKeras(analyze(result.doc.graph)).metadata.roles.logits, rel).toBe('classifier');
      const s = settingsOf(result.doc);
      // fast-reid's build_resnest_backbone ignores WITH_NL: the S50 graph has none and remembers the flag for export.
      const nl = family !== 'bagtricks' && bb !== 'S50';
      // WITH_NL builds fast-reid's non-local blocks: NL_2 ×2 and NL_3 ×(3 for 50x, 9 for 101x).
      const nlBlocks = analyze(result.doc.graph).layers.filter((l) => l.kind === 'non_local_attention').map((l) => l.name.split('.')[1]);
      expect(nlBlocks.length, rel).toBe(nl ? (bb === 'R101-ibn' ? 11 : 5) : 0);
      if (nl) expect(new Set(nlBlocks), rel).toEqual(new Set(['NL_2', 'NL_3']));
      expect(s.framework?.withNonLocal, rel).toBe(bb === 'S50' && family !== 'bagtricks' ? true : undefined);
      if (family === 'sbs') {
        expect(s.classifier, rel).toEqual({ layer: 'CircleSoftmax', scale: 64, margin: 0.35 });
        expect(s.loss, rel).toMatchObject({ softMargin: true, hardMining: true, normFeat: false });
        expect(s.schedule, rel).toMatchObject({ name: 'cosine', delayEpochs: 30, etaMinLr: 7e-7 });
        expect(s.freezeBackboneIters, rel).toBe(1000);
        expect(s.augment.autoAugmentProb, rel).toBe(0.1);
        expect(s.batch, rel).toEqual({ p: 4, k: 16 });
        expect(s.epochs, rel).toBe(60);
      } else if (family === 'AGW') {
        expect(s.classifier.layer, rel).toBe('Linear');
        expect(s.loss, rel).toMatchObject({ softMargin: true, hardMining: false, normFeat: false });
        expect(s.schedule.name, rel).toBe('multistep');
      } else {
        expect(s.loss, rel).toMatchObject({ softMargin: false, margin: 0.3, hardMining: true });
        expect(s.freezeBackboneIters, rel).toBe(0);
      }
      // Nothing the recipe sets is dropped, except runtime keys.
      expect(result.ignored.filter((k) => !RUNTIME.includes(k)), rel).toEqual([]);
    }
  });

  it('all 36 export back to an equivalent config (yacs-merged into fast-reid defaults, key by key)', () => {
    expectExportsBack(imported, tmp);
  });

  it('the presets fastreid_<recipe>_<backbone> are those recipes (Market1501)', () => {
    expect(FR_PRESET_NAMES).toHaveLength(13);
    for (const { ds, family, bb, rel, result } of imported.filter((r) => r.ds === 'Market1501')) {
      expectPresetIsRecipe(buildFastreidPreset(`fastreid_${family}_${bb}`, ds), result.doc, rel);
    }
    expect(() => buildFastreidPreset('fastreid_mgn_R50')).toThrow(/unknown fast-reid preset "fastreid_mgn_R50"/);
  });

  it("an S50 recipe does not export to reid-strong-baseline: it has no ResNeSt", () => {
    const r = exportRsbYaml(importFixture('fastreid/Market1501/bagtricks_S50.yml').doc);
    expect(r.ok ? [] : r.reasons).toEqual(["resnest50: fast-reid's ResNeSt (split-attention blocks, deep stem); reid-strong-baseline has no ResNeSt — export it as fast-reid YAML"]);
  });

  it('the other fast-reid recipe is refused with its reason: the ViT', () => {
    expect(() => importFixture('fastreid/Market1501/bagtricks_vit.yml')).toThrow(/'build_vit_backbone': a Vision Transformer .* is not a ResNet-family network/);
  });
});

/**
 * fast-reid's MGN recipes (configs/<dataset>/mgn_R50-ibn.yml on Base-MGN.yml / Base-SBS.yml): they import as the
 * MGN graph (core/presets/mgn.ts: three branches, eight 256-d heads, CircleSoftmax classifiers, the MGN
 * freeze list), build, and export back to configs equal to the originals key by key after the yacs merge.
 */
describe('fast-reid MGN recipes on Market1501, DukeMTMC, MSMT17', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'reid-fr-mgn-'));
  const imported = DATASETS.map((ds) => ({ ds, rel: `fastreid/${ds}/mgn_R50-ibn.yml`, result: importFixture(`fastreid/${ds}/mgn_R50-ibn.yml`) }));

  it('all 3 import as the MGN graph with the recipe settings', () => {
    for (const { rel, result } of imported) {
      const a = analyze(result.doc.graph);
      expect(a.ok, rel).toBe(true);
      expect(a.featureDim, rel).toBe(8 * 256);
      expect(a.outputs.heads?.length, rel).toBe(8);
      expect(a.outputs.heads?.filter((h) => h.feature).length, rel).toBe(5);
      expect(a.outputs.heads?.every((h) => h.ceFactor === 0.125 && h.tripletFactor === 0.2), rel).toBe(true);
      expect(a.layers.find((l) => l.name === 'backbone.4.0.bn1')?.kind, rel).toBe('ibn_a');
      expect(a.layers.find((l) => l.name === 'b1_head.pool_layer')?.params, rel).toMatchObject({ learnable: true });
      const s = settingsOf(result.doc);
      expect(s.classifier, rel).toEqual({ layer: 'CircleSoftmax', scale: 64, margin: 0.35 });
      expect(s.freezeBackboneIters, rel).toBe(1000);
      expect(result.ignored.filter((k) => !RUNTIME.includes(k)), rel).toEqual([]);
    }
  });

  it('all 3 export back to an equivalent config (yacs-merged into fast-reid defaults, key by key)', () => {
    expectExportsBack(imported, tmp);
  });

  it('the preset fastreid_mgn_R50-ibn is the Market1501 recipe', () => {
    expectPresetIsRecipe(buildFastreidPreset('fastreid_mgn_R50-ibn'), imported[0]!.result.doc, imported[0]!.rel);
  });
});
