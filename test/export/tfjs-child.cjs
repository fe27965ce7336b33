// A user's own Node script (CommonJS): plain @tensorflow/tfjs, the export's reid-studio-layers.js, and
// tf.loadLayersModel('file://…'). Usage: node tfjs-child.cjs MODEL_DIR INPUT.f32 SHAPE_JSON OUT_DIR
const tf = require('@tensorflow/tfjs');
const fs = require('node:fs');
const path = require('node:path');

(async () => {
  const [modelDir, inputPath, shapeJson, outDir] = process.argv.slice(2);
  await tf.setBackend('cpu');
  if (!process.env.SKIP_LAYERS) require(path.join(modelDir, 'reid-studio-layers.js'));
  const model = await tf.loadLayersModel('file://' + path.join(modelDir, 'model.json'));
  const b = fs.readFileSync(inputPath);
  const x = tf.tensor4d(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), JSON.parse(shapeJson));
  let outs = model.predict(x);
  if (!Array.isArray(outs)) outs = [outs];
  outs.forEach((t, i) => {
    const d = t.dataSync();
    fs.writeFileSync(path.join(outDir, `out${i}.f32`), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  });
  const report = {
    backend: tf.getBackend(),
    shapes: outs.map((t) => t.shape),
    metadata: model.getUserDefinedMetadata(),
    classes: [...new Set(model.layers.map((l) => l.getClassName()))].sort(),
  };
  process.stdout.write(JSON.stringify(report));
})().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
