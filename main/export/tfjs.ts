/**
 * The `tfjs` export: `model.json` (tfjs layers format, the app's Keras-JSON topology and its output roles
 * in userDefinedMetadata) + weight shards of at most 4 MiB (like tensorflowjs_converter) + the standalone
 * custom-layer registration (`reid-studio-layers.js` CommonJS, `.mjs` ES module). Loadable with
 * `tf.loadLayersModel` once that file is loaded, and by the app's own `loadModelDir`.
 */
import type * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import type { ReidModel } from '../tfjs/index.js';
import { writeFileSynced as writeSynced } from '../io/files.js';
import { LAYERS_FILE, layersBundle } from './layers-bundle.js';
import type { ExportPreprocessing } from './preprocessing.js';

export const SHARD_BYTES = 4 * 1024 * 1024;

function usage(meta: ReidModel['metadata'], pre?: ExportPreprocessing): string {
  const [h, w, c] = meta.inputShape;
  const preText = pre
    ? `Preprocessing (also in model.json userDefinedMetadata.reidStudio.preprocessing): resize to ${pre.size[0]}x${pre.size[1]}
(height x width, PIL ${pre.interpolation}), RGB / 255, subtract mean [${pre.mean.join(', ')}], divide by std [${pre.std.join(', ')}].
`
    : '';
  return `ReID Studio tfjs export
=======================
model.json + group1-shard*.bin: a TensorFlow.js layers model; ${LAYERS_FILE}.js (CommonJS) / .mjs (ES module)
registers the app's custom layers (ReidBatchNorm, ReidInstanceNorm, ReidIBNa, ReidMaxPool2D, ReidGeMPool,
ReidNonLocalAttention)
with your @tensorflow/tfjs, and in Node adds a file:// loader when none is installed (tfjs-node has one).

    const tf = require('@tensorflow/tfjs');
    require('./${LAYERS_FILE}.js');  // ES modules: import './${LAYERS_FILE}.mjs';
    tf.loadLayersModel('file://' + __dirname + '/model.json').then((model) => {
      // x: [N, ${h}, ${w}, ${c}] float32 (NHWC), normalised like the app's input
      const outputs = model.predict(x);  // in this order: ${meta.outputs.join(', ')}
    });

Output roles (also in model.json userDefinedMetadata.reidStudio.roles): ${JSON.stringify(meta.roles)}.
The eval feature is the retrieval embedding; call the model with training=false (predict does).
${preText}`;
}

/** Adds `reidStudio.preprocessing` (input size, mean / std, interpolation) to the model's metadata. */
function withPreprocessing(meta: tf.io.ModelJSON['userDefinedMetadata'], pre?: ExportPreprocessing): tf.io.ModelJSON['userDefinedMetadata'] {
  if (!pre) return meta;
  const reid = (meta?.reidStudio ?? {}) as Record<string, {}>;
  return { ...meta, reidStudio: { ...reid, preprocessing: { ...pre } } };
}

/** Writes the tfjs export into `dir` (an empty folder). Returns the file names. */
export async function writeTfjsExport(dir: string, reid: ReidModel, preprocessing?: ExportPreprocessing): Promise<string[]> {
  // TensorFlow.js loads with this export only: the other formats read the weight store (main/weights/store.ts).
  const { toArtifacts } = await import('../tfjs/index.js');
  const a = await toArtifacts(reid);
  const data = new Uint8Array(a.weightData as ArrayBuffer);
  const n = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
  const paths = Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
  for (const [i, p] of paths.entries()) await writeSynced(join(dir, p), data.subarray(i * SHARD_BYTES, Math.min(data.byteLength, (i + 1) * SHARD_BYTES)));
  const json: tf.io.ModelJSON = {
    format: 'layers-model',
    generatedBy: a.generatedBy ?? 'TensorFlow.js',
    convertedBy: 'ReID Studio',
    modelTopology: a.modelTopology as tf.io.ModelJSON['modelTopology'],
    weightsManifest: [{ paths, weights: a.weightSpecs ?? [] }],
    userDefinedMetadata: withPreprocessing(a.userDefinedMetadata, preprocessing),
  };
  const bundle = await layersBundle();
  await writeSynced(join(dir, `${LAYERS_FILE}.js`), bundle.cjs);
  await writeSynced(join(dir, `${LAYERS_FILE}.mjs`), bundle.esm);
  await writeSynced(join(dir, 'README.txt'), usage(reid.metadata, preprocessing));
  await writeSynced(join(dir, 'model.json'), JSON.stringify(json));
  return ['model.json', ...paths, `${LAYERS_FILE}.js`, `${LAYERS_FILE}.mjs`, 'README.txt'];
}
