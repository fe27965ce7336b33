import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, compileToKeras, defaultTrainingSettings, seedInitializers } from '../../core/index.js';
import { buildFromCompiled, initBackend, trainableVariables } from '../../main/tfjs/index.js';
import { ReidGeMPool } from '../../main/tfjs/layers/index.js';
import { computeGradients } from '../../main/training/engine/step.js';
import { ModelOptimizer } from '../../main/training/engine/optimizer.js';
import { ReidLoss } from '../../main/training/losses/index.js';
import { tinyGraph } from './engine/tiny.js';
import { runPython, testRandom } from './python.js';

/**
 * GeM with a learnable exponent (fast-reid GeneralizedMeanPoolingP, POOL_LAYER GeneralizedMeanPoolingP) trains:
 * its output and the gradients w.r.t. the input and p equal PyTorch's (test/training/ref_gem.py), and a training
 * step of a graph with it gives p a gradient and moves it.
 */
describe('GeM-P', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('output and gradients (input and p) equal fast-reid GeneralizedMeanPoolingP in PyTorch', () => {
    const [N, C, H, W] = [2, 3, 4, 5];
    const r = testRandom(3);
    const nchw = Array.from({ length: N }, () => Array.from({ length: C }, () => Array.from({ length: H }, () => Array.from({ length: W }, () => (r() - 0.2) * 2))));
    const g = Array.from({ length: N }, () => Array.from({ length: C }, () => r() - 0.5));
    const ref = runPython<{ out: number[][]; grad_x: number[][][][]; grad_p: number }>('ref_gem.py', { x: nchw, g, p: 3.3, eps: 1e-6 });
    const layer = new ReidGeMPool({ p: 3.3, learnable: true, epsilon: 1e-6, name: 'gem_test' });
    const x = tf.tensor4d(nchw).transpose([0, 2, 3, 1]) as tf.Tensor4D;
    layer.build(x.shape);
    const pVar = layer.weights[0]!.read() as tf.Variable;
    const gt = tf.tensor2d(g);
    const out = layer.apply(x) as tf.Tensor2D;
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, gt)) as tf.Scalar, [pVar]);
    const gx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx) as tf.Tensor, gt)))(x).transpose([0, 3, 1, 2]);
    const near = (a: ArrayLike<number>, b: number[], tol: number) => b.forEach((v, i) => expect(Math.abs(a[i]! - v), `${i}: ${a[i]} vs ${v}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(v))));
    near(out.dataSync(), ref.out.flat(), 1e-5);
    near(gx.dataSync(), ref.grad_x.flat(3), 1e-4);
    near(grads[pVar.name]!.dataSync(), [ref.grad_p], 1e-4);
    expect(Math.abs(ref.grad_p)).toBeGreaterThan(1e-3);
  });

  it('a training step gives p a gradient and moves it', async () => {
    const doc = tinyGraph(4);
    const gap = doc.graph.nodes.find((n) => n.id === 'gap')!;
    gap.kind = 'gem_pool';
    gap.params = { p: 3, learnable: true, eps: 1e-6 };
    const a = analyze(doc.graph);
    expect(a.ok).toBe(true);
    const reid = await buildFromCompiled(seedInitializers(compileToKeras(a), 1));
    const vars = trainableVariables(reid);
    const p = reid.model.trainableWeights.find((w) => w.originalName === 'gap/p');
    expect(p, 'gap/p is a trainable weight').toBeDefined();
    const s = { ...defaultTrainingSettings(), batch: { p: 4, k: 2 } };
    const loss = new ReidLoss(s, 4, 16);
    const images = Float32Array.from({ length: 8 * 32 * 16 * 3 }, (_, i) => Math.sin(i * 0.11));
    const labels = Int32Array.from({ length: 8 }, (_, i) => i >> 1);
    const r = await computeGradients(reid, loss, vars, images, labels, 8);
    const pv = p!.read() as tf.Variable;
    const gp = (await r.grads[pv.name]!.data())[0]!;
    expect(Math.abs(gp)).toBeGreaterThan(0);
    const opt = new ModelOptimizer({ name: 'adam', weightDecay: 0 }, vars);
    opt.apply(r.grads, 0.01);
    // Adam's first step moves every parameter with a gradient by lr (·sign): p leaves 3.
    expect(Math.abs((await pv.data())[0]! - 3)).toBeGreaterThan(0.009);
  });
});
