/**
 * `runs import` (issue 21): output folders written by fast-reid's own tools/train_net.py and by
 * reid-strong-baseline's logger and model (test/fixtures/external-runs/make.py) become runs whose curves,
 * evaluations and weights are what the framework wrote. References are the frameworks' files themselves
 * (metrics.json, the log lines) and, for weights, the features of fast-reid's Baseline (test/export/
 * check_fastreid.py, fed the checkpoint as fast-reid's Checkpointer writes it) on the same images.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from '../../core/index.js';
import { recognizeModel } from '../../core/config/index.js';
import { trainEventSchema } from '../../core/api/training-contract.js';
import { ExternalImportError, importTrainingFolder, syncExternalRun } from '../../main/runs/external/import-run.js';

const PYTHON = '/usr/bin/python3';
const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/external-runs/', import.meta.url));
const CKPT_PY = fileURLToPath(new URL('./fastreid_checkpoint.py', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'reid-external-'));
const runsDir = join(tmp, 'home', 'runs');
const env = { ...process.env, REID_STUDIO_HOME: join(tmp, 'home') };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 300_000, maxBuffer: 64 << 20 });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every file of a folder with its content hash (the source must never change). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
  return out;
}

const jsonl = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

let images: string[] = [];
beforeAll(() => {
  const data = join(tmp, 'data');
  const r = cli('demo-data', '--out', data, '--size', 'tiny');
  expect(r.status, r.stderr).toBe(0);
  const q = join(tmp, 'q4');
  mkdirSync(q);
  for (const f of readdirSync(join(data, 'query')).sort().slice(0, 4)) cpSync(join(data, 'query', f), join(q, f));
  images = readdirSync(q).map((f) => join(q, f));
}, 120_000);

/** The fast-reid fixture with a model_final.pth written as fast-reid's Checkpointer writes it; returns reference features. */
function fastreidFolder(name: string): { dir: string; features: number[][] } {
  const dir = join(tmp, name);
  cpSync(join(FIXTURES, 'fastreid-r18'), dir, { recursive: true });
  const feats = join(tmp, `${name}.feats.json`);
  execFileSync(PYTHON, [CKPT_PY, join(dir, 'model_final.pth'), '3', '12', '64', '32', feats, ...images], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  return { dir, features: (JSON.parse(readFileSync(feats, 'utf8')) as { features: number[][] }).features };
}

describe('fast-reid output folder (tools/train_net.py)', () => {
  it('imports curves, evaluations and the checkpoint as the framework wrote them; the source is untouched', () => {
    const { dir, features } = fastreidFolder('fr');
    const before = snapshot(dir);
    const r = cli('runs', 'import', dir, '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { runId: string; runDir: string; framework: string; checkpoint: { file: string; epoch: number } };
    expect(out.framework).toBe('fastreid');
    expect(out.runDir).toBe(join(runsDir, out.runId));
    expect(out.checkpoint).toEqual({ file: 'model_final.pth', epoch: 3 });
    expect(snapshot(dir)).toEqual(before);

    // Reference: fast-reid's metrics.json lines and its log's `epoch/iter: E/I` (E 0-based) for each iteration.
    const src = jsonl(join(dir, 'metrics.json'));
    const log = readFileSync(join(dir, 'log.txt'), 'utf8');
    const epochOf = new Map([...log.matchAll(/epoch\/iter: (\d+)\/(\d+)/g)].map((m) => [Number(m[2]), Number(m[1]) + 1]));
    const recs = jsonl(join(out.runDir, 'metrics.jsonl'));
    const steps = recs.filter((m) => m.type === 'step');
    // Records in the trainer's shape (the dashboard and Compare read them as a local run's).
    for (const m of recs) expect(trainEventSchema.safeParse(m).success, JSON.stringify(m)).toBe(true);
    const srcSteps = src.filter((m) => typeof m.loss_cls === 'number');
    expect(steps.length).toBe(srcSteps.length);
    srcSteps.forEach((s, i) => {
      const it = s.iteration as number;
      expect(steps[i]).toMatchObject({ step: it + 1, epoch: epochOf.get(it), loss: s.total_loss, ce: s.loss_cls, triplet: s.loss_triplet, lr: s.lr, acc: s.cls_accuracy, lossDict: { loss_cls: s.loss_cls, loss_triplet: s.loss_triplet } });
    });
    // Evaluations: metrics.json's (percent → fraction) at the epoch its iteration ends, then the final one,
    // which fast-reid's JSONWriter never writes (same iteration as the last line): its log table.
    const evals = recs.filter((m) => m.type === 'eval');
    const srcEvals = src.filter((m) => typeof m.mAP === 'number');
    const tables = [...log.matchAll(/\| Market1501 \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|/g)];
    expect(evals.length).toBe(tables.length);
    srcEvals.forEach((s, i) => {
      const e = evals[i]!;
      expect(e.epoch).toBe(epochOf.get(s.iteration as number));
      for (const [k, id] of [['Rank-1', 'rank1'], ['Rank-5', 'rank5'], ['Rank-10', 'rank10'], ['mAP', 'mAP'], ['mINP', 'mINP']] as const) expect(e[id]).toBeCloseTo((s[k] as number) / 100, 12);
    });
    const last = tables[tables.length - 1]!;
    expect(evals[evals.length - 1]).toMatchObject({ epoch: 3, rank1: Number(last[1]) / 100, rank5: Number(last[2]) / 100, rank10: Number(last[3]) / 100, mAP: Number(last[4]) / 100, mINP: Number(last[5]) / 100 });

    // The checkpoint is the run's weights: exported from the run and embedded, its features are fast-reid's.
    const exp = join(tmp, 'fr-export');
    const e = cli('export', join(out.runDir, 'graph.json'), '--format', 'pytorch', '--weights', out.runDir, '--out', exp);
    expect(e.status, e.stderr).toBe(0);
    const feats = join(tmp, 'fr-feats.json');
    const m = cli('embed', join(out.runDir, 'graph.json'), '--weights', join(exp, 'model.pth'), '--images', join(tmp, 'q4'), '--out', feats, '--progress', 'none');
    expect(m.status, m.stderr).toBe(0);
    const ours = (JSON.parse(readFileSync(feats, 'utf8')) as { features: number[][] }).features;
    const maxRef = Math.max(...features.flat().map(Math.abs));
    const diff = Math.max(...ours.flatMap((row, i) => row.map((v, j) => Math.abs(v - features[i]![j]!))));
    expect(ours.length).toBe(4);
    expect(diff).toBeLessThan(1e-4 * maxRef);
  }, 300_000);

  it('follows a folder still being written: a torn line waits, a new line and checkpoint arrive on the next read', async () => {
    const dir = join(tmp, 'live');
    cpSync(join(FIXTURES, 'fastreid-r18'), dir, { recursive: true });
    const lines = readFileSync(join(dir, 'metrics.json'), 'utf8').split('\n').filter(Boolean);
    // The trainer is mid-way: two lines complete, the third half written, no checkpoint yet.
    writeFileSync(join(dir, 'metrics.json'), lines.slice(0, 2).join('\n') + '\n' + lines[2]!.slice(0, 40));
    rmSync(join(dir, 'last_checkpoint'));
    const r = await importTrainingFolder(dir, runsDir);
    expect(r.steps).toBe(2);
    expect(r.skippedLines).toBe(0);
    expect(r.checkpoint).toBeNull();
    const info = () => JSON.parse(readFileSync(join(r.runDir, 'run.json'), 'utf8')) as { status: string; message: string; external: { lastChanged: string; source: string } };
    expect(info().status).toBe('external');
    expect(info().message).toBe('external: fast-reid');
    expect(info().external.source).toBe(dir);
    // The line completes, the checkpoint lands (mtime moves on).
    writeFileSync(join(dir, 'metrics.json'), lines.join('\n') + '\n');
    const feats = join(tmp, 'live.feats.json');
    execFileSync(PYTHON, [CKPT_PY, join(dir, 'model_final.pth'), '3', '12', '64', '32', feats, images[0]!], { stdio: 'ignore', timeout: 120_000 });
    writeFileSync(join(dir, 'last_checkpoint'), 'model_final.pth');
    const t = new Date(Math.ceil(Date.now() / 1000) * 1000 + 5000);
    const { utimesSync } = await import('node:fs');
    for (const f of ['metrics.json', 'model_final.pth', 'last_checkpoint']) utimesSync(join(dir, f), t, t);
    // The app evaluated the run meanwhile (Evaluate on…): that evaluation is not replaced by the framework's.
    const ours = { mAP: 0.5, rank1: 0.5, rank5: 0.6, rank10: 0.7, mINP: 0.4, epoch: 3 };
    writeFileSync(join(r.runDir, 'eval.json'), JSON.stringify(ours));
    expect(await syncExternalRun(r.runDir)).toBe(true);
    expect(JSON.parse(readFileSync(join(r.runDir, 'eval.json'), 'utf8'))).toEqual(ours);
    expect(jsonl(join(r.runDir, 'metrics.jsonl')).filter((m) => m.type === 'step').length).toBe(3);
    expect(readdirSync(r.runDir)).toContain('checkpoint');
    expect(info().external.lastChanged).toBe(t.toISOString());
    expect(await syncExternalRun(r.runDir)).toBe(false);
  }, 300_000);

  it('bad folders: one line each', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    await expect(importTrainingFolder(empty, runsDir)).rejects.toThrow(/not a fast-reid or reid-strong-baseline training folder: looked for config\.yaml .*"Running with config:"/);
    await expect(importTrainingFolder(join(tmp, 'nope'), runsDir)).rejects.toBeInstanceOf(ExternalImportError);
    // Unreadable complete lines are skipped and counted, never an error.
    const garbled = join(tmp, 'garbled');
    cpSync(join(FIXTURES, 'fastreid-r18'), garbled, { recursive: true });
    appendFileSync(join(garbled, 'metrics.json'), '{"iteration": 9, "loss_cls": \n not json\n');
    rmSync(join(garbled, 'last_checkpoint'));
    expect((await importTrainingFolder(garbled, runsDir)).skippedLines).toBe(2);
    // A config the app cannot model names the key.
    const osnet = join(tmp, 'osnet');
    cpSync(join(FIXTURES, 'fastreid-r18'), osnet, { recursive: true });
    writeFileSync(join(osnet, 'config.yaml'), readFileSync(join(osnet, 'config.yaml'), 'utf8').replace('build_resnet_backbone', 'build_osnet_backbone'));
    await expect(importTrainingFolder(osnet, runsDir)).rejects.toThrow(/cannot model this config: .*MODEL\.BACKBONE\.NAME/);
    // A checkpoint of another model (resnet18 config, a conv1 of another shape).
    const wrong = join(tmp, 'wrong');
    cpSync(join(FIXTURES, 'fastreid-r18'), wrong, { recursive: true });
    execFileSync(PYTHON, ['-c', `import torch; torch.save({'model': {'backbone.conv1.weight': torch.zeros(8, 3, 3, 3)}, 'epoch': 2}, ${JSON.stringify(join(wrong, 'model_final.pth'))})`], { stdio: 'ignore' });
    await expect(importTrainingFolder(wrong, runsDir)).rejects.toThrow(/model_final\.pth does not match .*config\.yaml: 1 tensor\(s\) have other shapes \(e\.g\. backbone\.conv1\.weight/);
  }, 300_000);
});

describe('reid-strong-baseline output folder (tools/train.py log)', () => {
  it('imports the Running-with-config block, the Epoch/Iteration lines and the Validation Results', async () => {
    const dir = join(tmp, 'rsb');
    cpSync(join(FIXTURES, 'rsb-r18'), dir, { recursive: true });
    const before = snapshot(dir);
    const r = await importTrainingFolder(dir, runsDir);
    expect(r.framework).toBe('rsb');
    expect(snapshot(dir)).toEqual(before);
    const log = readFileSync(join(dir, 'log.txt'), 'utf8');
    const lines = [...log.matchAll(/Epoch\[(\d+)\] Iteration\[(\d+)\/(\d+)\] Loss: ([\d.]+), Acc: ([\d.]+), Base Lr: ([\d.e+-]+)/g)];
    const steps = jsonl(join(r.runDir, 'metrics.jsonl')).filter((m) => m.type === 'step');
    expect(steps.map((s) => [s.epoch, s.iter, s.iters, s.loss, s.acc, s.lr])).toEqual(lines.map((m) => [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])]));
    expect(steps.map((s) => s.step)).toEqual(lines.map((m) => (Number(m[1]) - 1) * Number(m[3]) + Number(m[2])));
    const blocks = [...log.matchAll(/Validation Results - Epoch: (\d+)\n.*mAP: ([\d.]+)%\n.*Rank-1\s*:([\d.]+)%\n.*Rank-5\s*:([\d.]+)%\n.*Rank-10\s*:([\d.]+)%/g)];
    expect(blocks.length).toBe(3);
    const evals = jsonl(join(r.runDir, 'metrics.jsonl')).filter((m) => m.type === 'eval');
    expect(evals.map((e) => [e.epoch, e.mAP, e.rank1, e.rank5, e.rank10])).toEqual(blocks.map((b) => [Number(b[1]), Number(b[2]) / 100, Number(b[3]) / 100, Number(b[4]) / 100, Number(b[5]) / 100]));
    // The model and settings are the config's (MODEL.NAME resnet18, 3 epochs, IMS_PER_BATCH 16 = 4 × 4).
    const settings = JSON.parse(readFileSync(join(r.runDir, 'settings.json'), 'utf8')) as { epochs: number; batch: { p: number; k: number } };
    expect(settings.epochs).toBe(3);
    expect(settings.batch).toEqual({ p: 4, k: 4 });
    const rec = recognizeModel(parseDocument(readFileSync(join(r.runDir, 'graph.json'), 'utf8')));
    expect(rec.ok && rec.spec.depth).toBe('resnet18');
  }, 120_000);
});
