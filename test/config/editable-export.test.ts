import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPreset, type GraphDoc } from '../../core/index.js';
import { buildModel, exportFastreidYaml, exportRsbYaml, type ModelSpec } from '../../core/config/index.js';
import { frSpec } from './helpers.js';

/**
 * YAML export of runs the frameworks cannot reproduce as they are (the demo dataset, class folders, training
 * from scratch in RSB): an editable config whose keys to fill in carry `# TO FILL IN:` comments. The file must
 * still be one the framework's yacs accepts (test/config/yacs_merge.py: PyYAML safe_load, no unknown keys, the
 * defaults' types), with the placeholder dataset name that makes the framework stop until it is edited.
 */

const PY = '/usr/bin/python3';
const MERGE = new URL('./yacs_merge.py', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'reid-editable-'));

type Merged = { ok: true; cfg: Record<string, Record<string, unknown>> } | { ok: false; error: string };
function merge(framework: 'rsb' | 'fastreid', text: string, name: string): Merged {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return JSON.parse(execFileSync(PY, [MERGE, framework, path], { encoding: 'utf8' }).trim()) as Merged;
}

/** The `# TO FILL IN:` comment lines, each with the key line that follows it. */
function notes(text: string): Record<string, string> {
  const lines = text.split('\n');
  const out: Record<string, string> = {};
  lines.forEach((l, i) => {
    const m = /^\s*# TO FILL IN: (.*)$/.exec(l);
    if (m) out[lines[i + 1]!.trim().split(':')[0]!] = m[1]!;
  });
  return out;
}

const FR50: ModelSpec = frSpec({ numClasses: 5, frozenBackbone: true });

describe('editable YAML export for runs on the demo dataset or from scratch', () => {
  it('reid-strong-baseline: dataset and weights to fill in, accepted by yacs', () => {
    const doc: GraphDoc = { ...buildPreset('resnet50', { numClasses: 5 }), training: { dataset: { kind: 'demo' }, pretrained: { choice: 'none' } } };
    const out = exportRsbYaml(doc);
    if (!out.ok) throw new Error(out.reasons.join('; '));
    const n = notes(out.text);
    expect(Object.keys(n).sort()).toEqual(['NAMES', 'PRETRAIN_PATH']);
    expect(n.NAMES).toMatch(/built-in demo dataset, which reid-strong-baseline cannot load: replace YOUR_DATASET .* DATASETS\.ROOT_DIR/);
    expect(n.PRETRAIN_PATH).toMatch(/from scratch, but reid-strong-baseline always loads weights/);
    const r = merge('rsb', out.text, 'rsb-demo.yml');
    if (!r.ok) throw new Error(r.error);
    expect(r.cfg.DATASETS!.NAMES).toBe('YOUR_DATASET');
    expect(r.cfg.MODEL).toMatchObject({ PRETRAIN_CHOICE: 'imagenet', PRETRAIN_PATH: '' });
  });

  it('fast-reid: class folders, warmup and a whole-run freeze in iterations to fill in, accepted by yacs', () => {
    const doc: GraphDoc = {
      ...buildModel(FR50),
      training: { dataset: { kind: 'class_folders', path: '/data/x' }, loss: { metric: 'triplet' }, schedule: { warmup: true, warmupEpochs: 5, steps: [40, 70] }, epochs: 80 },
    };
    const out = exportFastreidYaml(doc);
    if (!out.ok) throw new Error(out.reasons.join('; '));
    const n = notes(out.text);
    expect(Object.keys(n).sort()).toEqual(['FREEZE_ITERS', 'NAMES', 'WARMUP_ITERS']);
    expect(n.NAMES).toMatch(/a class-folder dataset, which fast-reid cannot load/);
    expect(n.WARMUP_ITERS).toMatch(/5 epochs, so 5 × \(your dataset's training images \/\/ IMS_PER_BATCH\)/);
    expect(n.FREEZE_ITERS).toMatch(/80 epochs × /);
    expect(out.warnings).toContain('the config needs editing before it trains: DATASETS.NAMES, SOLVER.WARMUP_ITERS, SOLVER.FREEZE_ITERS (see the TO FILL IN comments)');
    const r = merge('fastreid', out.text, 'fr-folders.yml');
    if (!r.ok) throw new Error(r.error);
    expect(r.cfg.DATASETS!.NAMES).toEqual(['YOUR_DATASET']);
  });
});
