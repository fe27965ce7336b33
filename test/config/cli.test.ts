import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPreset, parseTrainingSettings, serializeDocument } from '../../core/index.js';
import { FIXTURES } from './helpers.js';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const tmp = mkdtempSync(join(tmpdir(), 'reid-config-cli-'));

describe('reid-studio import / export', () => {
  it('import resolves fast-reid _BASE_ relative to the file and lists the ignored keys', () => {
    const out = join(tmp, 'r50ibn.json');
    const r = cli('import', join(FIXTURES, 'fastreid/Market1501/bagtricks_R50-ibn.yml'), '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/imported a fast-reid config/);
    expect(r.stdout).toMatch(/model: resnet50_ibn_a, last stride 1, neck bnneck, 751 classes, input 256x128/);
    expect(r.stdout).toMatch(/ignored \(not modelled by ReID Studio\): DATALOADER\.NUM_WORKERS, SOLVER\.AMP\.ENABLED, TEST\.IMS_PER_BATCH, CUDNN_BENCHMARK/);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.format).toBe('reid-studio-graph');
    expect(doc.training.schedule).toEqual({ warmup: true, warmupFactor: 0.1, warmupEpochs: 10, steps: [50, 100], gamma: 0.1, name: 'multistep', delayEpochs: 0, etaMinLr: 1e-7 });
  });

  it('import --json is machine-readable', () => {
    const r = cli('import', join(FIXTURES, 'rsb/baseline.yml'), '--out', join(tmp, 'baseline.json'), '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.framework).toBe('rsb');
    expect(j.model).toMatchObject({ depth: 'resnet50', ibn: false, stem: 'rsb', lastStride: 2, neck: 'no', numClasses: 751, input: [256, 128] });
    expect(j.ignored).toContain('SOLVER.RANGE_K');
    expect(j.training.loss.labelSmooth).toBe(false);
  });

  it('graph → rsb-yaml → graph through the CLI gives the same file; --format graph is the canonical document', () => {
    const g = join(tmp, 'g.json');
    const settings = parseTrainingSettings({ dataset: { kind: 'dukemtmc' }, loss: { metric: 'triplet' }, pretrained: { choice: 'imagenet', path: '/w/resnet34.pth' } });
    if (!settings.ok) throw new Error(settings.message);
    const doc = { ...buildPreset('resnet34', { lastStride: 2, numClasses: 702 }), training: settings.settings as unknown as Record<string, unknown> };
    writeFileSync(g, serializeDocument(doc));
    const canonical = join(tmp, 'canonical.json');
    expect(cli('export', g, '--format', 'graph', '--out', canonical).status).toBe(0);
    expect(readFileSync(canonical, 'utf8')).toBe(serializeDocument(doc));
    const yml = join(tmp, 'g.yml');
    const e = cli('export', canonical, '--format', 'rsb-yaml', '--out', yml, '--json');
    expect(e.status).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ ok: true, format: 'rsb-yaml', out: yml });
    expect(readFileSync(yml, 'utf8')).toMatch(/NAME: 'resnet34'\n {2}LAST_STRIDE: 2\n/);
    const back = join(tmp, 'back.json');
    expect(cli('import', yml, '--out', back).status).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe(readFileSync(canonical, 'utf8'));
  });

  it('a refused export exits 2 with the reason and writes nothing', () => {
    const out = join(tmp, 'refused.yml');
    const r = cli('export', '--preset', 'resnet152_ibn_a', '--format', 'rsb-yaml', '--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^reid-studio: error: cannot export to rsb-yaml: resnet152_ibn_a: reid-strong-baseline's Baseline wires only/);
    expect(existsSync(out)).toBe(false);
    const fr = cli('export', '--preset', 'resnet50', '--format', 'fastreid-yaml', '--out', out);
    expect(fr.stderr).toMatch(/fast-reid's is conv → BN → ReLU → max pool 3×3\/2 padding 0 ceil_mode/);
    expect(cli('export', '--preset', 'resnet50', '--format', 'fastreid-yaml', '--fastreid-stem', '--out', out).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/DEPTH: '50x'/);
    // Atomic write: no temp file left next to the output.
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('bad input: clear one-line errors, no stack traces', () => {
    const bad = join(tmp, 'bad.yml');
    writeFileSync(bad, 'MODEL:\n  NAME: [resnet50\n');
    const cases: [string[], RegExp][] = [
      [['import', bad, '--out', join(tmp, 'x.json')], /bad\.yml is not valid YAML/],
      [['import', join(tmp, 'missing.yml'), '--out', join(tmp, 'x.json')], /cannot read config .*missing\.yml: no such file/],
      [['import', join(FIXTURES, 'rsb/baseline.yml')], /--out GRAPH\.json is required/],
      [['export', '--preset', 'resnet50', '--format', 'caffe', '--out', join(tmp, 'x')], /unknown --format "caffe" \(choose one of graph, rsb-yaml, fastreid-yaml, pytorch, tfjs, fastreid-job, rsb-job, onnx\)/],
      [['export', '--preset', 'resnet50', '--out', join(tmp, 'x')], /--format is required/],
    ];
    for (const [args, re] of cases) {
      const r = cli(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    writeFileSync(bad, "MODEL:\n  NAME: 'resnet50'\n  BACKBONE:\n    DEPTH: 50x\n");
    expect(cli('import', bad, '--out', join(tmp, 'x.json')).stderr).toMatch(/mixes reid-strong-baseline keys/);
  });
});
