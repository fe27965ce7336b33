/**
 * One plain SGD step of the one-program training step (core/compile/step-program.ts on
 * main/onnx/step-session.ts) with the loss of reference.py's fixtures, shared by the parity tests that hold
 * it to PyTorch (train-parity-program.test.ts, senet-train-parity.test.ts).
 *
 * The fixtures' loss is CE(logits) + w·mean(global_feat²). The program writes it with the terms the trainer
 * offers: plain CE (ε = 0) plus the center loss with every center at 0 and weight β = w / D, since
 * RSB's center loss Σᵢ ‖fᵢ − c_yᵢ‖² / N with c = 0 is D·mean(f²) for a D-dimensional feature. The program
 * returns the loss terms, not the logits.
 */
import { compileToKeras, type Analysis } from '../../core/index.js';
import { OnnxStepSession } from '../../main/onnx/step-session.js';
import { torchToTfjsValues, WeightStore } from '../../main/weights/index.js';
import type { OrtExecutionProvider } from '../../main/onnx/runtime.js';
import { readF32, type ParityCase } from './fixtures.js';
import type { StepOutcome } from './train-check.js';

/**
 * One plain SGD step (no momentum, no weight decay, lr c.train.lr) of the step program on `ep` from `before`
 * (a load plan of the fixture's .pth), on the fixture batch in `dir`. The session starts as the trainer's does:
 * from a weight store holding the file's PyTorch tensors; its weights (PyTorch layout by state_dict key) come
 * back in the comparison's tfjs layout.
 */
export async function programStep(dir: string, c: ParityCase, analysis: Analysis, before: { values: Map<string, Float32Array>; torch: Map<string, Float32Array> }, ep: OrtExecutionProvider): Promise<StepOutcome> {
  const compiled = compileToKeras(analysis);
  const store = new WeightStore(compiled.layers);
  store.setTorchValues(before.torch);
  const dim = analysis.layers.find((l) => l.name === compiled.metadata.roles.trainFeature)!.shape.at(-1)!;
  const session = await OnnxStepSession.create(compiled, store.tfjsLookup(), {
    batch: c.batch,
    threads: 2,
    ep,
    loss: { numClasses: c.numClasses, ceEpsilon: 0, ceWeight: 1, triplet: null, centerWeight: c.train!.featureWeight / dim },
    optimizer: { name: 'sgd', weightDecay: 0, momentum: 0 },
    centerLr: 0,
    centers: new Float32Array(c.numClasses * dim),
  });
  try {
    const r = await session.run(readF32(`${dir}/${c.id}.input.f32`), Int32Array.from(c.train!.labels), c.train!.lr);
    return { loss: r.total, weights: new Map([...before.values, ...torchToTfjsValues(analysis.layers, await session.weightValues())]) };
  } finally {
    await session.release();
  }
}
