import type { GraphEdge, Params } from '../graph/types.js';

/**
 * fast-reid's ResNeSt backbones (`fastreid/modeling/backbones/resnest.py` build_resnest_backbone, MODEL.BACKBONE
 * DEPTH 50x / 101x): blocks per stage and stem width; radix 2, cardinality 1, bottleneck width 64, deep
 * stem, avg-down, avd (not first) for all.
 */
export const RESNEST_ARCHS = {
  resnest50: { layers: [3, 4, 6, 3], stemWidth: 32 },
  resnest101: { layers: [3, 4, 23, 3], stemWidth: 64 },
} as const;

export type ResnestArch = keyof typeof RESNEST_ARCHS;
export const RESNEST_PRESET_NAMES: readonly string[] = Object.keys(RESNEST_ARCHS);

export function isResnestPreset(name: string): name is ResnestArch {
  return RESNEST_PRESET_NAMES.includes(name);
}

/**
 * The backbone nodes of a fast-reid ResNeSt (`base` stem, stages `base.layer1…4`; fast-reid's module names
 * under `backbone.`): planes 64·2^i; with LAST_STRIDE 1 fast-reid sets dilation 2, so layer3 strides by 2 and
 * layer4 by 1 with its later blocks dilated by 2 (`ResNeSt.__init__` `elif dilation == 2`); with LAST_STRIDE 2
 * the strides are 1, 2, 2, 2 undilated. layer1 has `is_first` False (no avd at stride 1). Returns the last id.
 */
export function resnestBackbone(arch: ResnestArch, lastStride: number, add: (id: string, kind: string, name: string, params: Params) => void, edges: GraphEdge[], from: string): string {
  const a = RESNEST_ARCHS[arch];
  add('stem', 'resnest_stem', 'base', { deep_stem: true, stem_width: a.stemWidth });
  edges.push({ id: `${from}:out->stem:in`, source: from, sourcePort: 'out', target: 'stem', targetPort: 'in' });
  let prev = 'stem';
  a.layers.forEach((blocks, i) => {
    const id = `layer${i + 1}`;
    add(id, 'resnest_stage', `base.${id}`, {
      blocks,
      planes: 64 * 2 ** i,
      stride: i === 0 ? 1 : i === 3 ? lastStride : 2,
      dilation: i === 3 && lastStride === 1 ? 2 : 1,
      is_first: i > 0,
      radix: 2,
      cardinality: 1,
      bottleneck_width: 64,
      avd: true,
      avd_first: false,
      avg_down: true,
    });
    edges.push({ id: `${prev}:out->${id}:in`, source: prev, sourcePort: 'out', target: id, targetPort: 'in' });
    prev = id;
  });
  return prev;
}
