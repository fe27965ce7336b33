import type { KindDef } from './types.js';
import { input } from './kinds/input.js';
import { conv2d } from './kinds/conv2d.js';
import { batchNorm } from './kinds/batch_norm.js';
import { instanceNorm } from './kinds/instance_norm.js';
import { ibnA } from './kinds/ibn_a.js';
import { relu } from './kinds/relu.js';
import { maxPool } from './kinds/max_pool.js';
import { add } from './kinds/add.js';
import { globalAvgPool } from './kinds/global_avg_pool.js';
import { gemPool } from './kinds/gem_pool.js';
import { linear } from './kinds/linear.js';
import { stem } from './kinds/stem.js';
import { basicBlock } from './kinds/basic_block.js';
import { bottleneck } from './kinds/bottleneck.js';
import { stage } from './kinds/stage.js';
import { neck } from './kinds/neck.js';
import { output } from './kinds/output.js';
import { seModule } from './kinds/se_module.js';
import { seBottleneck } from './kinds/se_bottleneck.js';
import { seStage } from './kinds/se_stage.js';
import { senetStem } from './kinds/senet_stem.js';
import { nonLocal, nonLocalAttention } from './kinds/non_local.js';
import { avgPool } from './kinds/avg_pool.js';
import { radixPool, rSoftMax, splatConv } from './kinds/split_attention.js';
import { resnestBottleneck, resnestStage, resnestStem } from './kinds/resnest.js';
import { chunk } from './kinds/chunk.js';
import { concat } from './kinds/concat.js';
import { headLoss } from './kinds/head_loss.js';

/** Every node kind. Ids are persisted in documents: never rename one. */
export const KINDS: readonly KindDef[] = [
  input, stem, stage, bottleneck, basicBlock, conv2d, batchNorm, ibnA, instanceNorm, relu, maxPool, add,
  globalAvgPool, gemPool, neck, linear, output, senetStem, seStage, seBottleneck, seModule, nonLocal, nonLocalAttention,
  avgPool, radixPool, rSoftMax, splatConv, resnestBottleneck, resnestStage, resnestStem, chunk, concat, headLoss,
];

const byId = new Map(KINDS.map((k) => [k.id, k]));

export function getKind(id: string): KindDef | undefined {
  return byId.get(id);
}

export function isPrimitiveKind(id: string): boolean {
  return byId.get(id)?.primitive === true;
}

export * from './types.js';
export { ibnHalf } from './kinds/ibn_a.js';
export { BOTTLENECK_EXPANSION } from './kinds/bottleneck.js';
export { NORM_OPTIONS, normKindOf, normSlotOfKind, type NormSlot } from './shapes.js';
export * from './lowering.js';
export { chunkRows } from './kinds/chunk.js';
