/**
 * A full disk and a read-only run folder are the user's situation, never an internal error (issue #25):
 * `train` on a real tmpfs that fills up at a checkpoint, `export --format onnx` on a full disk, resume / eval /
 * export in a run folder that cannot be written (a read-only bind mount: the tests run as root, for whom
 * chmod a-w stops nothing), and run folders that are not folders (/dev/null, /proc/self, a file). Each is one
 * line `reid-studio: error: …` with exit 2, nothing half-written is left in place of a good file, and the run
 * stays resumable from its last good checkpoint. mount(8) needs root, as CI runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountTmpfs } from '../io/tmpfs.js';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'reid-fullro-'));
const data = join(home, 'demo');
const disk = join(home, 'disk'); // a 200 MiB tmpfs: one resnet18 checkpoint (128 MiB with Adam moments) fits, two do not
const small = join(home, 'small'); // a 1 MiB tmpfs
const ro = join(home, 'ro'); // the run folder, bind-mounted read-only
const env = { ...process.env, REID_STUDIO_HOME: home };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 300_000 });
const TRAIN = ['train', '--preset', 'resnet18', '--input', '64x32', '--data', data, '--batch', '4,2', '--backend', 'onnxruntime', '--warmup-epochs', '0', '--progress', 'none'];
const mounted: string[] = [];
const mount = (...args: string[]) => {
  execFileSync('mount', args);
  mounted.unshift(args[args.length - 1]!);
};

beforeAll(() => {
  mkdirSync(ro);
  mounted.push(disk, small);
  mountTmpfs(disk, '200m');
  mountTmpfs(small, '1m');
  expect(cli('demo-data', '--out', data, '--size', 'tiny').status).toBe(0);
});
afterAll(() => {
  for (const m of mounted) spawnSync('umount', [m]);
  rmSync(home, { recursive: true, force: true });
});

/** Exit 2 and exactly one line on stderr, `reid-studio: error: …` matching `re`. */
function userError(r: { status: number | null; stderr: string }, re: RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('reid-studio: features on'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^reid-studio: error: /);
  expect(lines[0]).toMatch(re);
  expect(r.status).toBe(2);
}

const run = join(disk, 'run');
const metrics = (dir: string): Record<string, unknown>[] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const leftovers = (dir: string) => readdirSync(dir).filter((n) => /\.tmp|tmp-/.test(n));

describe('a full disk during training and export', () => {
  it('train: the second checkpoint does not fit — E_DISK_FULL in one line, no temp folder, the first checkpoint intact and resumable', () => {
    const r = cli(...TRAIN, '--epochs', '3', '--out', run);
    userError(r, new RegExp(`^reid-studio: error: ${run}/checkpoint\\.tmp-[0-9a-f]+/tensors\\.bin: the disk is full \\(E_DISK_FULL\\)$`));
    expect(leftovers(run)).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(run, 'checkpoint', 'manifest.json'), 'utf8'));
    expect(statSync(join(run, 'checkpoint', 'tensors.bin')).size).toBeGreaterThan(100 * 2 ** 20);
    // The last good checkpoint is the one after epoch 1: its position is the first step of epoch 2.
    const stepsOfEpoch1 = metrics(run).filter((m) => m.type === 'step' && m.epoch === 1).length;
    expect(stepsOfEpoch1).toBeGreaterThan(0);
    expect(manifest.meta).toMatchObject({ epoch: 2, batch: 0, step: stepsOfEpoch1 });
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'))).toMatchObject({ status: 'failed', message: expect.stringMatching(/the disk is full/) });
  }, 300_000);

  it('export --format onnx on a full disk: E_DISK_FULL, the file it would replace unchanged, no temp file', () => {
    const out = join(small, 'model.onnx');
    writeFileSync(out, 'the earlier export');
    userError(cli('export', join(run, 'graph.json'), '--weights', run, '--format', 'onnx', '--out', out), new RegExp(`^reid-studio: error: ${out}: the disk is full \\(E_DISK_FULL\\)$`));
    expect(readFileSync(out, 'utf8')).toBe('the earlier export');
    expect(readdirSync(small)).toEqual(['model.onnx']);
    userError(cli('export', join(run, 'graph.json'), '--weights', run, '--format', 'pytorch', '--out', join(small, 'pt')), new RegExp(`cannot write ${small}/pt: the disk is full$`));
    expect(readdirSync(small)).toEqual(['model.onnx']);
  }, 300_000);
});

describe('a read-only run folder', () => {
  beforeAll(() => {
    mount('--bind', run, ro);
    execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
  });

  it('resume answers a user error naming the folder', () => {
    userError(cli('train', '--resume', ro, '--progress', 'none'), new RegExp(`^reid-studio: error: ${ro}: cannot write in the run folder: the file system is read-only \\(E_IO\\)$`));
  }, 120_000);

  it('eval computes everything, prints the metrics on stdout, then reports that the record could not be kept (exit 2)', () => {
    const text = cli('eval', ro, '--progress', 'none');
    expect(text.stdout).toMatch(/^mAP \d+\.\d\d% {2}rank-1 \d+\.\d\d% {2}rank-5 .*weights: checkpoint\)\n$/);
    userError(text, new RegExp(`^reid-studio: error: ${ro}/evals: the file system is read-only: the evaluation was not kept in the run \\(the metrics above are complete\\) \\(E_IO\\)$`));
    const json = cli('eval', ro, '--progress', 'none', '--json');
    expect(json.status).toBe(2);
    const e = JSON.parse(json.stdout);
    expect(e.mAP).toBeGreaterThanOrEqual(0);
    expect(e.cmc.length).toBeGreaterThan(10);
    expect(e.saveError).toEqual({ code: 'EROFS', message: `${ro}/evals: the file system is read-only` });
    expect(e.evalId).toBeUndefined();
    expect(existsSync(join(run, 'evals'))).toBe(false);
  }, 300_000);

  it('export into the read-only folder is refused; export from it (reading only) works', () => {
    userError(cli('export', join(ro, 'graph.json'), '--weights', ro, '--format', 'onnx', '--out', join(ro, 'm.onnx')), new RegExp(`${ro}/m\\.onnx: the file system is read-only \\(E_IO\\)$`));
    userError(cli('export', join(ro, 'graph.json'), '--weights', ro, '--format', 'tfjs', '--out', join(ro, 'tfjs')), new RegExp(`cannot write ${ro}/tfjs: the file system is read-only$`));
    const ok = cli('export', join(ro, 'graph.json'), '--weights', ro, '--format', 'onnx', '--out', join(home, 'm.onnx'));
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(statSync(join(home, 'm.onnx')).size).toBeGreaterThan(40 * 2 ** 20);
  }, 300_000);

  it('with room again, the run resumes from its last good checkpoint and completes', () => {
    execFileSync('umount', [ro]);
    mounted.splice(mounted.indexOf(ro), 1);
    execFileSync('mount', ['-o', 'remount,size=400m', disk]);
    const r = cli('train', '--resume', run, '--progress', 'none', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ runDir: run, status: 'completed' });
    const epochs = metrics(run).filter((m) => m.type === 'epoch').map((m) => m.epoch);
    expect(epochs).toEqual([1, 2, 3]);
  }, 300_000);
});

describe('a run folder that is not a folder for files', () => {
  it('train --out /dev/null, /proc/self, /proc/self/x (Node\'s recursive mkdir never returns there) and a file: one line, exit 2', () => {
    const file = join(home, 'file.txt');
    copyFileSync(join(data, 'reid-studio-demo.json'), file);
    userError(cli(...TRAIN, '--epochs', '1', '--out', '/dev/null'), /^reid-studio: error: \/dev\/null: is not a folder \(E_IO\)$/);
    userError(cli(...TRAIN, '--epochs', '1', '--out', '/proc/self'), /^reid-studio: error: \/proc\/self: cannot write in the run folder: the file system takes no new files here \(a kernel file system such as \/proc or \/sys\) \(E_IO\)$/);
    userError(cli(...TRAIN, '--epochs', '1', '--out', '/proc/self/x/y'), /^reid-studio: error: \/proc\/self\/x: the file system takes no new files here .*\(E_IO\)$/);
    userError(cli(...TRAIN, '--epochs', '1', '--out', file), new RegExp(`^reid-studio: error: ${file}: is not a folder \\(E_IO\\)$`));
    userError(cli(...TRAIN, '--epochs', '1', '--out', join(file, 'run')), new RegExp(`^reid-studio: error: ${file}: is not a folder \\(E_IO\\)$`));
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  }, 300_000);
});
