// The same as tfjs-child.cjs from an ES module: `import` of the export's reid-studio-layers.mjs.
import * as tf from '@tensorflow/tfjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modelDir, inputPath, shapeJson, outDir] = process.argv.slice(2);
await tf.setBackend('cpu');
await import(pathToFileURL(join(modelDir, 'reid-studio-layers.mjs')).href);
const model = await tf.loadLayersModel('file://' + join(modelDir, 'model.json'));
const b = readFileSync(inputPath);
const x = tf.tensor4d(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), JSON.parse(shapeJson));
let outs = model.predict(x);
if (!Array.isArray(outs)) outs = [outs];
outs.forEach((t, i) => {
  const d = t.dataSync();
  writeFileSync(join(outDir, `out${i}.f32`), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
});
process.stdout.write(JSON.stringify({ backend: tf.getBackend(), shapes: outs.map((t) => t.shape), metadata: model.getUserDefinedMetadata() }));
