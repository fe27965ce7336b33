/**
 * fast-reid recipe presets (core/presets/fastreid.ts): each of BoT / AGW / SBS × R50 / R50-ibn / R101-ibn
 * is exactly the document the importer builds from fast-reid's own config file (the stored copies of
 * configs/Market1501/*.yml and configs/Base-*.yml), and the presets' Base texts are those files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, buildFastreidPreset, FASTREID_BASE_CONFIGS, FASTREID_PRESET_NAMES, serializeDocument } from '../../core/index.js';
import { FIXTURES, importFixture } from '../config/helpers.js';

const FILE = { bagtricks: 'bagtricks', agw: 'AGW', sbs: 'sbs' } as Record<string, string>;

describe('fast-reid recipe presets', () => {
  it("the stored Base configs are fast-reid's, as in the fixtures", () => {
    for (const [name, text] of Object.entries(FASTREID_BASE_CONFIGS)) expect(text, name).toBe(readFileSync(join(FIXTURES, 'fastreid', name), 'utf8'));
  });

  it('there are nine (BoT / AGW / SBS on R50, R50-ibn, R101-ibn)', () => {
    expect(FASTREID_PRESET_NAMES).toHaveLength(9);
  });

  it.each(FASTREID_PRESET_NAMES.map((n) => [n]))('%s equals the import of its fast-reid config', (name) => {
    const [, family, bb] = /^fastreid_(\w+?)_(.+)$/.exec(name)!;
    const fromFile = importFixture(`fastreid/Market1501/${FILE[family!]}_${bb}.yml`);
    const preset = buildFastreidPreset(name);
    expect(serializeDocument(preset)).toBe(serializeDocument(fromFile.doc));
    expect(analyze(preset.graph).ok).toBe(true);
    const nl = analyze(preset.graph).layers.filter((l) => l.kind === 'non_local_attention').length;
    expect(nl).toBe(family === 'bagtricks' ? 0 : bb === 'R101-ibn' ? 11 : 5);
  });

  it('an unknown name is a one-line error listing the presets', () => {
    expect(() => buildFastreidPreset('fastreid_sbs_R152')).toThrow(/^unknown fast-reid preset "fastreid_sbs_R152" \(choose one of fastreid_bagtricks_R50, /);
  });
});
