import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ONNXRUNTIME_USES, onnxRuntimeStatus } from '../onnx/runtime.js';
import { diagnoseGpu } from '../tfjs/gpu.js';
import { initBackend, parseBackendChoice } from '../tfjs/index.js';
import { CliError } from './errors.js';

/** `backend [--backend NAME] [--json]`: the tfjs backend training would use, why faster ones were skipped, and the GPU check. */
export async function backendCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { backend: { type: 'string' }, json: { type: 'boolean' } } });
  let choice;
  try {
    choice = parseBackendChoice(values.backend);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  let report;
  try {
    report = await initBackend(choice);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const gpu = diagnoseGpu();
  const onnxruntime = await onnxRuntimeStatus();
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...report, gpu, onnxruntime }, null, 2) + '\n');
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
  lines.push('', `GPU (${gpu.requirements.package}: libtensorflow ${gpu.requirements.libtensorflow}, CUDA ${gpu.requirements.cuda}, cuDNN ${gpu.requirements.cudnn}):`);
  lines.push(`  GPUs: ${gpu.gpus.length ? gpu.gpus.map((g) => `${g.name} (driver ${g.driver})`).join(', ') : 'none found'}`);
  lines.push(`  CUDA runtimes: ${gpu.cudaRuntimes.join(', ') || 'none found'}; cuDNN: ${gpu.cudnnLibraries.join(', ') || 'none found'}`);
  if (gpu.ready) lines.push('  ready for tfjs-node-gpu');
  for (const p of gpu.problems) lines.push(`  problem: ${p}`);
  for (const f of gpu.fixes) lines.push(`  fix: ${f}`);
  process.stdout.write(lines.join('\n') + '\n');
}
