import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildPreset, loadDocument, parseTrainingSettings, preprocessOf, serializeDocument, type GraphDoc } from '../../core/index.js';
import { buildModel, ConfigError, exportFastreidYaml, exportRsbYaml, importConfig, withFastreidStem } from '../../core/config/index.js';
import { importFixture } from './helpers.js';

/**
 * Pre-processing through config import / export: RSB INPUT.PIXEL_MEAN / PIXEL_STD (0–1) with PIL bilinear,
 * fast-reid MODEL.PIXEL_MEAN / PIXEL_STD (0–255) with PIL bicubic. Exported numbers are checked against the
 * values Python itself computes for the frameworks' defaults (fast-reid defaults.py writes 0.485 * 255 …).
 */

const PY = '/usr/bin/python3';
/** PyYAML's reading of an exported config, and fast-reid's default expressions evaluated by Python. */
function pyRead(text: string): { cfg: Record<string, Record<string, unknown>>; frMean: number[]; frStd: number[] } {
  const code = 'import json,sys,yaml\nprint(json.dumps({"cfg": yaml.safe_load(sys.stdin.read()), "frMean": [0.485*255, 0.456*255, 0.406*255], "frStd": [0.229*255, 0.224*255, 0.225*255]}))';
  return JSON.parse(execFileSync(PY, ['-c', code], { input: text, encoding: 'utf8' }));
}

const MARKET = parseTrainingSettings({ dataset: { kind: 'market1501' }, loss: { metric: 'triplet' }, pretrained: { choice: 'imagenet', path: 'r50.pth' } });
const withMarket = (doc: GraphDoc): GraphDoc => ({ ...doc, training: (MARKET as { settings: Record<string, unknown> }).settings });

describe('preprocessing in config import', () => {
  it("reid-strong-baseline recipes mean bilinear + ImageNet (left implicit); fast-reid's mean bicubic", () => {
    const rsb = importFixture('rsb/softmax_triplet_with_center.yml');
    expect(rsb.doc.preprocess).toBeUndefined();
    expect(preprocessOf(rsb.doc)).toEqual({ interpolation: 'bilinear', pixelMean: [0.485, 0.456, 0.406], pixelStd: [0.229, 0.224, 0.225] });
    const fr = importFixture('fastreid/Market1501/bagtricks_R50-ibn.yml');
    expect(fr.doc.preprocess).toEqual({ interpolation: 'bicubic', pixelMean: [0.485, 0.456, 0.406], pixelStd: [0.229, 0.224, 0.225] });
    expect(fr.ignored).not.toContain('MODEL.PIXEL_MEAN');
    expect(fr.warnings.join('\n')).not.toMatch(/PIXEL/);
  });

  it('reads other means / stds in each framework’s scale', () => {
    const rsb = importConfig("MODEL:\n  NAME: 'resnet18'\nINPUT:\n  SIZE_TRAIN: [256, 128]\n  SIZE_TEST: [256, 128]\n  PIXEL_MEAN: [0.5, 0.5, 0.5]\n  PIXEL_STD: [0.25, 0.5, 1.0]\n");
    expect(rsb.doc.preprocess).toEqual({ interpolation: 'bilinear', pixelMean: [0.5, 0.5, 0.5], pixelStd: [0.25, 0.5, 1] });
    expect(rsb.ignored).toEqual([]);
    const fr = importConfig("MODEL:\n  META_ARCHITECTURE: 'Baseline'\n  PIXEL_MEAN: [127.5, 127.5, 127.5]\n  PIXEL_STD: [63.75, 127.5, 255.0]\n");
    expect(fr.doc.preprocess).toEqual({ interpolation: 'bicubic', pixelMean: [0.5, 0.5, 0.5], pixelStd: [0.25, 0.5, 1] });
  });

  it('refuses a mean / std that is not 3 numbers, or a std ≤ 0, with the key', () => {
    expect(() => importConfig("MODEL:\n  NAME: 'resnet18'\nINPUT:\n  PIXEL_STD: [0.2, 0.0, 0.2]\n")).toThrow(ConfigError);
    expect(() => importConfig("MODEL:\n  NAME: 'resnet18'\nINPUT:\n  PIXEL_STD: [0.2, 0.0, 0.2]\n")).toThrow(/INPUT.PIXEL_STD must be a list of 3 positive numbers/);
    expect(() => importConfig("MODEL:\n  META_ARCHITECTURE: 'Baseline'\n  PIXEL_MEAN: [1, 2]\n")).toThrow(/MODEL.PIXEL_MEAN must be a list of 3 numbers/);
  });
});

describe('preprocessing in config export', () => {
  it("writes RSB's INPUT.PIXEL_MEAN / PIXEL_STD as given, and round-trips other values", () => {
    const doc = withMarket(buildPreset('resnet50'));
    doc.preprocess = { interpolation: 'bilinear', pixelMean: [0.5, 0.4, 0.3], pixelStd: [0.2, 0.3, 0.1] };
    const out = exportRsbYaml(doc);
    if (!out.ok) throw new Error(out.reasons.join('; '));
    expect(out.warnings).toEqual([]);
    const py = pyRead(out.text);
    expect(py.cfg.INPUT!.PIXEL_MEAN).toEqual([0.5, 0.4, 0.3]);
    expect(py.cfg.INPUT!.PIXEL_STD).toEqual([0.2, 0.3, 0.1]);
    expect(serializeDocument(importConfig(out.text).doc)).toBe(serializeDocument(doc));
  });

  it("writes fast-reid's MODEL.PIXEL_MEAN / PIXEL_STD ×255, equal to fast-reid's own defaults for ImageNet", () => {
    const doc = withMarket(buildModel({ depth: 'resnet50', ibn: false, stem: 'fastreid', lastStride: 1, neck: 'bnneck', neckFeat: 'after', trainFeat: 'before', classifierBias: false, pool: 'avg', numClasses: 751, input: [256, 128], frozenBackbone: false }));
    doc.preprocess = { interpolation: 'bicubic', pixelMean: [0.485, 0.456, 0.406], pixelStd: [0.229, 0.224, 0.225] };
    const out = exportFastreidYaml(doc);
    if (!out.ok) throw new Error(out.reasons.join('; '));
    expect(out.warnings.join('\n')).not.toMatch(/interpolation/);
    const py = pyRead(out.text);
    expect(py.cfg.MODEL!.PIXEL_MEAN).toEqual(py.frMean);
    expect(py.cfg.MODEL!.PIXEL_STD).toEqual(py.frStd);
    expect(serializeDocument(importConfig(out.text).doc)).toBe(serializeDocument(doc));
  });

  it('warns when the document resizes with the other framework’s filter', () => {
    const rsbDoc = withMarket(buildPreset('resnet50'));
    rsbDoc.preprocess = { interpolation: 'bicubic', pixelMean: [0.485, 0.456, 0.406], pixelStd: [0.229, 0.224, 0.225] };
    const a = exportRsbYaml(rsbDoc);
    expect(a.ok && a.warnings.join('\n')).toMatch(/bicubic interpolation; reid-strong-baseline always uses bilinear/);
    const frDoc = withMarket(withFastreidStem(buildPreset('resnet50')));
    const b = exportFastreidYaml(frDoc);
    expect(b.ok && b.warnings.join('\n')).toMatch(/bilinear interpolation; fast-reid always uses bicubic/);
  });
});

describe('preprocess block of the document', () => {
  const base = () => JSON.parse(serializeDocument(buildPreset('resnet18'))) as Record<string, unknown>;
  it('is optional, round-trips, and a partial block gets reid-strong-baseline defaults', () => {
    expect(loadDocument(base()).preprocess).toBeUndefined();
    const full = loadDocument({ ...base(), preprocess: { interpolation: 'bicubic', pixelMean: [0.5, 0.5, 0.5], pixelStd: [0.5, 0.5, 0.5] } });
    expect(serializeDocument(loadDocument(JSON.parse(serializeDocument(full))))).toBe(serializeDocument(full));
    expect(loadDocument({ ...base(), preprocess: { interpolation: 'bicubic' } }).preprocess).toEqual({ interpolation: 'bicubic', pixelMean: [0.485, 0.456, 0.406], pixelStd: [0.229, 0.224, 0.225] });
  });

  it.each([
    [{ interpolation: 'nearest' }, /preprocess.interpolation/],
    [{ pixelStd: [0.2, -1, 0.2] }, /preprocess.pixelStd.1: must be > 0/],
    [{ pixelMean: [0.5, 0.5] }, /preprocess.pixelMean/],
  ])('refuses %j with the field', (p, msg) => {
    expect(() => loadDocument({ ...base(), preprocess: p })).toThrow(msg);
  });
});
