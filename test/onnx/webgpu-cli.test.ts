/**
 * The webgpu engine through the bundled CLI, as scripts run it, on SwiftShader (test/webgpu-env.ts gives the
 * child processes the environment; the app itself never sets it):
 * - `embed --backend webgpu` reproduces PyTorch's eval features (reference.py: RSB's resnet18, PIL-written
 *   images, RSB's test-time pre-processing) within 1e-4 · max|ref|, and says it ran on the software adapter;
 * - `backend --json` names the webgpu engine, its adapter (software, driver, limits) and why `auto` did not
 *   choose it; `backend --backend webgpu` runs the smoke test;
 * - the app's badge shows engine and adapter.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendBadge } from '../../renderer/src/training/backend-badge.js';
import { generateFixtures, maxDiff, readF32, type ParityCase } from '../parity/fixtures.js';
import { webgpuTestEnv } from '../webgpu-env.js';

const CLI = 'bin/reid-studio.js';
const env = webgpuTestEnv();
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 600_000, env });

const C: ParityCase = { id: 'w_r18', preset: 'resnet18', neck: 'bnneck', neckFeat: 'after', lastStride: 1, numClasses: 7, input: [64, 32], batch: 2, seed: 41, images: { size: [64, 32], names: ['a.png', 'b.png', 'c.png'] } };
let fx: ReturnType<typeof generateFixtures>;
beforeAll(() => {
  fx = generateFixtures([C]);
});
afterAll(() => fx?.cleanup());

describe('reid-studio on the webgpu engine (SwiftShader)', () => {
  it('embed --backend webgpu reproduces PyTorch eval features within 1e-4 · max|ref|', () => {
    const out = join(fx.dir, 'feats.json');
    const r = cli('embed', '--preset', 'resnet18', '--neck', 'bnneck', '--neck-feat', 'after', '--last-stride', '1', '--num-classes', '7', '--input', '64x32', '--weights', join(fx.dir, `${C.id}.pth`), '--images', join(fx.dir, `${C.id}.images`), '--out', out, '--backend', 'webgpu', '--batch-size', '2');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/features on webgpu · SwiftShader \(software\): forced with --backend webgpu/);
    const j = JSON.parse(readFileSync(out, 'utf8')) as { backend: string; engine: { name: string; reason: string }; features: number[][] };
    expect(j.backend).toBe('webgpu');
    const { diff, ref } = maxDiff(j.features.flat(), readF32(join(fx.dir, `${C.id}.images.expected.f32`)));
    console.log(`embed webgpu vs PyTorch: max|Δ| = ${diff.toExponential(2)}, max|ref| = ${ref.toFixed(3)}`);
    expect(ref).toBeGreaterThan(0.01);
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);
  }, 600_000);

  it('backend --json: the webgpu engine, its software adapter, and why auto trains and evaluates elsewhere', () => {
    const r = cli('backend', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.requested).toBe('auto');
    // Fields the README documents stay; webgpu and engines are added.
    expect(j).toMatchObject({ backend: expect.any(String), onnxruntime: { available: true, executionProvider: 'cpu' }, gpu: expect.any(Object) });
    expect(j.webgpu).toMatchObject({ available: true, bundled: true, executionProvider: 'webgpu', adapter: { architecture: 'swiftshader', isSoftware: true, label: 'SwiftShader (software)', backend: 'vulkan' } });
    expect(j.webgpu.adapter.limits.maxBufferSize).toBeGreaterThanOrEqual(268_435_456);
    expect(j.webgpu.smokeTest).toBeUndefined();
    expect(j.engines.eval).toMatchObject({ engine: 'onnxruntime', candidates: [{ engine: 'webgpu', chosen: false }, { engine: 'onnxruntime', chosen: true }] });
    expect(j.engines.eval.candidates[0].why).toMatch(/software adapter is never chosen automatically/);
    expect(j.engines.train.engine).toBe('onnxruntime');
    const text = cli('backend').stdout;
    expect(text).toMatch(/^webgpu: available \(onnxruntime WebGPU EP on SwiftShader \(software\)\)/m);
    expect(text).toMatch(/^ {2}limits: largest buffer [\d.]+ GiB, largest storage binding [\d.]+ GiB/m);
  }, 300_000);

  it('backend --backend webgpu runs the smoke test on the adapter', () => {
    const r = cli('backend', '--backend', 'webgpu', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.requested).toBe('webgpu');
    expect(j.webgpu.smokeTest).toMatchObject({ passed: true });
    expect(j.engines.eval).toMatchObject({ engine: 'webgpu' });
    expect(j.engines.eval.reason).toMatch(/^forced with --backend webgpu: on SwiftShader \(software\)/);
  }, 300_000);

  it("the app's badge names the engine and the adapter, a software one marked", () => {
    expect(backendBadge({ backend: 'webgpu', adapter: 'SwiftShader (software)' })).toMatchObject({ text: 'webgpu · SwiftShader (software)', warn: true });
    expect(backendBadge({ backend: 'webgpu', adapter: 'NVIDIA H100 80GB HBM3 (Vulkan)' })).toMatchObject({ text: 'webgpu · NVIDIA H100 80GB HBM3 (Vulkan)', warn: false });
  });
});
