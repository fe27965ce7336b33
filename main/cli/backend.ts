import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { parseEngineChoice, tfjsChoiceOf } from '../onnx/engine.js';
import { chooseEngine, type EngineDecision } from '../onnx/policy.js';
import { ONNXRUNTIME_USES, onnxRuntimeStatus } from '../onnx/runtime.js';
import { WEBGPU_USES, webgpuSmokeTest, webgpuStatus, type WebGpuStatus } from '../onnx/webgpu.js';
import { diagnoseGpu } from '../tfjs/gpu.js';
import { initBackend } from '../tfjs/index.js';
import { CliError } from './errors.js';

const GiB = (n: number) => `${(n / 2 ** 30).toFixed(n >= 2 ** 30 ? 1 : 2)} GiB`;

/** The webgpu lines of the text report. */
function webgpuLines(w: WebGpuStatus): string[] {
  const a = w.adapter;
  const lines = [
    w.available
      ? `webgpu: available (onnxruntime WebGPU EP${a ? ` on ${a.label}` : ''}); runs ${WEBGPU_USES.map((u) => u.label).join(', ')} when chosen`
      : `webgpu: not available (${w.message})`,
  ];
  if (a) {
    lines.push(`  adapter: ${a.label} — vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, device ${a.device || '?'}, driver ${a.driver || '?'}, ${a.backend}${a.isSoftware ? ', SOFTWARE (a CPU rasteriser: never chosen automatically)' : ', hardware'}`);
    lines.push(`  limits: largest buffer ${GiB(a.limits.maxBufferSize)}, largest storage binding ${GiB(a.limits.maxStorageBufferBindingSize)}, ${a.limits.maxStorageBuffersPerShaderStage} storage buffers per shader, workgroup storage ${a.limits.maxComputeWorkgroupStorageSize} B`);
  }
  lines.push(`  adapter read with ${w.adapterSource}`);
  if (w.smokeTest)
    lines.push(
      w.smokeTest.passed
        ? `  smoke test: passed (3×3 convolution forward, input and weight gradient equal to the CPU engine's: ${w.smokeTest.relativeDiff!.toExponential(1)} · max|cpu|, ${w.smokeTest.ms} ms)`
        : `  smoke test: FAILED — ${w.smokeTest.message}`,
    );
  else if (w.available) lines.push('  smoke test: not run (software adapter; `reid-studio backend --backend webgpu` runs it)');
  for (const n of w.environment.notes) lines.push(`  note: ${n}`);
  return lines;
}

function decisionLine(work: string, d: EngineDecision): string {
  return `  ${work.padEnd(6)} → ${d.engine}: ${d.candidates.map((c) => `${c.chosen ? '*' : '-'} ${c.engine}: ${c.why}`).join('; ')}`;
}

/**
 * `backend [--backend NAME] [--json]`: the tfjs backend, onnxruntime's CPU engine, the webgpu engine (adapter,
 * limits, smoke test), which engine trains and which evaluates and why, and the tfjs-node-gpu check.
 */
export async function backendCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { backend: { type: 'string' }, json: { type: 'boolean' } } });
  let choice;
  try {
    choice = parseEngineChoice(values.backend);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  let report;
  try {
    report = await initBackend(tfjsChoiceOf(choice));
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const gpu = diagnoseGpu();
  const onnxruntime = await onnxRuntimeStatus();
  let webgpu = await webgpuStatus();
  // The smoke test compiles shaders: run it where auto would (a hardware adapter) or when webgpu is asked for.
  if (webgpu.available && (choice === 'webgpu' || (webgpu.adapter && !webgpu.adapter.isSoftware))) webgpu = { ...webgpu, smokeTest: await webgpuSmokeTest() };
  const decide = async (work: 'train' | 'eval') => {
    try {
      const d = await chooseEngine(choice, work, { webgpuSupports: WEBGPU_USES.some((u) => u.work === work) });
      return { engine: d.engine === 'tfjs' ? report.backend : d.engine, reason: d.reason, candidates: d.candidates.map((c) => (c.engine === 'tfjs' ? { ...c, engine: report.backend } : c)) };
    } catch (e) {
      return { engine: null, reason: (e as Error).message, candidates: [] };
    }
  };
  const engines = { train: await decide('train'), eval: await decide('eval') };
  if (values.json) {
    // `requested` is what --backend asked for (an engine name included), not the tfjs backend choice it implies.
    process.stdout.write(JSON.stringify({ ...report, requested: choice, gpu, onnxruntime, webgpu, engines }, null, 2) + '\n');
    return;
  }
  const lines = [`backend: ${report.backend}${report.gpuFallback ? ' — ON THE CPU (no GPU device)' : ''} (${report.reason})`];
  for (const a of report.attempts) lines.push(`  ${a.status === 'selected' ? '*' : ' '} ${a.name.padEnd(15)} ${a.status.padEnd(13)} ${a.package}${a.message ? ` — ${a.message.split('\n')[0]}` : ''}`);
  for (const n of report.notes) lines.push(`  note: ${n}`);
  const work = ONNXRUNTIME_USES.map((u) => u.label).join(', ');
  lines.push(
    onnxruntime.available
      ? `onnxruntime: available (${onnxruntime.package} ${onnxruntime.version}, CPU, ${onnxruntime.threads} threads): intra-op threads = ${onnxruntime.threads === availableParallelism() ? `the ${availableParallelism()} cores` : `${onnxruntime.threads} of ${availableParallelism()} cores (REID_STUDIO_ORT_THREADS)`}; runs ${work}${onnxruntime.uses.includes('train') ? '' : `; training runs on ${report.backend}`}`
      : `onnxruntime: not available (${onnxruntime.message}): ${work} run on ${report.backend}`,
  );
  lines.push(...webgpuLines(webgpu));
  lines.push(`engines (${choice}):`);
  for (const [k, d] of Object.entries(engines)) lines.push(d.engine ? decisionLine(k, d as unknown as EngineDecision) : `  ${k.padEnd(6)} → none: ${d.reason}`);
  lines.push('', `GPU (${gpu.requirements.package}: libtensorflow ${gpu.requirements.libtensorflow}, CUDA ${gpu.requirements.cuda}, cuDNN ${gpu.requirements.cudnn}):`);
  lines.push(`  GPUs: ${gpu.gpus.length ? gpu.gpus.map((g) => `${g.name} (driver ${g.driver})`).join(', ') : 'none found'}`);
  lines.push(`  CUDA runtimes: ${gpu.cudaRuntimes.join(', ') || 'none found'}; cuDNN: ${gpu.cudnnLibraries.join(', ') || 'none found'}`);
  if (gpu.ready) lines.push('  ready for tfjs-node-gpu');
  for (const p of gpu.problems) lines.push(`  problem: ${p}`);
  for (const f of gpu.fixes) lines.push(`  fix: ${f}`);
  process.stdout.write(lines.join('\n') + '\n');
}
