/**
 * The one place tests give WebGPU its environment: SwiftShader, the software Vulkan driver inside Debian's
 * `chromium` package, through the Vulkan loader (Debian `libvulkan1`; both installed by .ci/run), and a
 * private writable XDG_RUNTIME_DIR (Dawn logs errors without one). The app never sets these for its users
 * (main/onnx/webgpu.ts honours what the environment has); tests set them so `npm test` exercises the webgpu
 * engine on a clean CI machine. A variable already set (a machine with a real GPU) is kept.
 *
 * Import it before anything creates a WebGPU session or probes the adapter: onnxruntime's Dawn instance and
 * the Vulkan loader read the environment once.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];

/** Whether this machine has what WebGPU-on-SwiftShader needs (Linux, the Vulkan loader, chromium's ICD). */
export const swiftShaderPresent = process.platform === 'linux' && existsSync(SWIFTSHADER_ICD) && LOADERS.some((p) => existsSync(p));

/** Sets the environment (idempotent); returns the variables it set. */
export function useWebGpuTestEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const set: Record<string, string> = {};
  if (process.platform !== 'linux') return set;
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && swiftShaderPresent) set.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  if (!env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `reid-studio-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    set.XDG_RUNTIME_DIR = dir;
  }
  Object.assign(env, set);
  return set;
}

/** A copy of `env` with the WebGPU test environment (for CLI child processes). */
export function webgpuTestEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  useWebGpuTestEnv(copy);
  return copy;
}

useWebGpuTestEnv();
