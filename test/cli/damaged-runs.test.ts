import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * What a user meets with a refused flag or a run folder that lost a file: one line, exit 2, nothing left behind,
 * and never the app's defaults silently standing in for what the run recorded (settings.json, graph.json).
 */

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'reid-cli-damaged-'));
const env = { ...process.env, REID_STUDIO_HOME: home };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 600_000 });
// Copies of a run hold its checkpoint (≈130 MB each): the folder goes when the file is done.
afterAll(() => rmSync(home, { recursive: true, force: true }));
const SMALL = ['--preset', 'resnet18', '--input', '64x32', '--demo', '--demo-size', 'tiny', '--batch', '4,4', '--backend', 'onnxruntime'];

/** exit 2 and one line on stderr matching `message`. */
function refused(r: ReturnType<typeof cli>, message: RegExp) {
  expect([r.status, r.stderr.trim().split('\n').length], r.stderr).toEqual([2, 1]);
  expect(r.stderr).toMatch(message);
}

/** A real run stopped by Ctrl-C after its first steps: status stopped, a checkpoint, resumable. */
function stoppedRun(out: string): Promise<number | null> {
  const child = spawn(process.execPath, [BIN, 'train', ...SMALL, '--epochs', '2', '--out', out, '--progress', 'lines'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/epoch 1 2\/\d+/.test(err) && !child.killed) child.kill('SIGINT');
    });
    child.on('close', (code) => resolve(code));
  });
}

describe('a refused train flag leaves no run folder and no run.lock', () => {
  it.each([['--micro-batch', '0'], ['--micro-batch', 'NaN']])('train --out R %s %s', (flag, value) => {
    const out = join(home, `refused-${value}`);
    refused(cli('train', ...SMALL, '--epochs', '1', '--out', out, flag, value), /--micro-batch must be a whole number ≥ 1/);
    expect(existsSync(out)).toBe(false);
    // A folder the user made (holding their file) keeps exactly what it held.
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    refused(cli('train', ...SMALL, '--epochs', '1', '--out', out, flag, value), /--micro-batch/);
    expect(readdirSync(out)).toEqual(['notes.txt']);
  }, 120_000);
});

it('train --resume of a path that does not exist says so (not "not a run folder")', () => {
  const gone = join(home, 'no-such-run');
  refused(cli('train', '--resume', gone), new RegExp(`^reid-studio: error: ${gone} does not exist \\(no such run folder\\)\n$`));
  expect(existsSync(gone)).toBe(false);
});

describe('a run folder that lost a file', () => {
  const run = join(home, 'stopped');
  let trained: Promise<number | null> | undefined;
  const stopped = () => (trained ??= stoppedRun(run));

  it.each([
    ['missing', null],
    ['not JSON', '{"epochs": 2, "batch'],
    ['an empty object', '{}'],
  ])('train --resume with settings.json %s is refused (not resumed on the default settings)', async (_what, text) => {
    expect(await stopped()).toBe(130);
    const copy = join(home, `settings-${_what.replace(/\W/g, '')}`);
    cpSync(run, copy, { recursive: true });
    if (text === null) rmSync(join(copy, 'settings.json'));
    else writeFileSync(join(copy, 'settings.json'), text);
    const before = readFileSync(join(copy, 'metrics.jsonl'), 'utf8');
    refused(cli('train', '--resume', copy), /cannot resume: its settings\.json is (missing or not valid JSON|damaged \(no epochs, batch, optimizer, schedule\)), so the run's own training settings are lost/);
    expect(JSON.parse(readFileSync(join(copy, 'run.json'), 'utf8')).status).toBe('stopped');
    expect(readFileSync(join(copy, 'metrics.jsonl'), 'utf8')).toBe(before);
    expect(existsSync(join(copy, 'run.lock'))).toBe(false);
  }, 600_000);

  it('embed / export --weights RUN_DIR without graph.json names the missing graph, not a shape mismatch with the default preset', async () => {
    expect(await stopped()).toBe(130);
    const copy = join(home, 'no-graph');
    cpSync(run, copy, { recursive: true });
    rmSync(join(copy, 'graph.json'));
    const images = join(home, 'demo-tiny');
    expect(cli('demo-data', '--out', images, '--size', 'tiny').status).toBe(0);
    const message = /is a run folder without its graph\.json, so its model is unknown: name the graph it trained \(GRAPH\.json or --preset NAME …\)/;
    refused(cli('embed', '--weights', copy, '--images', join(images, 'query'), '--out', join(home, 'f.npy')), message);
    refused(cli('export', '--weights', copy, '--format', 'onnx', '--out', join(home, 'm.onnx')), message);
    expect(existsSync(join(home, 'f.npy'))).toBe(false);
    expect(existsSync(join(home, 'm.onnx'))).toBe(false);
    // Naming the graph it trained still works.
    const r = cli('embed', '--preset', 'resnet18', '--input', '64x32', '--num-classes', '12', '--weights', copy, '--images', join(images, 'query'), '--out', join(home, 'f.npy'), '--backend', 'onnxruntime', '--progress', 'none');
    expect(r.status, r.stderr).toBe(0);
  }, 600_000);
});
