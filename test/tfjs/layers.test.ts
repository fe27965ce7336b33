/**
 * The custom layers one by one against PyTorch (forward, and input/parameter gradients in training
 * mode): InstanceNorm2d(affine), BatchNorm2d in training (batch statistics, unbiased running_var
 * update, momentum 0.1), IBN-a, MaxPool2d with padding and ceil_mode on negative inputs, and
 * fast-reid's GeM pooling. Exercises kinds the presets do not use (instance_norm, gem_pool, ceil mode).
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../main/tfjs/index.js';
import { ReidBatchNorm, ReidGeMPool, ReidIBNa, ReidInstanceNorm, ReidMaxPool2D } from '../../main/tfjs/layers/index.js';

const PY = String.raw`
import json, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
def T(t): return t.detach().permute(0, 2, 3, 1).reshape(-1).tolist() if t.dim() == 4 else t.detach().reshape(-1).tolist()
out = {}
x = torch.randn(3, 4, 5, 6) * 2 + 0.5
dy = torch.randn(3, 4, 5, 6)
g = torch.rand(4) + 0.5; b = torch.randn(4) * 0.1
out['x'] = T(x); out['dy'] = T(dy); out['gamma'] = g.tolist(); out['beta'] = b.tolist()
# InstanceNorm2d(affine=True), training and eval identical
m = nn.InstanceNorm2d(4, affine=True); m.weight.data = g.clone(); m.bias.data = b.clone()
xi = x.clone().requires_grad_(True); y = m(xi); (y * dy).sum().backward()
out['in'] = {'y': T(y), 'dx': T(xi.grad), 'dgamma': m.weight.grad.tolist(), 'dbeta': m.bias.grad.tolist()}
# BatchNorm2d in training: batch statistics, running stats updated with momentum 0.1 and unbiased variance
m = nn.BatchNorm2d(4); m.weight.data = g.clone(); m.bias.data = b.clone(); m.running_mean.fill_(0.3); m.running_var.fill_(2.0)
xi = x.clone().requires_grad_(True); y = m(xi); (y * dy).sum().backward()
out['bn'] = {'y': T(y), 'dx': T(xi.grad), 'dgamma': m.weight.grad.tolist(), 'dbeta': m.bias.grad.tolist(), 'rm': m.running_mean.tolist(), 'rv': m.running_var.tolist()}
# IBN-a (IN on channels [0, 2), BN on [2, 4)) in training
inn = nn.InstanceNorm2d(2, affine=True); bn = nn.BatchNorm2d(2)
inn.weight.data = g[:2].clone(); inn.bias.data = b[:2].clone(); bn.weight.data = g[2:].clone(); bn.bias.data = b[2:].clone()
xi = x.clone().requires_grad_(True); a1, a2 = torch.split(xi, [2, 2], 1); y = torch.cat((inn(a1.contiguous()), bn(a2.contiguous())), 1); (y * dy).sum().backward()
out['ibn'] = {'y': T(y), 'dx': T(xi.grad), 'rm': bn.running_mean.tolist(), 'rv': bn.running_var.tolist()}
# MaxPool2d 3x3/2 pad 1 ceil_mode on all-negative input (padding must never win)
xn = -(torch.rand(2, 3, 7, 9) + 0.1)
out['xn'] = T(xn)
for ceil in (False, True):
    xi = xn.clone().requires_grad_(True); y = F.max_pool2d(xi, 3, 2, 1, ceil_mode=ceil); d = torch.randn(y.shape); (y * d).sum().backward()
    out['mp_%d' % ceil] = {'y': T(y), 'shape': list(y.permute(0, 2, 3, 1).shape), 'dy': T(d), 'dx': T(xi.grad)}
# fast-reid GeneralizedMeanPooling: (mean(clamp(x, eps)^p))^(1/p)
xp = torch.rand(2, 3, 4, 5) + 0.01 * torch.randn(2, 3, 4, 5)
out['xp'] = T(xp)
out['gem'] = F.adaptive_avg_pool2d(xp.clamp(min=1e-6).pow(3.0), 1).pow(1.0 / 3.0).reshape(2, 3).tolist()
print(json.dumps(out))
`;

interface Ref {
  x: number[];
  dy: number[];
  gamma: number[];
  beta: number[];
  in: { y: number[]; dx: number[]; dgamma: number[]; dbeta: number[] };
  bn: { y: number[]; dx: number[]; dgamma: number[]; dbeta: number[]; rm: number[]; rv: number[] };
  ibn: { y: number[]; dx: number[]; rm: number[]; rv: number[] };
  xn: number[];
  mp_0: { y: number[]; shape: number[]; dy: number[]; dx: number[] };
  mp_1: { y: number[]; shape: number[]; dy: number[]; dx: number[] };
  xp: number[];
  gem: number[][];
}

let ref: Ref;
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  let m = 1e-6;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(b[i]!));
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
  }
  expect(d / m).toBeLessThan(tol);
};

beforeAll(async () => {
  ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', PY], { encoding: 'utf8' })) as Ref;
  await initBackend('wasm');
});

/** Builds a layer on [N, H, W, C], sets its weights, runs it in training mode, returns y, dx and param grads. */
function runLayer(layer: tf.layers.Layer, x: tf.Tensor4D, weights: number[][], dy: tf.Tensor | null, training: boolean) {
  layer.build(x.shape);
  if (weights.length) layer.setWeights(weights.map((w, i) => tf.tensor(w, layer.weights[i]!.shape as number[])));
  const params = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const y = layer.apply(x, { training }) as tf.Tensor;
  let dx: Float32Array | undefined;
  let pg: Float32Array[] = [];
  if (dy) {
    const f = (xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx, { training }) as tf.Tensor, dy));
    dx = tf.grad(f)(x).dataSync() as Float32Array;
    if (params.length) {
      const { grads } = tf.variableGrads(() => f(x) as tf.Scalar, params);
      pg = params.map((p) => grads[p.name]!.dataSync() as Float32Array);
    }
  }
  return { y: y.dataSync(), dx, pg };
}

describe('custom layers vs PyTorch', () => {
  it('ReidInstanceNorm = InstanceNorm2d(affine=True): forward and gradients', () => {
    const x = tf.tensor4d(ref.x, [3, 5, 6, 4]);
    const r = runLayer(new ReidInstanceNorm({ name: 'in1' }), x, [ref.gamma, ref.beta], tf.tensor4d(ref.dy, [3, 5, 6, 4]), true);
    close(r.y, ref.in.y);
    close(r.dx!, ref.in.dx, 1e-4);
    close(r.pg[0]!, ref.in.dgamma, 1e-4);
    close(r.pg[1]!, ref.in.dbeta, 1e-4);
  });

  it('ReidBatchNorm in training = BatchNorm2d.train(): batch statistics, gradients, momentum-0.1 unbiased running stats', () => {
    const x = tf.tensor4d(ref.x, [3, 5, 6, 4]);
    const c = 4;
    const layer = new ReidBatchNorm({ name: 'bn1', epsilon: 1e-5, momentum: 0.9 });
    layer.build(x.shape);
    layer.setWeights([tf.tensor1d(ref.gamma), tf.tensor1d(ref.beta), tf.fill([c], 0.3), tf.fill([c], 2.0)]);
    const y = (layer.apply(x, { training: true }) as tf.Tensor).dataSync();
    close(y, ref.bn.y);
    const [, , rm, rv] = layer.getWeights();
    close(rm!.dataSync(), ref.bn.rm, 1e-5);
    close(rv!.dataSync(), ref.bn.rv, 1e-5);
    const dy = tf.tensor4d(ref.dy, [3, 5, 6, 4]);
    const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx, { training: true }) as tf.Tensor, dy)))(x);
    close(dx.dataSync(), ref.bn.dx, 1e-4);
  });

  it('ReidIBNa in training = cat(IN(x[:, :half]), BN(x[:, half:]))', () => {
    const x = tf.tensor4d(ref.x, [3, 5, 6, 4]);
    const layer = new ReidIBNa({ name: 'ibn1' });
    const w = [ref.gamma.slice(0, 2), ref.beta.slice(0, 2), ref.gamma.slice(2), ref.beta.slice(2), [0, 0], [1, 1]];
    const r = runLayer(layer, x, w, tf.tensor4d(ref.dy, [3, 5, 6, 4]), true);
    close(r.y, ref.ibn.y);
    close(r.dx!, ref.ibn.dx, 1e-4);
  });

  for (const ceil of [false, true])
    it(`ReidMaxPool2D 3×3/2 pad 1${ceil ? ' ceil_mode' : ''} = F.max_pool2d on negative inputs (−∞ padding), with its gradient`, () => {
      const x = tf.tensor4d(ref.xn, [2, 7, 9, 3]);
      const m = ceil ? ref.mp_1 : ref.mp_0;
      const layer = new ReidMaxPool2D({ name: `mp${ceil}`, poolSize: 3, strides: 2, padding: 1, ceilMode: ceil });
      expect(layer.computeOutputShape(x.shape)).toEqual(m.shape);
      const r = runLayer(layer, x, [], tf.tensor(m.dy, m.shape), true);
      close(r.y, m.y, 1e-7);
      close(r.dx!, m.dx, 1e-6);
    });

  it('ReidGeMPool (p = 3) = fast-reid GeneralizedMeanPooling', () => {
    const x = tf.tensor4d(ref.xp, [2, 4, 5, 3]);
    const r = runLayer(new ReidGeMPool({ name: 'gem', p: 3 }), x, [], null, false);
    close(r.y, ref.gem.flat(), 1e-5);
  });
});
