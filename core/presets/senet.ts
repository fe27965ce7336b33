import type { GraphEdge, Params } from '../graph/types.js';

/**
 * reid-strong-baseline's SENet backbones (`modeling/baseline.py` model_name branches, built by
 * `modeling/backbones/senet.py`): block type, blocks per stage, groups, layer0 width and the downsample
 * convolution of layer2–4. Reduction 16 everywhere; RSB builds them with dropout None (never applied).
 */
export const SENET_ARCHS = {
  se_resnet50: { type: 'se_resnet', layers: [3, 4, 6, 3], groups: 1, inplanes: 64, input3x3: false, downsample: [1, 0] },
  se_resnet101: { type: 'se_resnet', layers: [3, 4, 23, 3], groups: 1, inplanes: 64, input3x3: false, downsample: [1, 0] },
  se_resnet152: { type: 'se_resnet', layers: [3, 8, 36, 3], groups: 1, inplanes: 64, input3x3: false, downsample: [1, 0] },
  se_resnext50_32x4d: { type: 'se_resnext', layers: [3, 4, 6, 3], groups: 32, inplanes: 64, input3x3: false, downsample: [1, 0] },
  se_resnext101_32x4d: { type: 'se_resnext', layers: [3, 4, 23, 3], groups: 32, inplanes: 64, input3x3: false, downsample: [1, 0] },
  senet154: { type: 'senet154', layers: [3, 8, 36, 3], groups: 64, inplanes: 128, input3x3: true, downsample: [3, 1] },
} as const;

export type SenetArch = keyof typeof SENET_ARCHS;
export const SENET_PRESET_NAMES: readonly string[] = Object.keys(SENET_ARCHS);

export function isSenetPreset(name: string): name is SenetArch {
  return SENET_PRESET_NAMES.includes(name);
}

/**
 * The backbone nodes of an RSB SENet (`base.layer0` … `base.layer4`, RSB's state_dict names): layer0 is
 * a senet_stem, each layer an se_stage (planes 64·2^i, stride 1/2/2/last_stride; layer1 always has a
 * 1×1 downsample, layer2–4 the arch's). Returns the id of the last node.
 */
export function senetBackbone(arch: SenetArch, lastStride: number, add: (id: string, kind: string, name: string, params: Params) => void, edges: GraphEdge[], from: string): string {
  const a = SENET_ARCHS[arch];
  add('stem', 'senet_stem', 'base.layer0', { channels: a.inplanes, input_3x3: a.input3x3 });
  edges.push(edgeOf(from, 'out', 'stem', 'in'));
  let prev = 'stem';
  a.layers.forEach((blocks, i) => {
    const id = `layer${i + 1}`;
    const [dk, dp] = i === 0 ? [1, 0] : a.downsample;
    add(id, 'se_stage', `base.${id}`, {
      type: a.type,
      blocks,
      planes: 64 * 2 ** i,
      stride: i === 0 ? 1 : i === 3 ? lastStride : 2,
      groups: a.groups,
      reduction: 16,
      base_width: 4,
      downsample_kernel: dk,
      downsample_padding: dp,
    });
    edges.push(edgeOf(prev, 'out', id, 'in'));
    prev = id;
  });
  return prev;
}

function edgeOf(source: string, sourcePort: string, target: string, targetPort: string): GraphEdge {
  return { id: `${source}:${sourcePort}->${target}:${targetPort}`, source, sourcePort, target, targetPort };
}
