import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_PRESET_NAMES, buildPreset } from '../../core/index.js';
import { exportFastreidYaml, exportRsbYaml, importConfig, presetName, recognizeModel, withFastreidStem } from '../../core/config/index.js';

/**
 * Every preset that has a framework name imports and exports under that name. The names are the frameworks':
 * reid-strong-baseline's MODEL.NAME values are those its modeling/baseline.py builds (read from its source by
 * test/fixtures/frameworks/make_config_references.py into merged.json).
 */

const REFS = JSON.parse(readFileSync(new URL('../fixtures/frameworks/configs/merged.json', import.meta.url), 'utf8')) as { rsb_model_names: string[] };
const RSB_NAMES = REFS.rsb_model_names;
const modelNameOf = (text: string) => /^ {2}NAME: '([^']+)'/m.exec(text)?.[1];
const presetOf = (text: string) => {
  const rec = recognizeModel(importConfig(text).doc);
  return rec.ok ? presetName(rec.spec) : rec.reasons.join('; ');
};

describe("presets under reid-strong-baseline's MODEL.NAME", () => {
  it('RSB builds 12 models (modeling/baseline.py), 6 of them SENets', () => {
    expect(RSB_NAMES).toHaveLength(12);
    expect(RSB_NAMES.filter((n) => n.startsWith('se'))).toHaveLength(6);
  });

  it('each preset RSB can build exports under an RSB name and re-imports as the same preset; every RSB name is reached', () => {
    const reached = new Map<string, string>();
    for (const preset of ALL_PRESET_NAMES) {
      const out = exportRsbYaml(buildPreset(preset));
      if (!out.ok) continue;
      const name = modelNameOf(out.text)!;
      expect(RSB_NAMES, preset).toContain(name);
      expect(presetOf(out.text), preset).toBe(preset);
      expect(reached.has(name), `${name} written for ${reached.get(name)} and ${preset}`).toBe(false);
      reached.set(name, preset);
    }
    expect([...reached.keys()].sort()).toEqual([...RSB_NAMES].sort());
  });

  it('an RSB config naming each of them (as its experiment scripts train) imports and exports back under that name', () => {
    for (const name of RSB_NAMES) {
      const text = `MODEL:\n  NAME: '${name}'\n  PRETRAIN_CHOICE: 'imagenet'\nDATASETS:\n  NAMES: ('market1501')\n`;
      const imp = importConfig(text);
      expect(imp.framework, name).toBe('rsb');
      const out = exportRsbYaml(imp.doc);
      if (!out.ok) throw new Error(`${name}: ${out.reasons.join('; ')}`);
      expect(modelNameOf(out.text), name).toBe(name);
    }
  });

  it('an SENet does not export to fast-reid, with the reason', () => {
    const r = exportFastreidYaml(buildPreset('se_resnext50_32x4d'));
    expect(r.ok ? [] : r.reasons).toEqual([expect.stringMatching(/^se_resnext50_32x4d: reid-strong-baseline's SENet .* has no fast-reid builder/)]);
  });
});

describe("presets under fast-reid's backbone names", () => {
  it('each preset fast-reid builds (with its stem) exports and re-imports as the same preset', () => {
    const exported: string[] = [];
    for (const preset of ALL_PRESET_NAMES) {
      const out = exportFastreidYaml(withFastreidStem(buildPreset(preset)));
      if (!out.ok) continue;
      expect(presetOf(out.text), preset).toBe(preset);
      exported.push(preset);
    }
    // fast-reid's resnet.py builds 18x/34x/50x/101x with or without IBN-a; resnest.py 50x/101x (of the app's presets).
    expect(exported.sort()).toEqual(
      ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet18_ibn_a', 'resnet34_ibn_a', 'resnet50_ibn_a', 'resnet101_ibn_a', 'resnest50', 'resnest101'].sort(),
    );
  });
});
