/**
 * Export with "Weights: a run" (issue 22): a run's classifier has one output per training identity of the
 * run's dataset (the trainer sizes it: run.json `numClasses`, graph.json), so exporting a preset with a run's
 * weights must size the classifier from the run as training did, say so before Export (`export.check`), leave
 * the classifier out where the format has none (ONNX: the feature output only), and name tensors by their
 * PyTorch keys. Checked in PyTorch: the exported model.py + model.pth load with strict=True and hold the run's
 * classifier as `classifier.weight` [numClasses, 512].
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, buildPreset, compileToKeras } from '../../core/index.js';
import { exportModelFolder } from '../../main/export/cli.js';
import { checkExport } from '../../main/service/export.js';
import { writeCheckpoint as writeRunCheckpoint } from '../../main/runs/store/checkpoint.js';
import { weightKey } from '../../main/runs/store/checkpoint-keys.js';
import { sizeClassifier } from '../../main/training/engine/prepare.js';
import { Service } from '../../main/service/index.js';
import { parseTrainingSettings } from '../../core/training/settings.js';
import { writeDemoDataset } from '../../main/training/data/demo.js';
import { PYTHON } from '../parity/fixtures.js';
import { randomWeights } from './graphs.js';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'reid-run-weights-'));
const RUN_CLASSES = 12;

/** A run folder as the trainer writes it: graph.json (classifier sized), run.json numClasses, checkpoint/. */
async function makeRun(dir: string, withInfo = true): Promise<Map<string, Float32Array>> {
  const doc = sizeClassifier(buildPreset('resnet18', { input: [64, 32] }), RUN_CLASSES);
  const weights = randomWeights(compileToKeras(analyze(doc.graph)).layers, 5);
  const tensors = new Map([...weights].map(([k, v]) => [weightKey(k), { shape: [v.length], data: v }]));
  mkdirSync(dir, { recursive: true }); // a checkpoint never creates its run folder
  await writeRunCheckpoint(dir, { tensors, meta: { weightKeys: [...weights.keys()], step: 7 } });
  if (withInfo) {
    writeFileSync(join(dir, 'graph.json'), JSON.stringify(doc));
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ id: 'r', status: 'completed', numClasses: RUN_CLASSES }));
  }
  return weights;
}

const TORCH_CHECK = `
import json, sys, importlib.util, torch
d = sys.argv[1]
spec = importlib.util.spec_from_file_location('m', d + '/model.py'); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
net = m.build_model()
sd = torch.load(d + '/model.pth', map_location='cpu')
res = net.load_state_dict(sd, strict=True)
print(json.dumps({'shape': list(sd['classifier.weight'].shape), 'w00': float(sd['classifier.weight'][0, 0]), 'w10': float(sd['classifier.weight'][1, 0])}))
`;

describe('export with a run\'s weights (issue 22)', () => {
  it('pytorch: the classifier is sized from the run as training did; model.pth loads strict in PyTorch', async () => {
    const run = join(work, 'run');
    const weights = await makeRun(run);
    const preset = buildPreset('resnet18', { input: [64, 32] }); // the default classifier size, not the run's
    const check = await checkExport({ format: 'pytorch', doc: preset, weights: run });
    expect(check.ok).toBe(true);
    expect(check.warnings.join('\n')).toMatch(/classifier\.weight is sized from the run as training sized it: 12 training identities \(the graph says 751\)/);
    const out = join(work, 'pt');
    const r = await exportModelFolder('pytorch', preset, { out, weights: run });
    expect(r.ok).toBe(true);
    const torch = JSON.parse(execFileSync(PYTHON, ['-c', TORCH_CHECK, out], { encoding: 'utf8', timeout: 120_000 }));
    expect(torch.shape).toEqual([RUN_CLASSES, 512]);
    // tfjs kernel [512, 12] → torch weight [12, 512]: weight[o, i] = kernel[i, o]
    const kernel = weights.get('classifier/kernel')!;
    expect(torch.w00).toBe(kernel[0]);
    expect(torch.w10).toBe(kernel[1]);
  });

  it('onnx: no classifier in the file, so a run whose size the graph does not know still exports', async () => {
    const run = join(work, 'bare-run');
    await makeRun(run, false); // checkpoint only: nothing says the class count
    const preset = buildPreset('resnet18', { input: [64, 32] });
    const r = await exportModelFolder('onnx', preset, { out: join(work, 'm.onnx'), weights: run });
    expect(r).toEqual({ ok: true, written: true, warnings: [] });
    // pytorch holds the classifier: refused, naming the PyTorch key and its shape (never a tfjs slot name)
    const p = await exportModelFolder('pytorch', preset, { out: join(work, 'never'), weights: run });
    expect(p.ok).toBe(false);
    const reason = (p as { reasons: string[] }).reasons.join('\n');
    expect(reason).toMatch(/classifier\.weight: 6144 values for shape \[751, 512\]/);
    expect(reason).not.toMatch(/kernel/);
  });

  it('CLI: export --preset resnet18 --format onnx --weights RUN_DIR exits 0', async () => {
    const run = join(work, 'cli-run');
    await makeRun(run);
    const out = join(work, 'cli.onnx');
    const r = spawnSync(process.execPath, [BIN, 'export', '--preset', 'resnet18', '--input', '64x32', '--format', 'onnx', '--weights', run, '--out', out, '--json'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.stderr).not.toMatch(/kernel/);
    expect(r.status).toBe(0);
    expect(readFileSync(out).length).toBeGreaterThan(1_000_000);
  }, 300_000);

  it("a job of a CLI run (graph.json with no training block) takes the run's settings and data: the demo dataset left to fill in, not refused as Market-1501 with 751 identities", async () => {
    const home = join(work, 'home');
    const id = 'cli-demo-run';
    const run = join(home, 'runs', id);
    await makeRun(run);
    // What `train --preset resnet18 --demo --demo-size tiny --epochs 3` writes: settings.json (the parsed settings,
    // main/training/engine/trainer.ts; --demo does not reach its dataset) and run.json's dataset (the loaded folder).
    const parsed = parseTrainingSettings({ epochs: 3, loss: { metric: 'triplet' } });
    if (!parsed.ok) throw new Error(parsed.message);
    writeFileSync(join(run, 'settings.json'), JSON.stringify(parsed.settings));
    const demo = join(work, 'demo-tiny');
    await writeDemoDataset(demo, 'tiny', 0);
    const runInfo = (root: string) => JSON.stringify({ id, status: 'completed', numClasses: RUN_CLASSES, dataset: { kind: 'market1501', root } });
    writeFileSync(join(run, 'run.json'), runInfo(demo));
    const out = join(work, 'job');
    const r = spawnSync(process.execPath, [BIN, 'export', '--format', 'rsb-job', '--weights', run, '--out', out, '--json'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const config = readFileSync(join(out, 'config.yml'), 'utf8');
    expect(config).toMatch(/^ {2}MAX_EPOCHS: 3$/m);
    expect(config).toMatch(/^ {2}NAMES: 'YOUR_DATASET'$/m);
    expect(config).toMatch(/# TO FILL IN: the run trained on the app's built-in demo dataset/);
    expect(JSON.parse(r.stdout).warnings.join('\n')).not.toMatch(/Market-1501/);
    // The app's run ▸ Training job… asks the service with the run as the graph: the same settings.
    const svc = new Service({ host: 'browser', version: '0', dataDir: home, documentsDir: home });
    const check = await svc.call('export.check', { format: 'fastreid-job', graph: { kind: 'run', runId: id }, weights: { kind: 'run', runId: id }, fastreidStem: true });
    expect(check.refusals).toEqual([]);
    expect(check.warnings).toContain('the config needs editing before it trains: DATASETS.NAMES, SOLVER.WARMUP_ITERS (see the TO FILL IN comments)');
    // A run on a folder in Market-1501's layout (train --data DIR): the config names it; its 12 classes are a note.
    writeFileSync(join(run, 'run.json'), runInfo(join(work, 'my-market')));
    const own = await svc.call('export.check', { format: 'rsb-yaml', graph: { kind: 'run', runId: id }, weights: { kind: 'none' } });
    expect(own.refusals).toEqual([]);
    expect(own.warnings).toContain("the graph's classifier has 12 classes; reid-strong-baseline sizes it from the data it loads (Market-1501: 751 training identities), as the app's trainer does");
  }, 300_000);
});
