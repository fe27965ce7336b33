/**
 * No silent wrong numbers from valid-looking files (issue #25): a BatchNorm running_var below 0 loaded as is
 * made `embed` write all-NaN features with exit 0. Statistics are checked for their domain (variance ≥ 0,
 * finite) at load, and a feature that turns non-finite anyway (weights whose activations overflow float32)
 * stops the command naming the image. The files are written by torch.save (make_statistics.py), and
 * PyTorch itself shows that each gives non-finite features (ref.json).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset } from '../../core/index.js';
import { assertFiniteWeights, NonFiniteWeightsError, planLoad, readCheckpoint } from '../../main/weights/index.js';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
let dir = '';
let ref: Record<string, boolean> = {};
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, REID_STUDIO_HOME: dir } });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-stats-'));
  execFileSync('/usr/bin/python3', [fileURLToPath(new URL('./make_statistics.py', import.meta.url)), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  ref = JSON.parse(readFileSync(join(dir, 'ref.json'), 'utf8'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('statistics outside their domain', () => {
  it('a negative running_var (PyTorch: NaN features) is flagged in the load report, not loaded, and refused', async () => {
    expect(ref['negvar.pth']).toBe(true);
    const { values, report } = planLoad(analyze(buildPreset('resnet18', { input: [64, 32] }).graph).layers, await readCheckpoint(join(dir, 'negvar.pth')));
    expect(report.nonFinite).toEqual([{ key: 'base.layer1.0.bn1.running_var', source: 'layer1.0.bn1.running_var', nan: 0, posInf: 0, negInf: 0, negative: 1, elements: 64 }]);
    expect(values.has('base.layer1.0.bn1/moving_variance')).toBe(false);
    expect(() => assertFiniteWeights(report, 'negvar.pth')).toThrow(NonFiniteWeightsError);
    expect(() => assertFiniteWeights(report, 'negvar.pth')).toThrow(/layer1\.0\.bn1\.running_var \(1 negative variances of 64 values\)/);
  });

  it('CLI embed refuses it in one line before writing anything', () => {
    const out = join(dir, 'negvar.json');
    const r = cli('embed', '--preset', 'resnet18', '--input', '64x32', '--weights', join(dir, 'negvar.pth'), '--images', join(dir, 'imgs'), '--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^reid-studio: error: .*layer1\.0\.bn1\.running_var.*negative variance.*\(E_NONFINITE_WEIGHTS\)\n$/);
    expect(existsSync(out)).toBe(false);
  });

  it('a feature that overflows float32 (finite weights, PyTorch: non-finite features) stops embed naming the image', () => {
    expect(ref['overflow.pth']).toBe(true);
    const out = join(dir, 'overflow.json');
    const r = cli('embed', '--preset', 'resnet18', '--input', '64x32', '--backend', 'cpu', '--allow-partial', '--weights', join(dir, 'overflow.pth'), '--images', join(dir, 'imgs'), '--out', out);
    expect(r.status).toBe(2);
    const errors = r.stderr.split('\n').filter((l) => l.includes('error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^reid-studio: error: the feature of .*imgs\/a\.png is not finite .*\(E_NONFINITE_FEATURES\)$/);
    expect(existsSync(out)).toBe(false);
  });
});
