/**
 * Every `pytorch` export layout loads with strict=True into the framework's OWN model, for every preset
 * (issue 22). References: test/fixtures/frameworks/*-state-dicts.json, the state_dict keys and shapes of
 * models built with the frameworks' own code (reid-strong-baseline's `Baseline` / resnet_ibn_a.py, fast-reid's
 * `build_model` from its configs; the generating scripts sit beside them). A strict load succeeds exactly when
 * the keys match (nothing missing, nothing unexpected) with the same shapes. One export is also written and
 * read back by PyTorch: its keys and shapes, model.py's strict `load_weights` and one forward pass.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withFastreidStem } from '../../core/config/index.js';
import { ALL_PRESET_NAMES, buildFastreidPreset, buildPreset as buildCorePreset, FR_PRESET_NAMES } from '../../core/index.js';
import { exportModel, pytorchStateShapes } from '../../main/export/index.js';
import { PYTHON } from '../parity/fixtures.js';

type Shapes = Record<string, number[]>;
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/frameworks/${name}`, import.meta.url), 'utf8')) as { commit: string; models: Record<string, Shapes> };
const RSB = fixture('rsb-state-dicts.json').models;
const FR = fixture('fastreid-state-dicts.json').models;

/** App preset → reid-strong-baseline MODEL.NAME (Baseline), or the resnet_ibn_a.py backbone Baseline cannot select. */
const RSB_MODEL: Record<string, string> = {
  resnet18: 'resnet18', resnet34: 'resnet34', resnet50: 'resnet50', resnet101: 'resnet101', resnet152: 'resnet152',
  resnet50_ibn_a: 'resnet50_ibn_a', resnet101_ibn_a: 'resnet101_ibn_a', resnet152_ibn_a: 'resnet152_ibn_a',
  se_resnet50: 'se_resnet50', se_resnet101: 'se_resnet101', se_resnet152: 'se_resnet152',
  se_resnext50_32x4d: 'se_resnext50', se_resnext101_32x4d: 'se_resnext101', senet154: 'senet154',
};
/** resnet_ibn_a.py's deeper nets: only their backbone (`base.*`) is a model of RSB's code. */
const BACKBONE_ONLY = new Set(['resnet101_ibn_a', 'resnet152_ibn_a']);
/** Presets fast-reid builds: its recipes, and the ResNets (with IBN-a) once the stem is converted (--fastreid-stem). */
const FR_MODEL: Record<string, { key: string; stem: boolean }> = Object.fromEntries(
  Object.keys(FR).map((k) => [k, { key: k, stem: /^resnet\d/.test(k) }]),
);
/**
 * Documented deviations: presets with no model in a framework's code, so no layout can load into one.
 * IBN-b: neither framework has it. resnet18/34_ibn_a: RSB's resnet_ibn_a.py defines only 50/101/152.
 * resnet152(_ibn_a): fast-reid's resnet.py has no 152x. RSB SE nets, and ResNeSt and the fast-reid recipes
 * (non-local blocks, GeM, the fast-reid stem) exist in one framework only.
 */
const NO_RSB_MODEL = /(_ibn_b$|^resnet(18|34)_ibn_a$|^fastreid_|^resnest)/;
const NO_FR_MODEL = /(_ibn_b$|^resnet152|^se_|^senet)/;

const buildPreset = (name: string, o: { input?: [number, number] } = {}) => (name.startsWith('fastreid_') ? buildFastreidPreset(name) : buildCorePreset(name, o));
const sorted = (m: Map<string, number[]> | Shapes) => Object.fromEntries([...(m instanceof Map ? m : Object.entries(m))].sort(([a], [b]) => (a < b ? -1 : 1)));

describe('pytorch export layouts against the frameworks\' own models (strict load)', () => {
  const presets = [...ALL_PRESET_NAMES, ...FR_PRESET_NAMES];

  it('every preset has a framework model for each layout, or is a documented deviation', () => {
    for (const p of presets) {
      expect([p, p in RSB_MODEL || NO_RSB_MODEL.test(p)]).toEqual([p, true]);
      expect([p, p in FR_MODEL || NO_FR_MODEL.test(p)]).toEqual([p, true]);
    }
  });

  it.each(Object.keys(RSB_MODEL))('--layout rsb of %s: the keys and shapes of reid-strong-baseline\'s model', (preset) => {
    const want = RSB[RSB_MODEL[preset]!]!;
    let got = pytorchStateShapes(buildPreset(preset), 'rsb');
    if (BACKBONE_ONLY.has(preset)) got = new Map([...got].filter(([k]) => k.startsWith('base.')));
    expect(sorted(got)).toEqual(sorted(want));
  });

  it.each(Object.keys(FR_MODEL))('--layout fastreid of %s: the keys and shapes of fast-reid\'s Baseline', (preset) => {
    const m = FR_MODEL[preset]!;
    const doc = m.stem ? withFastreidStem(buildPreset(preset)) : buildPreset(preset);
    expect(sorted(pytorchStateShapes(doc, 'fastreid'))).toEqual(sorted(FR[m.key]!));
  });

  it('resnet50_ibn_a model.pth (rsb) holds RSB\'s unused base.fc; model.py loads it strictly and runs', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'reid-fw-layout-')), 'r50ibn');
    await exportModel(buildPreset('resnet50_ibn_a', { input: [64, 32] }), 'pytorch', out);
    const py = `
import json, sys, importlib.util, torch
torch.set_num_threads(1)
d = sys.argv[1]
sd = torch.load(d + '/model.pth', map_location='cpu')
spec = importlib.util.spec_from_file_location('m', d + '/model.py'); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
net = m.load_weights(m.ReidModel(), d + '/model.pth').eval()
with torch.no_grad(): f = net(torch.randn(1, 3, 64, 32))
print(json.dumps({'keys': {k: list(v.shape) for k, v in sd.items()}, 'feat': list(f.shape)}))`;
    const r = JSON.parse(execFileSync(PYTHON, ['-c', py, out], { encoding: 'utf8', timeout: 120_000 }));
    expect(sorted(r.keys)).toEqual(sorted(RSB.resnet50_ibn_a!));
    expect(r.feat).toEqual([1, 2048]);
  });
});
