/**
 * A run whose checkpoint holds NaN (a damaged tensors.bin) or a negative BatchNorm variance: `export`, `embed`
 * and `eval --weights RUN` refuse it in one line naming the tensors (E_NONFINITE_WEIGHTS, as pretrained files
 * are refused) — not an ONNX / PyTorch file of NaN weights written with exit 0. The run is the version-1
 * fixture (test/fixtures/checkpoint-v1, a real run folder) with one weight tensor overwritten, as a disk would.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const FIXTURE = new URL('../fixtures/checkpoint-v1/run', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'reid-run-nonfinite-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, REID_STUDIO_HOME: join(tmp, 'home') } });

/** A copy of the fixture run with `fill` written over the first tensor whose manifest name matches `pick`. */
function damaged(name: string, pick: RegExp, fill: number): { run: string; tensor: string } {
  const run = join(tmp, name);
  cpSync(FIXTURE, run, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(run, 'checkpoint', 'manifest.json'), 'utf8'));
  const tensor = Object.keys(manifest.tensors).find((k) => pick.test(k))!;
  const { offset, length } = manifest.tensors[tensor];
  const bin = readFileSync(join(run, 'checkpoint', 'tensors.bin'));
  new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4).fill(fill, offset, offset + length);
  writeFileSync(join(run, 'checkpoint', 'tensors.bin'), bin);
  return { run, tensor };
}

describe('a run checkpoint with invalid weights', () => {
  it('NaN in a conv weight: export (onnx, pytorch) and embed refuse, naming the tensor, and write nothing', () => {
    const { run } = damaged('nan', /^w:.*kernel$/, Number.NaN);
    for (const format of ['onnx', 'pytorch']) {
      const out = join(tmp, format === 'onnx' ? 'nan.onnx' : 'nan-pytorch');
      const r = cli('export', '--weights', run, '--format', format, '--out', out);
      expect(r.stderr).toMatch(/^reid-studio: error: .*the run checkpoint in .* is damaged: 1 tensor\(s\) hold NaN \/ ±Inf or a negative variance \(\S+\)\n$/);
      expect(r.status).toBe(2);
      expect(existsSync(out)).toBe(false);
    }
    const img = join(tmp, 'imgs');
    expect(cli('demo-data', '--out', img, '--size', 'tiny').status).toBe(0);
    const e = cli('embed', '--weights', run, '--images', join(img, 'query'), '--out', join(tmp, 'f.npy'));
    expect(e.stderr).toMatch(/is damaged: 1 tensor\(s\)/);
    expect(e.status).toBe(2);
  }, 480_000);

  it('a negative BatchNorm running variance is refused too; the undamaged fixture exports', () => {
    const { run } = damaged('negvar', /moving_variance$/, -1);
    const r = cli('export', '--weights', run, '--format', 'onnx', '--out', join(tmp, 'negvar.onnx'));
    expect(r.stderr).toMatch(/is damaged: 1 tensor\(s\) hold NaN \/ ±Inf or a negative variance \(.*(running_var|moving_variance)\)/);
    expect(r.status).toBe(2);
    const ok = cli('export', '--weights', FIXTURE, '--format', 'onnx', '--out', join(tmp, 'ok.onnx'));
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
  }, 480_000);
});
