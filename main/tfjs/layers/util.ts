/** Small helpers shared by the custom layers. */
import type * as tf from '@tensorflow/tfjs';

export type Kwargs = { training?: boolean; [k: string]: unknown };

/** The single input of a one-input layer. */
export function one(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/** The input shape of a one-input layer. */
export function shapeOf(s: tf.Shape | tf.Shape[]): tf.Shape {
  return (Array.isArray(s[0]) ? s[0] : s) as tf.Shape;
}
