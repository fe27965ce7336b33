/**
 * Benchmark (not a test): `npm run bench -- step-start`.
 *
 * The start of a run on the onnxruntime engine (issue 20): CPU seconds (process.cpuUsage: the machine is
 * shared, so not wall time) to create the one-program training step (main/onnx/step-session.ts:
 * core/compile/step-program.ts, the ModelProto, onnxruntime's InferenceSession.create with its graph
 * optimisation), then to build the frozen-backbone program fast-reid's FREEZE_ITERS use (the first frozen step:
 * program, session and the step itself), for resnet50 at 64×32 and fast-reid's mgn_R50-ibn at 96×32, batch 8
 * (P×K 2×4), CE(ε 0.1) + triplet(0.3), SGD with momentum, one thread, niced by the caller as it likes.
 * Measured here (2 shared cores, load ≈ 9, onnxruntime-node 1.30): before the Gram gradient's Gemm form
 * (core/compile/grad/ops/linear.ts) and INAPPLICABLE_ORT_TRANSFORMERS (main/onnx/runtime.ts) / after:
 *   resnet50     step session 6.41 / 1.58 s CPU, first frozen step 0.19 / 0.18 s CPU;
 *   mgn_R50-ibn  step session 31.49 / 6.91 s CPU, first frozen step 1.59 / 0.73 s CPU.
 */
import { analyze, buildAnyPreset, compileToKeras, seedInitializers } from '../core/index.js';
import { OnnxStepSession } from '../main/onnx/step-session.js';
import { freshWeightStore } from '../main/weights/index.js';

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const [P, K, CLASSES] = [2, 4, 10];
for (const [name, input] of [['resnet50', [64, 32]], ['mgn_R50-ibn', [96, 32]]] as [string, [number, number]][]) {
  const compiled = compileToKeras(analyze(buildAnyPreset(name, { input, numClasses: CLASSES }).graph));
  const values = freshWeightStore(seedInitializers(compiled, 0)).tfjsValues();
  let t = cpu();
  const s = await OnnxStepSession.create(compiled, values, {
    batch: P * K,
    threads: 1,
    ep: 'cpu',
    loss: { numClasses: CLASSES, ceEpsilon: 0.1, ceWeight: 1, triplet: { margin: 0.3, soft: false, hardMining: true, normFeat: false, weight: 1 }, centerWeight: null },
    optimizer: { name: 'sgd', weightDecay: 5e-4, momentum: 0.9 },
  });
  const create = cpu() - t;
  const x = Float32Array.from({ length: P * K * input[0] * input[1] * 3 }, (_, i) => Math.sin(i * 0.37));
  const labels = Int32Array.from({ length: P * K }, (_, i) => Math.floor(i / K));
  t = cpu();
  await s.run(x, labels, 0.01, { freezeBackbone: true });
  const frozen = cpu() - t;
  await s.release();
  console.log(`${name.padEnd(12)} ${input.join('×')}, batch ${P * K}: step session ${create.toFixed(2)} s CPU; first frozen-backbone step (its program + the step) ${frozen.toFixed(2)} s CPU`);
}
