import type { PrimitiveKind } from '../types.js';
import { requireSpatial } from '../shapes.js';
import { CUSTOM_LAYER_CLASSES, plainSpec, pyBool, pyFloat } from '../lowering.js';

/** Generalized-mean pooling (fast-reid GeneralizedMeanPooling / ...PoolingP): clamp(eps)^p, mean, ^(1/p). */
export const gemPool: PrimitiveKind = {
  id: 'gem_pool',
  label: 'GeM pool',
  category: 'pooling',
  description: 'Generalized-mean pooling to a vector; p fixed or learnable.',
  primitive: true,
  globalPool: true,
  freezable: true,
  params: {
    p: { type: 'float', default: 3, min: 1, max: 10, label: 'p' },
    learnable: { type: 'bool', default: false, label: 'Learnable p' },
    eps: { type: 'float', default: 1e-6, min: 0, max: 1, label: 'Clamp min' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `p=${p.p}${p.learnable ? ' (learned)' : ''}`,
  inferShape: (_p, [x]) => [requireSpatial('gem_pool', x!)[2]],
  paramCount: (p) => ({ total: p.learnable ? 1 : 0, alwaysFrozen: 0 }),
  lower: {
    weights: (l) => (l.params.learnable ? [plainSpec('p', `${l.name}.p`, [1], 'const_3', !l.frozen)] : []),
    keras: ({ make, layer: { params: p } }) => [make(CUSTOM_LAYER_CLASSES.gemPool, { p: p.p, learnable: !!p.learnable, epsilon: p.eps })],
    /**
     * x.clamp(min=eps).pow(p), average, pow(1/p) → Max(x, eps) / Pow / GlobalAveragePool / Flatten / Pow(1/p).
     * The root is taken on the flattened [N, C] mean: onnxruntime's WebGPU EP (1.30) fails on Pow of an
     * [N, C, 1, 1] base with a [1] exponent ("raw_hash_map::at"; test/onnx/webgpu-placement.test.ts), and,
     * where p is a graph input (the training program, test/onnx/webgpu-train-placement.test.ts), on Pow of a
     * 4-D base with it: the learnable p is reshaped to a scalar first, which every Pow takes.
     */
    onnx({ layer: l, node, weight, scalar, int64, x }) {
      const n = l.name;
      node('Max', `${n}.clamp`, [x, scalar(`${n}.eps`, l.params.eps as number)], [`${n}.clamped`]);
      let exponent: string;
      let inverse: string;
      if (l.params.learnable) {
        exponent = `${n}.p_scalar`;
        node('Reshape', exponent, [weight('p', [1]), int64(`${n}.scalar_shape`, [])], [exponent]);
        inverse = `${n}.inv_p`;
        node('Reciprocal', inverse, [exponent], [inverse]);
      } else {
        exponent = scalar(`${n}.p`, l.params.p as number);
        inverse = scalar(`${n}.inv_p`, 1 / (l.params.p as number));
      }
      node('Pow', `${n}.pow`, [`${n}.clamped`, exponent], [`${n}.powered`]);
      node('GlobalAveragePool', `${n}.pool`, [`${n}.powered`], [`${n}.mean`]);
      node('Flatten', `${n}.flatten`, [`${n}.mean`], [`${n}.mean_flat`], [{ name: 'axis', type: 'int', value: 1 }]);
      node('Pow', `${n}.root`, [`${n}.mean_flat`, inverse], [n]);
    },
    torch: {
      module: ({ params: p }) => `GeM(p=${pyFloat(p.p as number)}, eps=${pyFloat(p.eps as number)}, learnable=${pyBool(p.learnable)})`,
      classes: `class GeM(nn.Module):
    """Generalized-mean pooling (fast-reid GeneralizedMeanPooling / ...PoolingP) to a [N, C] vector."""

    def __init__(self, p=3.0, eps=1e-06, learnable=False):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * p) if learnable else p
        self.eps = eps

    def forward(self, x):
        return F.adaptive_avg_pool2d(x.clamp(min=self.eps).pow(self.p), 1).pow(1.0 / self.p).flatten(1)
`,
    },
  },
};
