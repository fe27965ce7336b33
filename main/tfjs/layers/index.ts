/** The custom tfjs layers; registered for (de)serialisation before any model is built or loaded. */
import * as tf from '@tensorflow/tfjs';
import { ReidBatchNorm, ReidIBNa, ReidInstanceNorm } from './norm-layers.js';
import { ReidGeMPool, ReidMaxPool2D, ReidNonLocalAttention } from './pool-layers.js';
import { ReidGroupConv2D, ReidSEModule } from './conv-layers.js';
import { ReidAvgPool2D, ReidRadixPool, ReidRSoftMax } from './splat-layers.js';

export { ReidBatchNorm, ReidIBNa, ReidInstanceNorm, ReidGeMPool, ReidMaxPool2D, ReidGroupConv2D, ReidSEModule, ReidNonLocalAttention, ReidAvgPool2D, ReidRadixPool, ReidRSoftMax };

let registered = false;
export function registerCustomLayers(): void {
  if (registered) return;
  for (const cls of [ReidBatchNorm, ReidInstanceNorm, ReidIBNa, ReidMaxPool2D, ReidGeMPool, ReidGroupConv2D, ReidSEModule, ReidNonLocalAttention, ReidAvgPool2D, ReidRadixPool, ReidRSoftMax]) tf.serialization.registerClass(cls);
  registered = true;
}
