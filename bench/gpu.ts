/**
 * The webgpu engine on the GPU, side by side in ONE run with PyTorch on the same GPU (issue 20): eval-mode
 * images/s of the app's feature path (the lowered ONNX graph on onnxruntime's WebGPU EP, NHWC→NCHW and the
 * features copied back, as `eval` / `embed` run it) and training images/s (the webgpu training engine's
 * one-program step, state resident on the GPU: `bench/_gpu-train.ts`; P×K = 4×4, SGD, CE with label smoothing
 * + batch-hard triplet), for resnet50 and resnet18 (RSB Baseline: last stride 1, BNNeck, 751 classes),
 * 256×128, fp32, batch 16; PyTorch (bench/_torch.py `eval` / `train-rsb`: the same Baseline, loss and SGD) on
 * CUDA when `python3` has a CUDA PyTorch, measured right after each webgpu figure, and the ratios printed.
 * The training rows carry the bytes the engine measured crossing host ↔ GPU in a step.
 *
 * On a machine whose adapter is software (SwiftShader here) it still runs, so it is tested: 64×32, batch 2,
 * two iterations, every figure labelled SOFTWARE — not a GPU number.
 *
 *   npm run bench -- gpu                    (BENCH_MODELS=resnet18 BENCH_MODES=eval BENCH_ITERS=5 BENCH_BATCH=16 BENCH_INPUT=256x128 BENCH_OUT=file.json)
 *   bash bench/gpu-device.sh OUT_DIR        (on a GPU machine without Node.js: the packed bundle, see README)
 * Results: stdout and bench/.out/gpu.json (or BENCH_OUT).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, buildPreset, compileToKeras, weightSpecs, type CompiledModel } from '../core/index.js';
import { onnxModelOf } from '../main/export/onnx.js';
import { createFeatureSession, onnxRuntimeStatus } from '../main/onnx/runtime.js';
import { resetWebGpuStatus, webgpuSmokeTest, webgpuStatus } from '../main/onnx/webgpu.js';
import { webgpuTrainBench } from './_gpu-train.js';

const here = dirname(fileURLToPath(import.meta.url));
const MODELS = (process.env.BENCH_MODELS ?? 'resnet50,resnet18').split(',');
const MODES = (process.env.BENCH_MODES ?? 'eval,train').split(',');
const CLASSES = 751;

/** Seeded values for every slot from its declared init (no tfjs: the device bundle carries none). */
function seededWeights(compiled: CompiledModel): Map<string, Float32Array> {
  let s = 12345;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const out = new Map<string, Float32Array>();
  for (const l of compiled.layers)
    for (const w of weightSpecs(l)) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const fanIn = w.torchShape.slice(1).reduce((a, b) => a * b, 1) || 1;
      const v = (): number => (w.init === 'ones' ? 0.5 + u() : w.init === 'zeros' ? 0 : w.init === 'const_3' ? 3 : (u() * 2 - 1) * Math.sqrt(3 / fanIn));
      out.set(`${l.name}/${w.slot}`, Float32Array.from({ length: n }, v));
    }
  return out;
}

/** Median seconds per call of `fn` after one warm-up (shader compilation). */
async function measure(fn: () => Promise<unknown>, iters: number): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return ts.sort((a, b) => a - b)[ts.length >> 1]!;
}

function python(): string | undefined {
  for (const p of [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[]) {
    const r = spawnSync(p, ['-c', 'import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return `${p}\t${r.stdout.trim()}`;
  }
  return undefined;
}

let status = await webgpuStatus();
// No adapter of the machine's own (this build machine): the software one, as the tests use it, so the bench runs.
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json'; // as test/webgpu-env.ts
if (!status.available && process.platform === 'linux' && existsSync(SWIFTSHADER) && !process.env.VK_ICD_FILENAMES) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER;
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'reid-bench-xdg-'));
  resetWebGpuStatus();
  status = await webgpuStatus();
}
const onnx = await onnxRuntimeStatus();
const software = !status.adapter || status.adapter.isSoftware;
const [H, W] = process.env.BENCH_INPUT ? (process.env.BENCH_INPUT.split('x').map(Number) as [number, number]) : software ? [64, 32] : [256, 128];
const BATCH = Number(process.env.BENCH_BATCH ?? (software ? 4 : 16));
/** Images per identity in a training batch (P×K; the triplet loss needs K ≥ 2). */
const K = Math.min(4, Math.max(2, BATCH >> 1));
const ITERS = Number(process.env.BENCH_ITERS ?? (software ? 2 : 10));
const py = python();
const [pyBin, pyInfo] = py ? py.split('\t') : [undefined, undefined];
const cuda = !!pyInfo && / True /.test(` ${pyInfo} `);
const label = software ? `SOFTWARE adapter (${status.adapter?.label ?? 'unnamed'}): ${H}×${W}, batch ${BATCH} — not a GPU figure` : `${status.adapter!.label}: ${H}×${W}, batch ${BATCH}, fp32`;
console.log(`webgpu: ${status.available ? 'available' : `NOT available (${status.message})`}; ${label}`);
console.log(`adapter: ${JSON.stringify(status.adapter ?? null)}`);
console.log(`PyTorch: ${pyInfo ?? 'not found'}${cuda ? '' : ' — no CUDA: PyTorch side skipped'}`);
const smoke = status.available ? await webgpuSmokeTest() : undefined;
console.log(`smoke test: ${smoke ? (smoke.passed ? `passed (${smoke.relativeDiff?.toExponential(1)} · max|cpu|)` : `FAILED ${smoke.message}`) : 'not run'}`);

interface Row { model: string; mode: string; engine: string; batch: number; imagesPerSecond?: number; secondsPerIter?: number; ok: boolean; note?: string; bytesPerStep?: { in: number; out: number } }
const rows: Row[] = [];
const torch = (model: string, mode: string): Row => {
  const r = spawnSync(pyBin!, [join(here, '_torch.py'), model, mode === 'train' ? 'train-rsb' : mode, String(BATCH), '1', String(ITERS), 'cuda', String(H), String(W), String(K)], { encoding: 'utf8', timeout: 1_800_000 });
  const line = r.stdout?.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (!line) return { model, mode, engine: 'pytorch-cuda', batch: BATCH, ok: false, note: (r.stderr ?? '').trim().split('\n').at(-1) };
  const j = JSON.parse(line) as { imagesPerSecond: number; secondsPerIter: number };
  return { model, mode, engine: 'pytorch-cuda', batch: BATCH, ok: true, imagesPerSecond: j.imagesPerSecond, secondsPerIter: j.secondsPerIter };
};

if (status.available && smoke?.passed !== false)
  for (const model of MODELS) {
    const compiled = compileToKeras(analyze(buildPreset(model, { input: [H, W], numClasses: CLASSES, lastStride: 1, neck: 'bnneck', neckFeat: 'after' }).graph));
    if (MODES.includes('eval')) {
      const session = await createFeatureSession(onnxModelOf(compiled, seededWeights(compiled)), { ep: 'webgpu', threads: onnx.threads });
      const x = Float32Array.from({ length: BATCH * H * W * 3 }, (_, i) => Math.sin(i * 0.37));
      const s = await measure(() => session.extract(x, BATCH, BATCH), ITERS);
      await session.release();
      rows.push({ model, mode: 'eval', engine: 'webgpu', batch: BATCH, ok: true, imagesPerSecond: BATCH / s, secondsPerIter: s, ...(software ? { note: 'software adapter' } : {}) });
      if (cuda) rows.push(torch(model, 'eval'));
    }
    if (MODES.includes('train')) {
      const t = await webgpuTrainBench({ compiled, values: seededWeights(compiled), numClasses: CLASSES, batch: BATCH, k: K, iters: ITERS, threads: onnx.threads });
      rows.push({ model, mode: 'train', engine: 'webgpu', batch: BATCH, ...t, ...(software && t.ok ? { note: 'software adapter' } : {}) });
      if (cuda) rows.push(torch(model, 'train'));
    }
  }

for (const r of rows) console.log(`${r.model.padEnd(9)} ${r.mode.padEnd(5)} ${r.engine.padEnd(13)} ${r.ok ? `${r.imagesPerSecond!.toFixed(2)} img/s (${(r.secondsPerIter! * 1000).toFixed(1)} ms/batch)` : `— ${r.note}`}${r.bytesPerStep ? `; measured per step: ${r.bytesPerStep.in} B host → GPU, ${r.bytesPerStep.out} B GPU → host` : ''}`);
for (const model of MODELS)
  for (const mode of MODES) {
    const g = rows.find((r) => r.model === model && r.mode === mode && r.engine === 'webgpu' && r.ok);
    const p = rows.find((r) => r.model === model && r.mode === mode && r.engine === 'pytorch-cuda' && r.ok);
    if (g && p) console.log(`${model} ${mode}: webgpu / PyTorch CUDA = ${(g.imagesPerSecond! / p.imagesPerSecond!).toFixed(3)}`);
  }
const load = loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`load average: ${load}`);
const out = process.env.BENCH_OUT ?? join(here, '.out', 'gpu.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), software, input: [H, W], batch: BATCH, iters: ITERS, adapter: status.adapter ?? null, webgpu: { available: status.available, message: status.message }, smokeTest: smoke ?? null, onnxruntime: onnx.version, pytorch: pyInfo ?? null, loadAverage: load, results: rows }, null, 2));
console.log(`results: ${out}`);
