import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportFastreidYaml, exportRsbYaml, FR_DEFAULTS, importConfig, RSB_DEFAULTS, type ImportResult } from '../../core/config/index.js';
import { FR_FLOAT_KEYS } from '../../core/config/fastreid.js';
import { RSB_FLOAT_KEYS } from '../../core/config/rsb.js';

/**
 * Every config the frameworks ship (fast-reid configs/: 47 files, Base-* included; reid-strong-baseline
 * configs/*.yml: 4), imported → exported → merged by yacs into the framework's defaults, equals the original
 * merged by the framework's own code and yacs (test/fixtures/frameworks/configs/merged.json, written by
 * make_config_references.py), key by key. Configs the app cannot build are refused with their reason.
 */

const ROOT = new URL('../fixtures/frameworks/configs/', import.meta.url).pathname;
const PY = '/usr/bin/python3';
const MERGE = new URL('./yacs_merge.py', import.meta.url).pathname;
type Cfg = Record<string, unknown>;
const REFS = JSON.parse(readFileSync(join(ROOT, 'merged.json'), 'utf8')) as { defaults: Record<'rsb' | 'fastreid', Cfg>; merged: Record<string, Cfg> };
const ALL = Object.keys(REFS.merged);

/** Configs refused, with their reason (MGN, fast-reid's meta_arch/mgn.py, is modelled: its files round-trip below). */
const REFUSED: Record<string, RegExp> = {
  'fastreid/Market1501/bagtricks_vit.yml': /MODEL\.BACKBONE\.NAME 'build_vit_backbone': a Vision Transformer .* is not a ResNet-family network/,
};

/**
 * Documented deviations (README "Config round trip"): config → key → why the exported value differs.
 * Empty: every imported config comes back key by key.
 */
const DEVIATIONS: Record<string, Record<string, string>> = {};

function flatten(o: Cfg, prefix = '', out: Cfg = {}): Cfg {
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Cfg, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

function yacsMerge(framework: 'rsb' | 'fastreid', files: string[]): ({ ok: true; cfg: Cfg } | { ok: false; error: string })[] {
  if (!files.length) return [];
  return execFileSync(PY, [MERGE, framework, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

function importFile(rel: string): ImportResult {
  const path = join(ROOT, rel);
  return importConfig(readFileSync(path, 'utf8'), { path, resolveBase: (p) => readFileSync(p, 'utf8') });
}

function diffKeys(a: Cfg, b: Cfg): string[] {
  const fa = flatten(a);
  const fb = flatten(b);
  return [...new Set([...Object.keys(fa), ...Object.keys(fb)])].filter((k) => JSON.stringify(fa[k]) !== JSON.stringify(fb[k])).map((k) => `${k}: ${JSON.stringify(fa[k])} → ${JSON.stringify(fb[k])}`);
}

const tmp = mkdtempSync(join(tmpdir(), 'reid-all-configs-'));

describe("the frameworks' own configs", () => {
  it('are all here: 47 of fast-reid, 4 of reid-strong-baseline', () => {
    expect(ALL.filter((k) => k.startsWith('fastreid/'))).toHaveLength(47);
    expect(ALL.filter((k) => k.startsWith('rsb/'))).toHaveLength(4);
  });

  it("the test's yacs port merges each exactly as the frameworks' code and yacs did (negative control of the checker)", () => {
    for (const fw of ['fastreid', 'rsb'] as const) {
      const rels = ALL.filter((k) => k.startsWith(`${fw}/`));
      yacsMerge(fw, rels.map((r) => join(ROOT, r))).forEach((r, i) => {
        expect(r.ok ? diffKeys(REFS.merged[rels[i]!]!, r.cfg) : r.error, rels[i]).toEqual([]);
      });
    }
  });

  it("the importers' default tables are the frameworks' defaults.py, with their float keys", () => {
    for (const [fw, table, floats] of [['fastreid', FR_DEFAULTS, FR_FLOAT_KEYS], ['rsb', RSB_DEFAULTS, RSB_FLOAT_KEYS]] as const) {
      const ref = flatten(REFS.defaults[fw]);
      const close = (x: unknown, y: unknown): boolean =>
        typeof x === 'number' && typeof y === 'number' ? Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x)) : Array.isArray(x) && Array.isArray(y) ? x.length === y.length && x.every((v, i) => close(v, y[i])) : x === y;
      const bad = Object.keys(ref).filter((k) => !close(ref[k], table[k]));
      const extra = Object.keys(table).filter((k) => !(k in ref));
      expect([...bad, ...extra], fw).toEqual([]);
      // Python types are lost in JSON's numbers: ask Python which defaults are whole-valued floats / float lists.
      const py = `import json,sys\nd=json.load(open(sys.argv[1]))['defaults'][sys.argv[2]]\ndef f(o,p=''):\n  for k,v in o.items():\n    if isinstance(v,dict): yield from f(v,p+k+'.')\n    elif (isinstance(v,float) and v==int(v)) or (isinstance(v,list) and any(isinstance(x,float) for x in v)): yield p+k\nprint(json.dumps(sorted(f(d))))`;
      const want = JSON.parse(execFileSync(PY, ['-c', py, join(ROOT, 'merged.json'), fw], { encoding: 'utf8' })) as string[];
      expect([...floats].sort(), fw).toEqual(want);
    }
  });

  it('those the app cannot build are refused with their reason', () => {
    for (const [rel, reason] of Object.entries(REFUSED)) expect(() => importFile(rel), rel).toThrow(reason);
  });

  it('every other one imports, exports and merges by yacs into the original merged config, key by key', () => {
    const rows = ALL.filter((rel) => !(rel in REFUSED)).map((rel) => {
      const imp = importFile(rel);
      expect(imp.framework, rel).toBe(rel.split('/')[0]);
      const out = imp.framework === 'rsb' ? exportRsbYaml(imp.doc) : exportFastreidYaml(imp.doc);
      if (!out.ok) throw new Error(`${rel}: ${out.reasons.join('; ')}`);
      const path = join(tmp, rel.replace(/\//g, '__'));
      writeFileSync(path, out.text);
      // The export re-imports to the same document.
      expect(JSON.stringify(importConfig(out.text).doc), rel).toBe(JSON.stringify(imp.doc));
      return { rel, path, framework: imp.framework };
    });
    expect(rows).toHaveLength(50);
    for (const fw of ['fastreid', 'rsb'] as const) {
      const mine = rows.filter((r) => r.framework === fw);
      yacsMerge(fw, mine.map((r) => r.path)).forEach((r, i) => {
        const rel = mine[i]!.rel;
        if (!r.ok) throw new Error(`${rel}: ${r.error}`);
        const allowed = DEVIATIONS[rel] ?? {};
        expect(diffKeys(REFS.merged[rel]!, r.cfg).filter((d) => !(d.split(':')[0]! in allowed)), rel).toEqual([]);
      });
    }
  });

  it('README lists every documented deviation and refusal with its reason', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [rel, keys] of Object.entries(DEVIATIONS)) for (const key of Object.keys(keys)) expect(readme, `${rel} ${key}`).toContain(key);
    expect(readme).toContain('bagtricks_vit.yml');
  });
});

describe('kept keys follow the document', () => {
  const veri = () => importFile('fastreid/VeRi/sbs_R50-ibn.yml');
  const exportMerged = (doc: ImportResult['doc']) => {
    const out = exportFastreidYaml(doc);
    if (!out.ok) throw new Error(out.reasons.join('; '));
    const path = join(tmp, `edited-${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(path, out.text);
    const [r] = yacsMerge('fastreid', [path]);
    if (!r!.ok) throw new Error(r!.error);
    return flatten(r!.cfg);
  };
  type T = { sampler: string; schedule: { warmupEpochs: number }; dataset: { kind: string } };

  it('runtime keys come back whatever is edited; BalancedIdentitySampler only while P×K sampling stays on', () => {
    const doc = veri().doc;
    const a = exportMerged(doc);
    expect([a['DATALOADER.SAMPLER_TRAIN'], a['CUDNN_BENCHMARK'], a['SOLVER.AMP.ENABLED'], a['TEST.IMS_PER_BATCH']]).toEqual(['BalancedIdentitySampler', true, true, 256]);
    (doc.training as unknown as T).sampler = 'softmax';
    const b = exportMerged(doc);
    expect([b['DATALOADER.SAMPLER_TRAIN'], b['CUDNN_BENCHMARK'], b['SOLVER.AMP.ENABLED'], b['TEST.IMS_PER_BATCH']]).toEqual(['TrainingSampler', true, true, 256]);
  });

  it("WARMUP_ITERS comes back while the warmup keeps its epochs; a changed warmup is the document's", () => {
    const doc = veri().doc;
    const t = doc.training as unknown as T;
    // VeRi-776: 37,778 images // 64 = 590 iterations per epoch; 3000 iterations ≈ 5 epochs.
    expect(t.schedule.warmupEpochs).toBe(5);
    expect(exportMerged(doc)['SOLVER.WARMUP_ITERS']).toBe(3000);
    t.schedule.warmupEpochs = 4;
    expect(exportMerged(doc)['SOLVER.WARMUP_ITERS']).toBe(4 * 590);
  });

  it("VehicleID's NAMES / TESTS come back while the document trains on VehicleID, not after the dataset changes", () => {
    const doc = importFile('fastreid/VehicleID/bagtricks_R50-ibn.yml').doc;
    const t = doc.training as unknown as T;
    expect(t.dataset.kind).toBe('vehicleid_800');
    const a = exportMerged(doc);
    expect([a['DATASETS.NAMES'], a['DATASETS.TESTS']]).toEqual([['VehicleID'], ['SmallVehicleID', 'MediumVehicleID', 'LargeVehicleID']]);
    t.dataset.kind = 'vehicleid_2400';
    const b = exportMerged(doc);
    expect([b['DATASETS.NAMES'], b['DATASETS.TESTS']]).toEqual([['LargeVehicleID'], ['LargeVehicleID']]);
  });

  it("VeRi-Wild's config imports to its reader (the first test set, 3000 vehicles) and its 5000 warmup iterations come back", () => {
    const imp = importFile('fastreid/VERIWild/bagtricks_R50-ibn.yml');
    const t = imp.doc.training as unknown as T;
    expect(t.dataset.kind).toBe('veriwild_3000');
    expect(imp.warnings.join('\n')).not.toMatch(/no .*loader/);
    // 277,797 images // 512 = 542 iterations per epoch: 5000 iterations ≈ 9 epochs.
    expect(t.schedule.warmupEpochs).toBe(9);
    const a = exportMerged(imp.doc);
    expect([a['DATASETS.NAMES'], a['DATASETS.TESTS'], a['SOLVER.WARMUP_ITERS']]).toEqual([['VeRiWild'], ['SmallVeRiWild', 'MediumVeRiWild', 'LargeVeRiWild'], 5000]);
  });
});
