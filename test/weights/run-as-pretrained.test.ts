/**
 * A training run folder as pretrained weights (`train --weights RUN_DIR` / `RUN_DIR/best`, README: "RUN_DIR/best
 * is also accepted wherever a weights path is"): the run's checkpoint is planned exactly as the same run exported
 * to a `.pth` (`export --format pytorch`, the file reid-strong-baseline's load_param / PyTorch load) would be —
 * same tensors loaded, bit for bit, same keys skipped (the classifier). Cases: a fresh run (version-2
 * checkpoint, PyTorch layout) and its best/ checkpoint, and the version-1 fixture (tfjs slot layout, decoded with
 * the run's own graph.json). Before, `train --weights RUN/best` refused with "is a folder, not a file".
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, parseDocument } from '../../core/index.js';
import { planFileWeights } from '../../main/runs/store/run-weights.js';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const V1 = new URL('../fixtures/checkpoint-v1/run', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'reid-run-pretrained-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: tmp, timeout: 300_000, env: { ...process.env, REID_STUDIO_HOME: join(tmp, 'home') } });
const TINY = ['--preset', 'resnet18', '--demo', '--demo-size', 'tiny', '--input', '32x16', '--batch', '4,2', '--backend', 'onnxruntime', '--progress', 'none'];

const run = join(tmp, 'run');
beforeAll(() => {
  const r = cli('train', ...TINY, '--epochs', '1', '--eval-period', '1', '--out', run);
  expect(r.stderr.split('\n').filter((l) => l.includes('error'))).toEqual([]);
  expect(r.status).toBe(0);
}, 300_000);

async function samePlanAsExport(dir: string, graphOf: string) {
  const layers = analyze(parseDocument(readFileSync(join(graphOf, 'graph.json'), 'utf8')).graph).layers;
  const out = join(tmp, `export-${Math.random().toString(36).slice(2)}`);
  const e = cli('export', '--weights', dir, '--format', 'pytorch', '--out', out);
  expect(e.status, e.stderr).toBe(0);
  const [fromRun, fromPth] = [await planFileWeights(layers, dir), await planFileWeights(layers, join(out, 'model.pth'))];
  expect(fromRun.torch.size).toBeGreaterThan(20);
  expect([...fromRun.torch.keys()].sort()).toEqual([...fromPth.torch.keys()].sort());
  for (const [k, v] of fromPth.torch) expect(Buffer.from(fromRun.torch.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
  const skipped = (p: typeof fromRun) => p.report.skipped.map((s) => s.key).sort();
  expect(skipped(fromRun)).toEqual(skipped(fromPth));
  expect(skipped(fromRun)).toContain('classifier.weight');
  expect(fromRun.report.mismatched).toEqual([]);
}

describe('a run folder as pretrained weights', () => {
  it('RUN_DIR (version-2 checkpoint): the same tensors as its exported .pth', () => samePlanAsExport(run, run), 300_000);
  it('RUN_DIR/best: the same tensors as its exported .pth', () => samePlanAsExport(join(run, 'best'), run), 300_000);
  it('a version-1 run (tfjs slot layout): decoded with its own graph.json, the same tensors as its exported .pth', async () => {
    const v1 = join(tmp, 'v1');
    cpSync(V1, v1, { recursive: true });
    await samePlanAsExport(v1, v1);
  }, 300_000);

  it('train --weights RUN_DIR/best trains from it; a folder without a run checkpoint is one line', () => {
    const r = cli('train', ...TINY, '--epochs', '1', '--weights', join(run, 'best'), '--out', join(tmp, 'run2'));
    expect(r.stderr.split('\n').filter((l) => l.includes('error'))).toEqual([]);
    expect(r.status).toBe(0);
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    const bad = cli('train', ...TINY, '--epochs', '1', '--weights', empty, '--out', join(tmp, 'run3'));
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([`reid-studio: error: ${empty} is a folder without a run checkpoint (pass a training run folder or a .pth / .safetensors file)`]);
  }, 300_000);
});
