/**
 * Does the compiler add overhead? Training images/s of the compiled resnet18 Baseline versus the same
 * network written directly with stock tfjs layers (zero padding + valid conv, BatchNormalization,
 * global average pooling, BN neck, bias-free classifier), same loss, same optimizer, same batches,
 * alternated in one run. Target: compiled ≥ 0.95× hand-written.
 */
import * as tf from '@tensorflow/tfjs';
import { analyze, buildPreset, defaultTrainingSettings } from '../core/index.js';
import { buildModel, initBackend, trainableVariables } from '../main/tfjs/index.js';
import { ReidLoss } from '../main/training/losses/index.js';
import { ModelOptimizer } from '../main/training/engine/optimizer.js';
import { computeGradients } from '../main/training/engine/step.js';

const [H, W] = [128, 64];
const P = 4;
const K = 4;
const N = P * K;
const CLASSES = 16;
const REPS = Number(process.env.BENCH_REPS ?? 4);

function handWritten(): tf.LayersModel {
  const input = tf.input({ shape: [H, W, 3] });
  let id = 0;
  const convBn = (x: tf.SymbolicTensor, filters: number, k: number, s: number, relu: boolean) => {
    const pad = (k - 1) >> 1;
    if (pad) x = tf.layers.zeroPadding2d({ padding: pad, name: `pad${++id}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters, kernelSize: k, strides: s, padding: 'valid', useBias: false, name: `conv${++id}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: `bn${++id}` }).apply(x) as tf.SymbolicTensor;
    return relu ? (tf.layers.reLU({ name: `relu${++id}` }).apply(x) as tf.SymbolicTensor) : x;
  };
  let x = convBn(input, 64, 7, 2, true);
  x = tf.layers.zeroPadding2d({ padding: 1 }).apply(x) as tf.SymbolicTensor; // post-ReLU: zero padding = −∞ padding
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid' }).apply(x) as tf.SymbolicTensor;
  let cin = 64;
  [64, 128, 256, 512].forEach((planes, stage) => {
    for (let b = 0; b < 2; b++) {
      const s = b === 0 && stage > 0 && stage < 3 ? 2 : 1;
      let y = convBn(x, planes, 3, s, true);
      y = convBn(y, planes, 3, 1, false);
      const short = s !== 1 || cin !== planes ? convBn(x, planes, 1, s, false) : x;
      x = tf.layers.reLU().apply(tf.layers.add().apply([y, short]) as tf.SymbolicTensor) as tf.SymbolicTensor;
      cin = planes;
    }
  });
  const feat = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const neck = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(feat) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: CLASSES, useBias: false }).apply(neck) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [logits, feat] });
}

async function main() {
  const backend = await initBackend((process.env.BENCH_BACKEND as 'wasm') ?? 'auto');
  console.log(`backend ${backend.backend}; resnet18 ${H}×${W}, batch ${N} (P=${P}, K=${K}); ${REPS} timed steps each, alternated`);
  const settings = defaultTrainingSettings();
  settings.batch = { p: P, k: K };
  const doc = buildPreset('resnet18', { input: [H, W], numClasses: CLASSES, lastStride: 2 });
  const { reid } = await buildModel(analyze(doc.graph));
  const hand = handWritten();
  const images = new Float32Array(N * H * W * 3).map(() => Math.random() * 2 - 1);
  const labels = Int32Array.from({ length: N }, (_, i) => Math.floor(i / K));
  const lossC = new ReidLoss(settings, CLASSES, 512);
  const lossH = new ReidLoss(settings, CLASSES, 512);
  const varsC = trainableVariables(reid);
  const varsH = hand.trainableWeights.map((w) => w.read() as tf.Variable);
  const optC = new ModelOptimizer({ name: 'adam', weightDecay: 5e-4 }, varsC);
  const optH = new ModelOptimizer({ name: 'adam', weightDecay: 5e-4 }, varsH);

  async function stepCompiled() {
    const r = await computeGradients(reid, lossC, varsC, images, labels, N);
    optC.apply(r.grads, 3.5e-4);
    Object.values(r.grads).forEach((g) => g.dispose());
  }
  async function stepHand() {
    const x = tf.tensor4d(images, [N, H, W, 3]);
    const { grads, value } = tf.variableGrads(() => {
      const [logits, feat] = hand.apply(x, { training: true }) as tf.Tensor2D[];
      return lossH.compute({ logits: logits!, feat: feat!, labels }).total;
    }, [...varsH, ...lossH.extraVariables()]);
    await value.data();
    optH.apply(grads, 3.5e-4);
    Object.values(grads).forEach((g) => g.dispose());
    value.dispose();
    x.dispose();
  }
  await stepCompiled(); // warm-up: kernel compilation, allocation
  await stepHand();
  const tC: number[] = [];
  const tH: number[] = [];
  for (let i = 0; i < REPS; i++) {
    let t = performance.now();
    await stepCompiled();
    tC.push(performance.now() - t);
    t = performance.now();
    await stepHand();
    tH.push(performance.now() - t);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const ipsC = (N * 1000) / median(tC);
  const ipsH = (N * 1000) / median(tH);
  console.log(`compiled preset:   ${ipsC.toFixed(2)} img/s (median step ${median(tC).toFixed(0)} ms)`);
  console.log(`hand-written tfjs: ${ipsH.toFixed(2)} img/s (median step ${median(tH).toFixed(0)} ms)`);
  console.log(`ratio compiled / hand-written: ${(ipsC / ipsH).toFixed(3)} (target ≥ 0.95)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
