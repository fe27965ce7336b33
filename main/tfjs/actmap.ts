/**
 * The tfjs engine's activation maps (core/compile/actmap.ts): the same layers and weights as the model, with
 * the last feature map (the input of the eval path's global pooling) as the output — a view like the eval
 * sub-model, not a second model — and its squared activations summed over channels.
 */
import * as tf from '@tensorflow/tfjs';
import { featureMapLayer, tfjsLayerName, type Layer } from '../../core/index.js';
import { ModelError, type ReidModel } from './model.js';

/**
 * Per image of `count` NHWC normalised images in `data`: Σ_c x² of the last feature map, [count, h, w]
 * (not yet normalised). `layers`: the compiled model's layers. Throws core's CompileError when the eval
 * feature is not pooled from a spatial map, ModelError on a wrong input size.
 */
export async function extractActmaps(reid: ReidModel, layers: Layer[], data: Float32Array, count: number, batchSize = 16): Promise<{ maps: Float32Array; h: number; w: number }> {
  const fm = featureMapLayer(layers, reid.metadata.roles.evalFeature);
  const [H, W, C] = reid.metadata.inputShape as [number, number, number];
  const per = H * W * C;
  if (data.length !== count * per) throw new ModelError(`expected ${count}×${H}×${W}×${C} values, got ${data.length}`);
  const out = reid.model.getLayer(tfjsLayerName(fm.name)).output as tf.SymbolicTensor;
  const view = tf.model({ inputs: reid.model.inputs, outputs: out, name: `${reid.model.name}_featuremap` });
  const [h, w] = fm.shape as [number, number, number];
  const maps = new Float32Array(count * h * w);
  for (let i = 0; i < count; i += batchSize) {
    const n = Math.min(batchSize, count - i);
    const m = tf.tidy(() => {
      const x = tf.tensor4d(data.subarray(i * per, (i + n) * per), [n, H, W, C]);
      return tf.sum(tf.square(view.apply(x, { training: false }) as tf.Tensor4D), -1);
    });
    maps.set((await m.data()) as Float32Array, i * h * w);
    m.dispose();
  }
  return { maps, h, w };
}
