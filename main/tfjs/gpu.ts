/**
 * Why @tensorflow/tfjs-node-gpu can or cannot run here, in one screen (product.md #8: tfjs-node-gpu needs
 * an exact CUDA / cuDNN pair — tfjs #8362, #8505, #3727). tfjs-node-gpu 4.22 bundles libtensorflow 2.9.1
 * (scripts/deps-constants.js), which TensorFlow builds against CUDA 11.2 and cuDNN 8.1; it loads the
 * CUDA 11 runtime (libcudart.so.11.0) and cuDNN 8 (libcudnn.so.8) by soname, so a CUDA 12 / cuDNN 9
 * install is not picked up. CUDA 11.x needs an NVIDIA driver ≥ 450.80.02 on Linux (≥ 452.39 on Windows).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const GPU_REQUIREMENTS = {
  package: '@tensorflow/tfjs-node-gpu@4.22.0',
  libtensorflow: '2.9.1',
  cuda: '11.2',
  cudnn: '8.1',
  cudartSoname: 'libcudart.so.11.0',
  cudnnSoname: 'libcudnn.so.8',
  minDriver: { linux: '450.80.02', win32: '452.39' } as Record<string, string>,
};

export interface GpuDiagnosis {
  platform: string;
  gpus: { name: string; driver: string }[];
  cudaRuntimes: string[];
  cudnnLibraries: string[];
  requirements: typeof GPU_REQUIREMENTS;
  /** True when every requirement is met (the binding may still fail to load: see the backend report). */
  ready: boolean;
  problems: string[];
  fixes: string[];
}

function versionAtLeast(have: string, need: string): boolean {
  const a = have.split('.').map(Number);
  const b = need.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** `nvidia-smi --query-gpu=name,driver_version --format=csv,noheader` lines → GPUs. */
export function parseNvidiaSmi(out: string): { name: string; driver: string }[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.lastIndexOf(',');
      return { name: l.slice(0, i).trim(), driver: l.slice(i + 1).trim() };
    })
    .filter((g) => /^\d+(\.\d+)+$/.test(g.driver));
}

/** Library sonames from `ldconfig -p` output (or a list of file names) matching a prefix, e.g. libcudart.so. */
export function findSonames(listing: string, prefix: string): string[] {
  const re = new RegExp(`(${prefix.replace(/\./g, '\\.')}\\.[\\d.]+)`, 'g');
  return [...new Set([...listing.matchAll(re)].map((m) => m[1]!))].sort();
}

/** The diagnosis from raw facts (pure: tests feed real tool outputs). */
export function diagnose(platform: string, gpus: { name: string; driver: string }[], libs: string): GpuDiagnosis {
  const R = GPU_REQUIREMENTS;
  const cudaRuntimes = findSonames(libs, platform === 'win32' ? 'cudart64' : 'libcudart.so');
  const cudnnLibraries = findSonames(libs, platform === 'win32' ? 'cudnn64' : 'libcudnn.so');
  const problems: string[] = [];
  const fixes: string[] = [];
  if (platform === 'darwin') {
    problems.push('tfjs-node-gpu needs CUDA, which macOS does not have');
    fixes.push('use the TensorFlow CPU backend (@tensorflow/tfjs-node) or the WebAssembly backend on macOS');
    return { platform, gpus, cudaRuntimes, cudnnLibraries, requirements: R, ready: false, problems, fixes };
  }
  if (!gpus.length) {
    problems.push('no NVIDIA GPU / driver found (nvidia-smi is missing or lists no GPU)');
    fixes.push('install the NVIDIA driver for your GPU, then check with `nvidia-smi`');
  }
  const minDriver = R.minDriver[platform] ?? R.minDriver.linux!;
  for (const g of gpus)
    if (!versionAtLeast(g.driver, minDriver)) {
      problems.push(`driver ${g.driver} on ${g.name} is older than CUDA ${R.cuda} needs (≥ ${minDriver})`);
      fixes.push(`update the NVIDIA driver to ${minDriver} or newer`);
    }
  const cuda11 = cudaRuntimes.some((s) => /(\.so\.11|cudart64_11)/.test(s));
  if (!cuda11) {
    problems.push(`CUDA ${R.cuda} runtime (${R.cudartSoname}) not found${cudaRuntimes.length ? `; found ${cudaRuntimes.join(', ')}, which libtensorflow ${R.libtensorflow} does not load` : ''}`);
    fixes.push(`install the CUDA ${R.cuda} toolkit or runtime (it can sit next to a newer CUDA) and put its lib64 folder on ${platform === 'win32' ? 'PATH' : 'LD_LIBRARY_PATH'}`);
  }
  const cudnn8 = cudnnLibraries.some((s) => /(\.so\.8|cudnn64_8)/.test(s));
  if (!cudnn8) {
    problems.push(`cuDNN ${R.cudnn} (${R.cudnnSoname}) not found${cudnnLibraries.length ? `; found ${cudnnLibraries.join(', ')}` : ''}`);
    fixes.push(`install cuDNN ${R.cudnn} for CUDA 11.x and put it on ${platform === 'win32' ? 'PATH' : 'LD_LIBRARY_PATH'}`);
  }
  return { platform, gpus, cudaRuntimes, cudnnLibraries, requirements: R, ready: problems.length === 0, problems, fixes };
}

function libraryListing(platform: string): string {
  const parts: string[] = [];
  if (platform === 'linux') {
    try {
      parts.push(execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }));
    } catch {
      // ldconfig missing (containers): fall back to the folders below
    }
  }
  const dirs = [...(process.env[platform === 'win32' ? 'PATH' : 'LD_LIBRARY_PATH'] ?? '').split(delimiter), '/usr/local/cuda/lib64', '/usr/lib/x86_64-linux-gnu'];
  for (const d of dirs) {
    if (!d || !existsSync(d)) continue;
    try {
      parts.push(readdirSync(d).filter((f) => /cudart|cudnn/i.test(f)).join('\n'));
    } catch {
      // unreadable folder
    }
  }
  return parts.join('\n');
}

/** Looks at this machine: nvidia-smi, then the CUDA / cuDNN libraries the dynamic loader can see. */
export function diagnoseGpu(platform: string = process.platform): GpuDiagnosis {
  let gpus: { name: string; driver: string }[] = [];
  try {
    gpus = parseNvidiaSmi(execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }));
  } catch {
    gpus = [];
  }
  return diagnose(platform, gpus, libraryListing(platform));
}
