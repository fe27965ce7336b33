/**
 * One measurement in a fresh process (bench/backends.ts spawns it): images/s of the compiled preset in
 * eval mode or for a full training step (forward + backward + Adam update), at a given batch size.
 * Prints one JSON line. A batch that does not fit (wasm heap: 4 GB) fails the process: the caller halves it.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { analyze, buildPreset } from '../core/index.js';
import { buildModel, forwardEval, forwardTrain, getWeightValues, initBackend, trainableVariables, type BackendName } from '../main/tfjs/index.js';
import { onnxModelOf } from '../main/export/onnx.js';
import { createFeatureSession } from '../main/onnx/runtime.js';
import { OnnxTrainingSession } from '../main/onnx/training.js';
import { ArrayOptimizer } from '../main/training/engine/array-optimizer.js';

const arg = (k: string, d?: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? process.argv[i + 1]! : d!;
};
/** A tfjs backend, or `onnxruntime` (the lowered ONNX graph / its training graph, `--threads N`, default all cores). */
const backend = arg('backend') as BackendName | 'onnxruntime';
const ortThreads = process.argv.includes('--threads') ? Number(arg('threads')) : undefined;
const preset = arg('model');
const mode = arg('mode') as 'eval' | 'train';
const batch = Number(arg('batch'));
const iters = Number(arg('iters', '3'));
const warmup = arg('warmup', '1') !== '0';
const [H, W] = arg('input', '256x128').split('x').map(Number) as [number, number];
const CLASSES = 751;

try {
  const ort = backend === 'onnxruntime';
  const report = await initBackend(ort ? 'wasm' : backend);
  const a = analyze(buildPreset(preset, { input: [H, W], numClasses: CLASSES }).graph);
  const { reid, compiled } = await buildModel(a);
  const session = ort && mode === 'eval' ? await createFeatureSession(onnxModelOf(compiled, await getWeightValues(reid, compiled.layers)), { threads: ortThreads }) : undefined;
  const x = tf.randomNormal([batch, H, W, 3]) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % CLASSES), 'int32'), CLASSES);
  const opt = tf.train.adam(3.5e-4, 0.9, 0.999, 1e-8);
  const vars = trainableVariables(reid);
  const xData = ort ? ((await x.data()) as Float32Array) : undefined;
  // Training on onnxruntime: forward session, the loss and its gradient in tfjs (small), backward session, Adam.
  const trainer = ort && mode === 'train' ? await OnnxTrainingSession.create(compiled, await getWeightValues(reid, compiled.layers), { batch, threads: ortThreads ?? availableParallelism() }) : undefined;
  const ortOpt = trainer ? new ArrayOptimizer({ name: 'adam', weightDecay: 0 }, trainer.weights.filter((w) => w.trainable), { toSaved: (_k, d) => d, fromSaved: (_k, d) => d }) : undefined;
  const once = async () => {
    if (session) {
      await session.extract(xData!, batch, batch);
      return;
    }
    if (trainer) {
      const f = await trainer.forward(xData!);
      const lv = tf.variable(tf.tensor2d(f.logits, [batch, CLASSES]));
      const fv = tf.variable(tf.tensor2d(f.feature, [batch, f.feature.length / batch]));
      const { value, grads } = tf.variableGrads(() => {
        const ce = tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(lv)), 1)));
        return tf.add(ce, tf.mul(tf.mean(tf.square(fv)), 1e-3)) as tf.Scalar;
      }, [lv, fv]);
      const g = await trainer.backward(f, (await grads[lv.name]!.data()) as Float32Array, (await grads[fv.name]!.data()) as Float32Array);
      ortOpt!.apply(g, 3.5e-4);
      tf.dispose([value, grads, lv, fv]);
      return;
    }
    if (mode === 'eval') {
      const f = forwardEval(reid, x);
      await f.data();
      f.dispose();
      return;
    }
    const { value, grads } = tf.variableGrads(() => {
      const { logits, feature } = forwardTrain(reid, x);
      const ce = tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1)));
      return tf.add(ce, tf.mul(tf.mean(tf.square(feature)), 1e-3)) as tf.Scalar;
    }, vars);
    opt.applyGradients(grads);
    await value.data();
    tf.dispose([value, grads]);
  };
  if (warmup) await once(); // kernel set-up, allocation
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await once();
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    times.push((performance.now() - t0) / 1000);
  }
  // CPU seconds of this process: the work done, robust to other load on the shared machine.
  const median = [...times].sort((p, q) => p - q)[times.length >> 1]!;
  const cpuMedian = [...cpu].sort((p, q) => p - q)[cpu.length >> 1]!;
  process.stdout.write(
    JSON.stringify({ ok: true, backend: ort ? `onnxruntime (${session?.threads ?? trainer!.threads} thread${(session?.threads ?? trainer!.threads) > 1 ? 's' : ''})` : report.backend, preset, mode, batch, iters, secondsPerIter: median, imagesPerSecond: batch / median, cpuSecondsPerIter: cpuMedian, imagesPerCpuSecond: batch / cpuMedian, gmacsPerImage: a.totals.macs / 1e9 }) + '\n',
  );
  process.exit(0);
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: String((e as Error)?.message ?? e).split('\n')[0] }) + '\n');
  process.exit(1);
}
