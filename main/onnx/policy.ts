/**
 * The engine-choice policy, once for every kind of work (training, eval, embed, a run's evaluations):
 * - `auto`: a HARDWARE WebGPU adapter that passes the smoke test (webgpu-smoke.ts) → onnxruntime's CPU
 *   engine → tfjs. A software adapter (SwiftShader, llvmpipe, lavapipe, WARP) is never chosen
 *   automatically: it is slower than the CPU engine on the same cores. Nor is an adapter that cannot be
 *   named (the `webgpu` package absent), since it cannot be told from a software one.
 * - `webgpu`: forced; an error when onnxruntime-node lacks the WebGPU EP or Dawn finds no adapter.
 * - `onnxruntime`: onnxruntime's CPU engine, forced.
 * - a tfjs backend name: tfjs, forced.
 * Every candidate says why it was or was not chosen (`reid-studio backend`, run logs, JSON outputs).
 */
import { BackendError } from '../tfjs/choice.js';
import { onnxRuntimeStatus } from './runtime.js';
import { WEBGPU_ENGINE, WEBGPU_USES, webgpuSmokeTest, webgpuStatus, type WebGpuStatus } from './webgpu.js';

export const CPU_ENGINE = 'onnxruntime';
export type OnnxEngineKind = typeof WEBGPU_ENGINE | typeof CPU_ENGINE | 'tfjs';
/** The kinds of work an engine is chosen for (the `uses` entries of `reid-studio backend --json`). */
export type EngineWork = 'train' | 'eval' | 'embed' | 'train-eval';

export interface EngineCandidate {
  engine: OnnxEngineKind;
  chosen: boolean;
  /** Why it was chosen or passed over, in words. */
  why: string;
}

export interface EngineDecision {
  engine: OnnxEngineKind;
  forced: boolean;
  /** Why this engine, in one line (also says what was skipped and why). */
  reason: string;
  candidates: EngineCandidate[];
  /** The WebGPU status the decision read (absent when webgpu was not considered). */
  webgpu?: WebGpuStatus;
}

/**
 * Chooses the engine for `work` given the user's choice (`auto`, `webgpu`, `onnxruntime` or a tfjs backend
 * name). `auto` runs the WebGPU smoke test only when a hardware adapter is there (once per process).
 * Throws BackendError when `webgpu` is forced and cannot run here. A forced `onnxruntime` is checked by
 * its engine (as before). `webgpuSupports`: whether the caller's webgpu engine runs this work (training:
 * the webgpu training engine, when it exists).
 */
export async function chooseEngine(choice: string, work: EngineWork, opts: { webgpuSupports?: boolean } = {}): Promise<EngineDecision> {
  const supports = opts.webgpuSupports ?? WEBGPU_USES.some((u) => u.work === work);
  if (choice !== 'auto' && choice !== WEBGPU_ENGINE && choice !== CPU_ENGINE)
    return { engine: 'tfjs', forced: true, reason: `forced with --backend ${choice}`, candidates: [{ engine: 'tfjs', chosen: true, why: `forced with --backend ${choice}` }] };
  if (choice === CPU_ENGINE) return { engine: CPU_ENGINE, forced: true, reason: `forced with --backend ${CPU_ENGINE}`, candidates: [{ engine: CPU_ENGINE, chosen: true, why: `forced with --backend ${CPU_ENGINE}` }] };
  if (choice === WEBGPU_ENGINE) {
    if (!supports) throw new BackendError(`backend webgpu does not run ${work === 'train' ? 'training' : work} yet`);
    const status = await webgpuStatus();
    if (!status.available) throw new BackendError(`backend webgpu is not available: ${status.message}`);
    const on = status.adapter ? `on ${status.adapter.label}` : `on the adapter Dawn picks (${status.adapterSource})`;
    const why = `forced with --backend webgpu: ${on}${status.adapter?.isSoftware ? ' — a software adapter: slow, for testing' : ''}`;
    return { engine: WEBGPU_ENGINE, forced: true, reason: why, candidates: [{ engine: WEBGPU_ENGINE, chosen: true, why }], webgpu: status };
  }
  const candidates: EngineCandidate[] = [];
  let webgpu: WebGpuStatus | undefined;
  if (!supports) candidates.push({ engine: WEBGPU_ENGINE, chosen: false, why: `does not run ${work === 'train' ? 'training' : work} yet` });
  else {
    webgpu = await webgpuStatus();
    const a = webgpu.adapter;
    let why: string | undefined;
    if (!webgpu.available) why = webgpu.message!;
    else if (!a) why = `the adapter cannot be named (${webgpu.adapterSource}), so it cannot be told from a software one: not chosen automatically (force it with --backend webgpu)`;
    else if (a.isSoftware) why = `${a.label}: a software adapter is never chosen automatically (force it with --backend webgpu)`;
    else {
      const smoke = await webgpuSmokeTest();
      webgpu = { ...webgpu, smokeTest: smoke };
      if (!smoke.passed) why = `${a.label} failed the smoke test: ${smoke.message}`;
    }
    if (!why) {
      const reason = `fastest available: webgpu on ${webgpu.adapter!.label}, smoke test passed (3×3 convolution forward and backward equal to the CPU engine's)`;
      candidates.push({ engine: WEBGPU_ENGINE, chosen: true, why: reason });
      return { engine: WEBGPU_ENGINE, forced: false, reason, candidates, webgpu };
    }
    candidates.push({ engine: WEBGPU_ENGINE, chosen: false, why });
  }
  const skipped = `webgpu skipped (${candidates[0]!.why})`;
  const cpu = await onnxRuntimeStatus();
  if (cpu.available) {
    candidates.push({ engine: CPU_ENGINE, chosen: true, why: `onnxruntime-node ${cpu.version ?? ''} CPU, ${cpu.threads} thread(s)` });
    return { engine: CPU_ENGINE, forced: false, reason: `fastest available; ${skipped}`, candidates, ...(webgpu ? { webgpu } : {}) };
  }
  candidates.push({ engine: CPU_ENGINE, chosen: false, why: cpu.message ?? 'not available' });
  candidates.push({ engine: 'tfjs', chosen: true, why: 'the fallback' });
  return { engine: 'tfjs', forced: false, reason: `${skipped}; onnxruntime skipped (${cpu.message})`, candidates, ...(webgpu ? { webgpu } : {}) };
}
