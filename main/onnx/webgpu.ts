/**
 * The WebGPU engine: onnxruntime-node's bundled WebGPU execution provider (Dawn: Vulkan on Linux, Metal on
 * macOS, Direct3D 12 on Windows) — the GPU a user already has, with the drivers a desktop already has, no
 * CUDA, nothing downloaded.
 *
 * What it needs from the environment (honoured, never set by the app for its users):
 * - Linux: the Vulkan loader (`libvulkan.so.1`, Debian `libvulkan1`) and a Vulkan driver (ICD). The loader
 *   finds the ICDs itself; `VK_ICD_FILENAMES` / `VK_DRIVER_FILES` points it at one (this project's tests use
 *   SwiftShader from Debian's chromium: `/usr/lib/chromium/vk_swiftshader_icd.json`). Dawn wants a writable
 *   `XDG_RUNTIME_DIR` (it logs errors without one); a desktop session sets it.
 * - macOS / Windows: nothing beyond the OS.
 *
 * The adapter (vendor, architecture, device, driver, limits, software or not) is read with Dawn's own Node
 * bindings, the `webgpu` npm package (dawn-gpu/node-webgpu; prebuilt `dawn.node` for every OS inside the
 * npm package, no download at install): onnxruntime-node's binding exposes no adapter information, and its
 * logs name none. The probe asks for the same adapter onnxruntime's WebGPU context asks for (Dawn backend of
 * the platform, power preference high-performance: onnxruntime `core/providers/webgpu/webgpu_context.cc`)
 * and runs in a child Node process where it can (a driver that crashes or hangs cannot take the app along,
 * and Dawn's driver warnings stay out of the user's terminal; a 30 s limit), in-process in Electron (whose
 * packaged build has no run-as-node). The smoke test (webgpu-smoke.ts) then runs on onnxruntime itself.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type * as Ort from 'onnxruntime-node';
import { loadOnnxRuntime, ortSessionOptions } from './runtime.js';
import { firstLine } from './webgpu-errors.js';
import { runSmokeTest, type SmokeTestResult } from './webgpu-smoke.js';

export const WEBGPU_ENGINE = 'webgpu';
/** Dawn's Node bindings: the adapter report. */
export const WEBGPU_PACKAGE = 'webgpu';

/**
 * The work the webgpu engine does when chosen, one entry per kind (as ONNXRUNTIME_USES). Training joins
 * when the webgpu training engine (main/training/engine/engines.ts) lands.
 */
export const WEBGPU_USES: readonly { work: string; label: string }[] = [
  { work: 'train', label: 'training' },
  { work: 'eval', label: 'eval' },
  { work: 'embed', label: 'embed' },
  { work: 'train-eval', label: "a training run's evaluations" },
];

/** The adapter limits that size buffers and kernels (WebGPU `GPUSupportedLimits`, bytes where sizes). */
export interface WebGpuLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
}

export interface WebGpuAdapter {
  /** WebGPU `GPUAdapterInfo` as Dawn fills it: e.g. `nvidia` / `hopper` / device name / driver description. */
  vendor: string;
  architecture: string;
  device: string;
  /** Dawn's description: on Vulkan the driver's name and version ("SwiftShader driver 5.0.0", "NVIDIA: 580.…"). */
  description: string;
  /** The driver (= description: Dawn reports the driver there). */
  driver: string;
  /** Dawn's backend onnxruntime uses on this platform. */
  backend: 'vulkan' | 'metal' | 'd3d12';
  /** A CPU rasteriser (SwiftShader, llvmpipe, lavapipe, WARP): never chosen automatically. */
  isSoftware: boolean;
  /** Dawn's `isFallbackAdapter`. */
  isFallbackAdapter: boolean;
  limits: WebGpuLimits;
  /** One line for badges and logs: "NVIDIA H100 (Vulkan)", "SwiftShader (software)". */
  label: string;
}

export interface WebGpuEnvironment {
  platform: string;
  /** The environment variables that steer Vulkan / Dawn, as this process has them. */
  vars: Record<string, string>;
  /** What is missing or unusual, in words (e.g. no XDG_RUNTIME_DIR). */
  notes: string[];
}

export interface WebGpuStatus {
  /** onnxruntime-node loads, has the WebGPU EP, and a WebGPU adapter answers (or cannot be asked: no `webgpu` package). */
  available: boolean;
  executionProvider: 'webgpu';
  /** onnxruntime-node's binary bundles the WebGPU execution provider (`listSupportedBackends`). */
  bundled: boolean;
  adapter?: WebGpuAdapter;
  /** How the adapter was read: `webgpu <version> (Dawn's Node bindings)`, or why it could not be. */
  adapterSource: string;
  environment: WebGpuEnvironment;
  /** The smoke test's result (only when asked for: it compiles shaders). */
  smokeTest?: SmokeTestResult;
  /** Why unavailable, in one line. */
  message?: string;
  /** The work it does when chosen (WEBGPU_USES). */
  uses: string[];
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/**
 * Whether an adapter is a CPU rasteriser: Dawn's `isFallbackAdapter`, or a known software driver's name in
 * vendor / architecture / device / description (SwiftShader, Mesa's llvmpipe / lavapipe / softpipe,
 * Microsoft's WARP "Basic Render Driver"). Returns the name found, or undefined for hardware.
 */
export function softwareAdapterName(info: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }): string | undefined {
  const text = [info.architecture, info.device, info.description, info.vendor].filter(Boolean).join(' ');
  const m = text.match(SOFTWARE);
  if (m) {
    const n = m[0].toLowerCase();
    return n === 'swiftshader' ? 'SwiftShader' : n.startsWith('microsoft') || n === 'warp' ? 'WARP' : n;
  }
  return info.isFallbackAdapter ? 'a fallback (CPU) adapter' : undefined;
}

const BACKENDS: Record<string, WebGpuAdapter['backend']> = { linux: 'vulkan', darwin: 'metal', win32: 'd3d12' };
const BACKEND_LABEL: Record<WebGpuAdapter['backend'], string> = { vulkan: 'Vulkan', metal: 'Metal', d3d12: 'Direct3D 12' };

const VENDOR_NAMES: Record<string, string> = { nvidia: 'NVIDIA', amd: 'AMD', ati: 'AMD', intel: 'Intel', apple: 'Apple', qualcomm: 'Qualcomm', arm: 'Arm', google: 'Google', microsoft: 'Microsoft', mesa: 'Mesa' };

/**
 * Dawn gives `device` as a normalised name ("nvidia-h100-80gb-hbm3", "swiftshader-device-subzero-"):
 * words back, vendors spelled as they spell themselves, model numbers upper-cased. A name that is not
 * normalised is kept.
 */
function readable(s: string): string {
  if (!/^[a-z0-9-]+$/.test(s)) return s.trim();
  return s
    .split('-')
    .filter(Boolean)
    .map((w) => VENDOR_NAMES[w] ?? (/\d/.test(w) ? w.toUpperCase() : w[0]!.toUpperCase() + w.slice(1)))
    .join(' ');
}

/** The adapter record from Dawn's raw info and limits (pure: tests feed real adapters' values). */
export function adapterFrom(raw: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean }, limits: WebGpuLimits, platform: string = process.platform): WebGpuAdapter {
  const backend = BACKENDS[platform] ?? 'vulkan';
  const soft = softwareAdapterName(raw);
  const name = soft && soft.startsWith('a ') ? readable(raw.device || raw.architecture || raw.vendor) : (soft ?? (readable(raw.device) || [raw.vendor, raw.architecture].filter(Boolean).map(readable).join(' ') || 'unknown GPU'));
  return {
    vendor: raw.vendor,
    architecture: raw.architecture,
    device: raw.device,
    description: raw.description,
    driver: raw.description,
    backend,
    isSoftware: soft !== undefined,
    isFallbackAdapter: raw.isFallbackAdapter === true,
    limits,
    label: soft ? `${name} (software)` : `${name} (${BACKEND_LABEL[backend]})`,
  };
}

/** The Vulkan / Dawn environment of this process, and what looks missing. */
export function webgpuEnvironment(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): WebGpuEnvironment {
  const keys = ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_ADD_DRIVER_FILES', 'XDG_RUNTIME_DIR', 'DISPLAY', 'WAYLAND_DISPLAY'];
  const vars = Object.fromEntries(keys.filter((k) => env[k]).map((k) => [k, env[k]!]));
  const notes: string[] = [];
  if (platform === 'linux' && !env.XDG_RUNTIME_DIR) notes.push('XDG_RUNTIME_DIR is not set (Dawn logs errors without a writable one; a desktop session sets it)');
  return { platform, vars, notes };
}

/**
 * The probe's source, an ES module with `probe()` → the adapter's info and limits (or `{ info: null }`):
 * run by a child Node process, or imported from a data: URL in Electron.
 */
function probeSource(packageUrl: string, backend: string): string {
  return `
export async function probe() {
  const { create } = await import(${JSON.stringify(packageUrl)});
  const a = await create([${JSON.stringify(`backend=${backend}`)}]).requestAdapter({ powerPreference: 'high-performance' });
  if (!a) return { info: null };
  const i = a.info;
  const keys = ${JSON.stringify(LIMIT_KEYS)};
  return {
    info: { vendor: String(i.vendor ?? ''), architecture: String(i.architecture ?? ''), device: String(i.device ?? ''), description: String(i.description ?? ''), isFallbackAdapter: !!(i.isFallbackAdapter ?? a.isFallbackAdapter) },
    limits: Object.fromEntries(keys.map((k) => [k, Number(a.limits[k])])),
  };
}
`;
}

const LIMIT_KEYS: (keyof WebGpuLimits)[] = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension'];

interface ProbeResult {
  adapter?: WebGpuAdapter;
  source: string;
  message?: string;
}

const PROBE_TIMEOUT_MS = 30_000;

function packageVersion(req: NodeJS.Require): string | undefined {
  try {
    return (req(`${WEBGPU_PACKAGE}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Asks Dawn (the `webgpu` package) for the adapter onnxruntime would get. Never throws. */
export async function probeAdapter(env: NodeJS.ProcessEnv = process.env): Promise<ProbeResult> {
  const req = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = req.resolve(WEBGPU_PACKAGE);
  } catch {
    return { source: `the ${WEBGPU_PACKAGE} package (Dawn's Node bindings) is not installed: the adapter cannot be named` };
  }
  const source = `${WEBGPU_PACKAGE} ${packageVersion(req) ?? '?'} (Dawn's Node bindings)`;
  const backend = BACKENDS[process.platform] ?? 'vulkan';
  const code = probeSource(pathToFileURL(entry).href, backend);
  let out = '';
  let err = '';
  try {
    if (process.versions.electron) {
      // Packaged Electron has no run-as-node: probe in-process (asking for an adapter compiles nothing).
      const mod = (await import('data:text/javascript,' + encodeURIComponent(code))) as { probe(): Promise<unknown> };
      out = JSON.stringify(await mod.probe());
    } else {
      ({ out, err } = await childProbe(code + "\nprocess.stdout.write('\\n' + JSON.stringify(await probe()) + '\\n');\nsetTimeout(() => process.exit(0), 10);\n", env));
    }
  } catch (e) {
    return { source, message: `the adapter probe failed: ${firstLine(e)}` };
  }
  const line = out.trim().split('\n').pop() ?? '';
  let parsed: { info: null | { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean }; limits?: WebGpuLimits };
  try {
    parsed = JSON.parse(line);
  } catch {
    return { source, message: `the adapter probe failed: ${dawnMessage(err) ?? 'no answer'}` };
  }
  if (!parsed.info) return { source, message: `no WebGPU adapter (${BACKEND_LABEL[backend]})${dawnMessage(err) ? `: ${dawnMessage(err)}` : ''}` };
  return { source, adapter: adapterFrom(parsed.info, parsed.limits!) };
}

/**
 * Dawn's and the Vulkan loader's telling stderr lines, at most two ("loader_get_json: Failed to open JSON file
 * …; vkCreateInstance: Found no drivers!"): the first, and the instance failure when it comes later.
 */
function dawnMessage(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim().replace(/^Warning:\s*/, '')).filter((l) => l && !l.startsWith('at '));
  const picked = [lines[0], lines.find((l) => /no drivers|vkCreateInstance|VK_ERROR/.test(l))].filter((l): l is string => !!l);
  return picked.length ? [...new Set(picked)].join('; ').slice(0, 300) : undefined;
}

function childProbe(code: string, env: NodeJS.ProcessEnv): Promise<{ out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no answer from the GPU driver within ${PROBE_TIMEOUT_MS / 1000} s`));
    }, PROBE_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal && !out.trim()) reject(new Error(`the adapter probe was killed by ${signal}${dawnMessage(err) ? ` (${dawnMessage(err)})` : ''}`));
      else resolve({ out, err });
    });
  });
}

let probed: Promise<ProbeResult> | undefined;
let smoked: Promise<SmokeTestResult> | undefined;

/**
 * The smoke test on onnxruntime's WebGPU EP (cached per process). Never throws: a failure is a result.
 * On SwiftShader it takes seconds (shader compilation on the CPU).
 */
export async function webgpuSmokeTest(): Promise<SmokeTestResult> {
  return (smoked ??= (async () => {
    const { ort, status } = await loadOnnxRuntime();
    if (!ort) return { passed: false, message: `onnxruntime is not available: ${status.message}` };
    return runSmokeTest(ort, (ep) => ortSessionOptions(ep, { threads: 1 }));
  })());
}

/**
 * Whether the webgpu engine can run here: onnxruntime-node with the WebGPU EP bundled, and the adapter Dawn
 * gives (probed once per process). `smokeTest: true` also runs the smoke test. Never throws.
 */
export async function webgpuStatus(opts: { smokeTest?: boolean } = {}): Promise<WebGpuStatus> {
  const environment = webgpuEnvironment();
  const { ort, status } = await loadOnnxRuntime();
  const bundled = !!ort && supportsWebGpu(ort);
  const probe = await (probed ??= probeAdapter());
  const base = { executionProvider: 'webgpu' as const, bundled, adapterSource: probe.source, environment, uses: WEBGPU_USES.map((u) => u.work), ...(probe.adapter ? { adapter: probe.adapter } : {}) };
  if (!ort) return { ...base, available: false, message: `onnxruntime is not available: ${status.message}` };
  if (!bundled) return { ...base, available: false, message: `onnxruntime-node ${status.version ?? ''} has no WebGPU execution provider on ${process.platform}-${process.arch}` };
  if (probe.message) return { ...base, available: false, message: probe.message };
  const smokeTest = opts.smokeTest ? await webgpuSmokeTest() : undefined;
  return { ...base, available: true, ...(smokeTest ? { smokeTest } : {}) };
}

/** onnxruntime-node's `listSupportedBackends()` names `webgpu` as bundled. */
function supportsWebGpu(ort: typeof Ort): boolean {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends?.() ?? [];
  return list.some((b) => b.name === 'webgpu' && b.bundled);
}

/** Forgets the cached probe and smoke test (tests that change the environment). */
export function resetWebGpuStatus(): void {
  probed = undefined;
  smoked = undefined;
}
