/**
 * The webgpu engine's infrastructure on this machine's real WebGPU stack: onnxruntime-node's bundled WebGPU
 * EP and Dawn's Node bindings over SwiftShader (Debian chromium's software Vulkan driver, through Debian's
 * Vulkan loader; .ci/run installs both, test/webgpu-env.ts points Vulkan at it).
 * - The adapter is SwiftShader (the driver the ICD file names) and is detected as SOFTWARE; its limits are
 *   at least the WebGPU spec's defaults.
 * - Without a Vulkan driver there is no adapter, with Dawn's reason.
 * - `auto` never picks a software adapter; `--backend webgpu` does.
 * - The smoke test (a convolution's forward and backward as ONNX graphs) equals the CPU engine's.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseEngine } from '../../main/onnx/policy.js';
import { INAPPLICABLE_ORT_TRANSFORMERS, ortSessionOptions } from '../../main/onnx/runtime.js';
import { adapterFrom, probeAdapter, softwareAdapterName, webgpuSmokeTest, webgpuStatus, type WebGpuLimits } from '../../main/onnx/webgpu.js';
import { webgpuError, webgpuErrorCode } from '../../main/onnx/webgpu-errors.js';
import { runSmokeTest } from '../../main/onnx/webgpu-smoke.js';
import { loadOnnxRuntime } from '../../main/onnx/runtime.js';
import { SWIFTSHADER_ICD, swiftShaderPresent, webgpuTestEnv } from '../webgpu-env.js';

/** The WebGPU spec's default limits ("Limits" table, gpuweb): an adapter supports at least these. */
const SPEC_DEFAULTS = { maxBufferSize: 268_435_456, maxStorageBufferBindingSize: 134_217_728, maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupStorageSize: 16_384, maxComputeInvocationsPerWorkgroup: 256 };

describe('WebGPU adapter (SwiftShader here)', () => {
  it('this machine has the Vulkan loader and SwiftShader (.ci/run installs libvulkan1 and chromium)', () => {
    expect(swiftShaderPresent).toBe(true);
  });

  it('names the adapter the ICD file points at and calls it software', async () => {
    const icd = JSON.parse(readFileSync(SWIFTSHADER_ICD, 'utf8')) as { ICD: { library_path: string } };
    expect(icd.ICD.library_path).toMatch(/swiftshader/i);
    const s = await webgpuStatus();
    expect(s).toMatchObject({ available: true, bundled: true, executionProvider: 'webgpu', uses: ['train', 'eval', 'embed', 'train-eval'] });
    expect(s.adapterSource).toMatch(/^webgpu 0\.6\.2 \(Dawn's Node bindings\)$/);
    expect(s.adapter).toMatchObject({ vendor: 'google', architecture: 'swiftshader', backend: 'vulkan', isSoftware: true, isFallbackAdapter: true, label: 'SwiftShader (software)' });
    expect(s.adapter!.driver).toMatch(/^SwiftShader driver \d/);
    for (const [k, min] of Object.entries(SPEC_DEFAULTS)) expect(s.adapter!.limits[k as keyof WebGpuLimits], k).toBeGreaterThanOrEqual(min);
    expect(s.environment.vars.VK_ICD_FILENAMES).toBe(SWIFTSHADER_ICD);
  });

  it('without a Vulkan driver there is no adapter, and Dawn says why', async () => {
    const p = await probeAdapter({ ...webgpuTestEnv(), VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect(p.adapter).toBeUndefined();
    expect(p.message).toMatch(/^no WebGPU adapter \(Vulkan\)/);
    expect(p.message).toMatch(/vkCreateInstance|driver/i);
  });

  it('software adapters by the names their drivers give (Mesa, Microsoft, Google); hardware ones are not', () => {
    // Mesa's llvmpipe deviceName (lavapipe reports itself so), a description naming lavapipe, WARP's adapter name.
    expect(softwareAdapterName({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: 'llvmpipe' })).toBe('llvmpipe');
    expect(softwareAdapterName({ vendor: 'mesa', architecture: '', device: '', description: 'lavapipe: Mesa 22.3.6 (LLVM 15.0.6)' })).toBe('lavapipe');
    expect(softwareAdapterName({ vendor: 'microsoft', device: 'Microsoft Basic Render Driver', description: 'D3D12 driver' })).toBe('WARP');
    expect(softwareAdapterName({ vendor: 'unknown', device: 'x', description: 'y', isFallbackAdapter: true })).toBe('a fallback (CPU) adapter');
    // NVIDIA's Vulkan driver reports driverName "NVIDIA" and its version; Dawn normalises the device name.
    expect(softwareAdapterName({ vendor: 'nvidia', architecture: 'hopper', device: 'nvidia-h100-80gb-hbm3', description: 'NVIDIA: 580.95.05', isFallbackAdapter: false })).toBeUndefined();
    const limits = { maxBufferSize: 2 ** 34, maxStorageBufferBindingSize: 2 ** 32 - 4, maxStorageBuffersPerShaderStage: 10, maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupsPerDimension: 65535 };
    expect(adapterFrom({ vendor: 'nvidia', architecture: 'hopper', device: 'nvidia-h100-80gb-hbm3', description: 'NVIDIA: 580.95.05' }, limits, 'linux')).toMatchObject({ isSoftware: false, label: 'NVIDIA H100 80GB HBM3 (Vulkan)', driver: 'NVIDIA: 580.95.05' });
    expect(adapterFrom({ vendor: 'apple', architecture: 'metal-3', device: 'Apple M2 Pro', description: 'Metal driver on macOS Version 14.5' }, limits, 'darwin').label).toBe('Apple M2 Pro (Metal)');
  });
});

describe('engine choice', () => {
  it('auto never picks a software adapter: the CPU engine runs, and says why webgpu did not', async () => {
    const d = await chooseEngine('auto', 'eval');
    expect(d.engine).toBe('onnxruntime');
    expect(d.candidates.map((c) => [c.engine, c.chosen])).toEqual([
      ['webgpu', false],
      ['onnxruntime', true],
    ]);
    expect(d.reason).toMatch(/webgpu skipped \(SwiftShader \(software\): a software adapter is never chosen automatically \(force it with --backend webgpu\)\)/);
  });

  it('--backend webgpu runs on the software adapter, saying so; training is not a webgpu job until its engine lands', async () => {
    const d = await chooseEngine('webgpu', 'embed');
    expect(d).toMatchObject({ engine: 'webgpu', forced: true });
    expect(d.reason).toMatch(/^forced with --backend webgpu: on SwiftShader \(software\) — a software adapter/);
    expect((await chooseEngine('wasm', 'eval')).engine).toBe('tfjs');
    expect((await chooseEngine('onnxruntime', 'eval')).engine).toBe('onnxruntime');
    await expect(chooseEngine('webgpu', 'train', { webgpuSupports: false })).rejects.toThrow(/^backend webgpu does not run training yet$/);
  });

  it('one set of session options for every session: the execution provider, threads, full optimisation', () => {
    expect(ortSessionOptions('cpu', { threads: 3 })).toMatchObject({ executionProviders: ['cpu'], intraOpNumThreads: 3, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    expect(ortSessionOptions('webgpu', { threads: 1, preferredLayout: 'NCHW', preferredOutputLocation: 'gpu-buffer' })).toMatchObject({ executionProviders: [{ name: 'webgpu', preferredLayout: 'NCHW' }], preferredOutputLocation: 'gpu-buffer' });
    expect(ortSessionOptions('webgpu', { profileFilePrefix: '/tmp/p' })).toMatchObject({ executionProviders: ['webgpu'], enableProfiling: true, profileFilePrefix: '/tmp/p' });
    // The transformers that cannot apply to float32 CNNs are off; spinning is off only when asked.
    expect(ortSessionOptions('cpu', { allowSpinning: false }).extra).toEqual({ optimization: { disable_specified_optimizers: INAPPLICABLE_ORT_TRANSFORMERS.join(';') }, session: { intra_op: { allow_spinning: '0' } } });
    expect(ortSessionOptions('cpu').extra).toEqual({ optimization: { disable_specified_optimizers: INAPPLICABLE_ORT_TRANSFORMERS.join(';') } });
  });
});

describe('smoke test', () => {
  it("a 3×3 stride-2 convolution's forward, input gradient and weight gradient on WebGPU equal the CPU engine's", async () => {
    const r = await webgpuSmokeTest();
    expect(r.message).toBeUndefined();
    expect(r.passed).toBe(true);
    expect(r.relativeDiff).toBeLessThanOrEqual(1e-4);
  }, 300_000);

  it('a WebGPU session that cannot be made fails the test with the runtime\'s words (never throws)', async () => {
    const { ort } = await loadOnnxRuntime();
    const r = await runSmokeTest(ort!, (ep) => (ep === 'webgpu' ? { executionProviders: [{ name: 'webgpu', bogusOption: '1' } as never] } : ortSessionOptions('cpu', { threads: 1 })));
    expect(r).toMatchObject({ passed: false });
    expect(r.message).toMatch(/^a WebGPU session failed: .*unrecognized option/);
  });
});

describe('WebGPU failures are one coded line', () => {
  it('device lost, out of memory, anything else', () => {
    // Dawn's "%s is lost." (dawn/native/Device.cpp), onnxruntime's device-lost log line, Vulkan's code.
    expect(webgpuErrorCode('[Device] is lost.')).toBe('E_GPU_DEVICE_LOST');
    expect(webgpuErrorCode('WebGPU device lost (2): Device was destroyed.')).toBe('E_GPU_DEVICE_LOST');
    expect(webgpuErrorCode('vkQueueSubmit failed with VK_ERROR_DEVICE_LOST')).toBe('E_GPU_DEVICE_LOST');
    expect(webgpuErrorCode('Out of memory while allocating a buffer of size 17179869184')).toBe('E_OUT_OF_MEMORY');
    expect(webgpuErrorCode('Failed to get a WebGPU adapter: No supported adapters')).toBe('E_WEBGPU_FAILED');
    const e = webgpuError(new Error('[Device] is lost.\n  at Queue::Submit'), 'computing features of images 1–16');
    expect(e.code).toBe('E_GPU_DEVICE_LOST');
    expect(e.message).toBe('the GPU device was lost while computing features of images 1–16 ([Device] is lost.); run again with --backend onnxruntime (CPU), or resume a training run on it');
    expect(e.message.includes('\n')).toBe(false);
  });
});
