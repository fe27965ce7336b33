import type { BuildCtx, Value } from '../types.js';
import type { ParamSchema } from '../../graph/params.js';
import type { Params } from '../../graph/types.js';
import { channels, normKindOf, NORM_OPTIONS } from '../shapes.js';

export const blockParams: ParamSchema = {
  planes: { type: 'int', default: 64, min: 1, max: 4096, label: 'Planes' },
  stride: { type: 'int', default: 1, min: 1, max: 4, label: 'Stride' },
  norm: { type: 'enum', default: 'bn', options: NORM_OPTIONS, label: 'bn1 norm', help: 'IBN-a replaces bn1 only' },
  ibn_b: { type: 'bool', default: false, label: 'IN after add (IBN-b)', help: 'IBN-Net resnet_ibn.py: InstanceNorm `IN` after the residual addition, before the last ReLU' },
};

/**
 * Shortcut of a residual block: identity, or 1×1 conv (stride s) + BN as `downsample.0/1`, created only
 * when the stride is not 1 or the channel count changes (torchvision `_make_layer`).
 */
export function shortcut(ctx: BuildCtx, x: Value, outChannels: number, stride: number): Value {
  if (stride === 1 && channels(x.shape) === outChannels) return x;
  const c = ctx.add('conv2d', 'downsample.0', { filters: outChannels, kernel: 1, stride, padding: 0, bias: false }, { in: x }).out!;
  return ctx.add('batch_norm', 'downsample.1', {}, { in: c }).out!;
}

export function conv(ctx: BuildCtx, name: string, x: Value, filters: number, kernel: number, stride: number): Value {
  return ctx.add('conv2d', name, { filters, kernel, stride, padding: (kernel - 1) >> 1, bias: false }, { in: x }).out!;
}

export function norm(ctx: BuildCtx, name: string, slot: string, x: Value): Value {
  return ctx.add(normKindOf(slot), name, {}, { in: x }).out!;
}

export function relu(ctx: BuildCtx, name: string, x: Value): Value {
  return ctx.add('relu', name, {}, { in: x }).out!;
}

/**
 * main + shortcut → ReLU; with `ibnB`, IBN-b's affine InstanceNorm `IN` between the addition and the ReLU
 * (IBN-Net ibnnet/resnet_ibn.py Bottleneck_IBN / BasicBlock_IBN, `ibn == 'b'`).
 */
export function residualOut(ctx: BuildCtx, main: Value, short: Value, reluName: string, ibnB = false): Value {
  let sum = ctx.add('add', 'add', {}, { a: main, b: short }).out!;
  if (ibnB) sum = ctx.add('instance_norm', 'IN', {}, { in: sum }).out!;
  return relu(ctx, reluName, sum);
}

/** Key-parameter text of a residual block: the bn1 norm and IBN-b. */
export function normNote(p: Params): string {
  return `${p.norm !== 'bn' ? `, ${p.norm}` : ''}${p.ibn_b ? ', IBN-b' : ''}`;
}
