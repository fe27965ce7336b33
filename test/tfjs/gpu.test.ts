import { describe, expect, it } from 'vitest';
import { diagnose, diagnoseGpu, findSonames, parseNvidiaSmi } from '../../main/tfjs/gpu.js';
import { backendDevice, describeBackend, type BackendReport } from '../../main/tfjs/backend.js';
import { backendBadge } from '../../renderer/src/training/backend-badge.js';

// Outputs in the formats the tools print (nvidia-smi CSV query, glibc `ldconfig -p`).
const SMI = 'NVIDIA GeForce RTX 3090, 535.104.05\nTesla T4, 418.67\n';
const LDCONFIG_CUDA11 = `1234 libs found in cache \`/etc/ld.so.cache'
	libcudnn.so.8 (libc6,x86-64) => /usr/local/cuda-11.2/lib64/libcudnn.so.8
	libcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda-11.2/lib64/libcudart.so.11.0
	libc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6`;
const LDCONFIG_CUDA12 = `	libcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9
	libcudart.so.12 (libc6,x86-64) => /usr/local/cuda-12.4/lib64/libcudart.so.12`;

describe('GPU diagnosis for tfjs-node-gpu (libtensorflow 2.9.1: CUDA 11.2 + cuDNN 8.1)', () => {
  it('parses nvidia-smi and the loader cache', () => {
    expect(parseNvidiaSmi(SMI)).toEqual([
      { name: 'NVIDIA GeForce RTX 3090', driver: '535.104.05' },
      { name: 'Tesla T4', driver: '418.67' },
    ]);
    expect(findSonames(LDCONFIG_CUDA11, 'libcudart.so')).toEqual(['libcudart.so.11.0']);
    expect(findSonames(LDCONFIG_CUDA11, 'libcudnn.so')).toEqual(['libcudnn.so.8']);
  });

  it('ready with a recent driver, CUDA 11 runtime and cuDNN 8', () => {
    const d = diagnose('linux', [{ name: 'NVIDIA GeForce RTX 3090', driver: '535.104.05' }], LDCONFIG_CUDA11);
    expect(d.ready).toBe(true);
    expect(d.problems).toEqual([]);
  });

  it('explains a CUDA 12 / cuDNN 9 machine: found versus needed, with the fix', () => {
    const d = diagnose('linux', [{ name: 'NVIDIA GeForce RTX 3090', driver: '550.54.14' }], LDCONFIG_CUDA12);
    expect(d.ready).toBe(false);
    expect(d.problems.join('\n')).toMatch(/libcudart\.so\.11\.0\) not found; found libcudart\.so\.12/);
    expect(d.problems.join('\n')).toMatch(/cuDNN 8\.1 \(libcudnn\.so\.8\) not found; found libcudnn\.so\.9/);
    expect(d.fixes.join('\n')).toMatch(/install the CUDA 11\.2 toolkit/);
  });

  it('an old driver, no GPU, and macOS are each named', () => {
    expect(diagnose('linux', [{ name: 'Tesla T4', driver: '418.67' }], LDCONFIG_CUDA11).problems.join()).toMatch(/older than CUDA 11\.2 needs \(≥ 450\.80\.02\)/);
    expect(diagnose('linux', [], LDCONFIG_CUDA11).problems.join()).toMatch(/no NVIDIA GPU/);
    expect(diagnose('darwin', [], '').problems.join()).toMatch(/macOS/);
  });

  it('looks at this machine without throwing', () => {
    const d = diagnoseGpu();
    expect(d.platform).toBe(process.platform);
    expect(d.ready).toBe(d.problems.length === 0);
  });
});

describe('tfjs-node-gpu silently on the CPU', () => {
  // tfjs-node's NodeJSKernelBackend sets isGPUPackage / isUsingGpuDevice (binding.isUsingGpuDevice()).
  it('is flagged when TensorFlow lists no GPU device, with the reason', () => {
    const why = () => diagnose('linux', [{ name: 'NVIDIA GeForce RTX 3090', driver: '550.54.14' }], LDCONFIG_CUDA12).problems[0];
    const d = backendDevice('tensorflow-gpu', { isGPUPackage: true, isUsingGpuDevice: false }, why);
    expect(d.device).toBe('cpu');
    expect(d.gpuFallback).toBe(
      '@tensorflow/tfjs-node-gpu is running on the CPU: TensorFlow sees no GPU device (CUDA 11.2 runtime (libcudart.so.11.0) not found; found libcudart.so.12, which libtensorflow 2.9.1 does not load); training is no faster than tfjs-node',
    );
    const r: BackendReport = { backend: 'tensorflow-gpu', tfjsBackend: 'tensorflow', requested: 'auto', reason: 'fastest available', attempts: [], notes: [], ...d };
    expect(describeBackend(r)).toContain('is running on the CPU');
    // The app's backend badge (from the training process' start event) says so, with the reason as its tooltip.
    expect(backendBadge({ backend: r.backend, device: r.device, backendWarning: r.gpuFallback! })).toEqual({ text: 'tensorflow-gpu · on the CPU', title: d.gpuFallback, warn: true });
  });

  it('a GPU device, tfjs-node and wasm are not flagged', () => {
    expect(backendDevice('tensorflow-gpu', { isGPUPackage: true, isUsingGpuDevice: true })).toEqual({ device: 'gpu' });
    expect(backendDevice('tensorflow', { isGPUPackage: false, isUsingGpuDevice: false })).toEqual({ device: 'cpu' });
    expect(backendDevice('wasm', {})).toEqual({ device: 'cpu' });
    expect(backendBadge({ backend: 'tensorflow-gpu', device: 'gpu' })).toMatchObject({ text: 'tensorflow-gpu', warn: false });
    expect(backendBadge({ backend: 'wasm', device: 'cpu' })).toMatchObject({ text: 'wasm', warn: false });
  });
});
