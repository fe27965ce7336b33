import type { CompositeKind, PrimitiveKind } from '../types.js';
import { ShapeError } from '../types.js';
import { requireSpatial } from '../shapes.js';
import { CUSTOM_LAYER_CLASSES } from '../lowering.js';

/**
 * The attention product of fast-reid's non-local block (fastreid/layers/non_local.py `Non_local.forward`,
 * the "dot product" variant of Wang et al., CVPR 2018): with θ, φ, g the [H, W, C'] maps of the three 1×1
 * convs and N = H·W positions, f = θ·φᵀ / N ([N, N], no softmax) and y = f·g, reshaped back to [H, W, C'].
 * Inputs: theta, phi, g, identical shapes [H, W, C']; output [H, W, C']. No weights.
 */
export const nonLocalAttention: PrimitiveKind = {
  id: 'non_local_attention',
  label: 'Non-local attention',
  category: 'layers',
  description: 'y = (θ·φᵀ / N)·g over the N = H·W positions (fast-reid Non_local, no softmax).',
  primitive: true,
  freezable: false,
  params: {},
  inputs: [{ name: 'theta', label: 'θ' }, { name: 'phi', label: 'φ' }, { name: 'g' }],
  outputs: [{ name: 'out' }],
  inferShape(_p, [t, p, g]) {
    const shapes = [t!, p!, g!].map((s) => requireSpatial('non_local_attention', s));
    if (shapes.some((s) => s.some((d, i) => d !== shapes[0]![i])))
      throw new ShapeError('E_SPATIAL_MISMATCH', `non_local_attention needs θ, φ and g of one shape, got ${shapes.map((s) => `[${s.join(', ')}]`).join(', ')}`);
    return [...t!];
  },
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  macs: (_p, [t]) => 2 * (t![0]! * t![1]!) ** 2 * t![2]!,
  lower: {
    keras: ({ make }) => [make(CUSTOM_LAYER_CLASSES.nonLocalAttention, {})],
    /** NCHW: Reshape [B, C', N] → Transpose / MatMul / Div N / MatMul → Reshape [B, C', H, W]. */
    onnx({ layer: l, node, int64, scalar, ins }) {
      const [h, w, c] = l.shape as [number, number, number];
      const flat = int64(`${l.name}.flat_shape`, [0, c, h * w]);
      const back = int64(`${l.name}.map_shape`, [0, c, h, w]);
      const perm = [{ name: 'perm', type: 'ints' as const, value: [0, 2, 1] }];
      const [t, p, g] = ['theta', 'phi', 'g'].map((r, i) => {
        node('Reshape', `${l.name}.${r}_flat`, [ins[i]!, flat], [`${l.name}.${r}_flat`]);
        return `${l.name}.${r}_flat`;
      }) as [string, string, string];
      node('Transpose', `${l.name}.theta_t`, [t], [`${l.name}.theta_t`], perm);
      node('MatMul', `${l.name}.f`, [`${l.name}.theta_t`, p], [`${l.name}.f`]);
      node('Div', `${l.name}.f_div_C`, [`${l.name}.f`, scalar(`${l.name}.N`, h * w)], [`${l.name}.f_div_C`]);
      node('Transpose', `${l.name}.g_t`, [g], [`${l.name}.g_t`], perm);
      node('MatMul', `${l.name}.y`, [`${l.name}.f_div_C`, `${l.name}.g_t`], [`${l.name}.y`]);
      node('Transpose', `${l.name}.y_t`, [`${l.name}.y`], [`${l.name}.y_t`], perm);
      node('Reshape', `${l.name}.reshape`, [`${l.name}.y_t`, back], [l.name]);
    },
    torch: {
      module: () => null,
      expr: ([t, p, g]) => `non_local_attention(${t}, ${p}, ${g})`,
      classes: `def non_local_attention(theta, phi, g):
    """fast-reid fastreid/layers/non_local.py Non_local.forward: f = theta^T phi / N (no softmax), y = f g."""
    b, c = theta.shape[:2]
    theta_x = theta.reshape(b, c, -1).permute(0, 2, 1)
    phi_x = phi.reshape(b, c, -1)
    g_x = g.reshape(b, c, -1).permute(0, 2, 1)
    f = torch.matmul(theta_x, phi_x)
    y = torch.matmul(f / f.size(-1), g_x)
    return y.permute(0, 2, 1).contiguous().view(b, c, *theta.shape[2:])
`,
    },
  },
};

/**
 * fast-reid's non-local block (fastreid/layers/non_local.py `Non_local`): g, θ, φ = 1×1 convs (with bias)
 * C → C'; y = non-local attention; z = W(y) + x with W = Sequential(1×1 conv C' → C with bias, BatchNorm)
 * whose BatchNorm starts at γ = β = 0, so a fresh block is the identity. Child names are FR's module
 * names (`g`, `theta`, `phi`, `W.0`, `W.1`). C' = `inter_channels`: FR computes it as
 * `reduc_ratio // reduc_ratio`, i.e. 1, whatever the width (ReID-Survey's AGW non_local.py has the same
 * line), so 1 is the default; the original paper uses C / 2. Input and output [H, W, C].
 */
export const nonLocal: CompositeKind = {
  id: 'non_local',
  label: 'Non-local block',
  category: 'blocks',
  description: "fast-reid / AGW non-local block: z = x + W(θφᵀ g / N); identity at initialisation.",
  primitive: false,
  freezable: true,
  params: {
    inter_channels: {
      type: 'int',
      default: 1,
      min: 1,
      max: 4096,
      label: 'Inner channels',
      help: "fast-reid's Non_local uses reduc_ratio // reduc_ratio = 1; the paper uses C / 2",
    },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `C' = ${p.inter_channels}`,
  build(ctx, p, { in: x }) {
    const [, , c] = requireSpatial('non_local', x!.shape);
    const inter = p.inter_channels as number;
    const conv1x1 = (name: string, filters: number, v: typeof x) =>
      ctx.add('conv2d', name, { filters, kernel: 1, stride: 1, padding: 0, bias: true }, { in: v! }).out!;
    const g = conv1x1('g', inter, x);
    const theta = conv1x1('theta', inter, x);
    const phi = conv1x1('phi', inter, x);
    const y = ctx.add('non_local_attention', 'attention', {}, { theta, phi, g }).out!;
    const wy = ctx.add('batch_norm', 'W.1', { zeroInit: true }, { in: conv1x1('W.0', c, y) }).out!;
    return { out: ctx.add('add', 'add', {}, { a: wy, b: x! }).out! };
  },
};

/**
 * Where fast-reid puts a stage's non-local blocks (fastreid/modeling/backbones/resnet.py
 * `_build_nonlocal`): after the last `count` blocks, `NL_idx = sorted(blocks - (i + 1) for i < count)`.
 * Returns, for block i, the index k of the non-local block that follows it, or -1.
 */
export function nonLocalAfter(blocks: number, count: number, i: number): number {
  return i >= blocks - count ? i - (blocks - count) : -1;
}

/**
 * The local name of a stage's k-th non-local block: fast-reid's `NL_<n>.<k>`, a sibling of `layer<n>`
 * (`backbone.NL_2.0` next to `backbone.layer2`), when the stage is named `…layer<n>`; else `NL.<k>` inside it.
 */
export function nonLocalName(stagePrefix: string, k: number): string {
  const m = /(?:^|\.)layer(\d+)$/.exec(stagePrefix);
  return m ? `../NL_${m[1]}.${k}` : `NL.${k}`;
}
