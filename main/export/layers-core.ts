/**
 * What the custom tfjs layers (main/tfjs/layers) take from core/, for the standalone layers bundle: the
 * bundle maps their `core/index.js` import here so it does not pull in all of core (zod, immer, …).
 */
export { CUSTOM_LAYER_CLASSES } from '../../core/compile/keras.js';
export { ibnHalf } from '../../core/registry/kinds/ibn_a.js';
