import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ImageError, loadImages } from '../tfjs/preprocess.js';
import { CliError } from './errors.js';
import { featureFormat, writeFeatures } from './features-out.js';
import { IMAGE_MODEL_OPTIONS, imageModelArgs, loadImageModel } from './image-model.js';
import { assertFiniteFeatures, NonFiniteFeaturesError } from '../training/eval/finite.js';

/**
 * `embed [GRAPH.json | --preset NAME …] --weights FILE|RUN_DIR --images DIR --out FEATS.npy|.safetensors|.json
 * [--backend NAME] [--progress MODE] [--allow-partial] [--source-model]`: eval-mode features of every image in DIR (sorted by file name),
 * pre-processed as the frameworks do at test time with the document's pre-processing (resize filter,
 * pixel mean / std; RSB's without a block). The format follows --out's extension
 * (main/cli/features-out.ts); JSON (a script contract: add fields, never rename) is
 * { files, features, backend, load: <weights load report>, backendReport, dim, engine }. `backend` is the engine
 * that computed the features: `onnxruntime` (when onnxruntime-node is installed, or forced with
 * --backend onnxruntime) or the tfjs backend; `engine` says why ({ name, threads?, reason }); `weights` says
 * where they came from ({ source: 'file' | 'checkpoint', step? }; `load` is given for files only).
 * --weights takes a run folder as `eval` and `export` do (its last checkpoint, the classifier sized from the
 * run). Weights that leave any tensor of the feature path (the eval model) missing or of another shape are
 * refused (exit 2, the counts and the first keys): features of a partly random network are no answer. With
 * --allow-partial they are computed anyway, with a warning, as Train goes on once the user confirms.
 * A re-ID checkpoint built on torchvision's ResNet (torchreid, Person_reID_baseline_pytorch ft_net;
 * main/weights/source-model.ts) into a graph whose stem or head is not its model's is refused with the reason
 * (exit 2); --source-model embeds with the checkpoint's own model instead (core/presets/torchvision.ts: the
 * input size from the graph options, the last stride from --last-stride or the code base's default).
 */
export async function embedCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: IMAGE_MODEL_OPTIONS });
  // Refuse an unknown extension before any work.
  const { weights: weightsArg, images, out, progress, batchSize, choice } = imageModelArgs(values, 'FEATS.npy|FEATS.safetensors|FEATS.json', featureFormat);
  const m = await loadImageModel('embed', positionals[0], { ...values, weights: weightsArg, images }, choice);
  const { files, engine, pre, load, report } = m;
  const [h, w] = m.size;
  try {
    // Batch by batch, so a large query/gallery folder never sits in memory as one float array.
    let rows = new Float32Array(0);
    let dim = 0;
    let resized = 0;
    for (let i = 0; i < files.length; i += batchSize) {
      const chunk = files.slice(i, i + batchSize);
      let data: Float32Array;
      try {
        const loaded = await loadImages(images, chunk, [h, w], pre);
        data = loaded.data;
        resized += loaded.resized;
      } catch (e) {
        if (e instanceof ImageError) throw new CliError(e.message);
        throw e;
      }
      const f = await engine.extract(data, chunk.length, batchSize);
      try {
        assertFiniteFeatures(f.features, f.dim, chunk.length, (j) => join(images, chunk[j]!));
      } catch (e) {
        if (e instanceof NonFiniteFeaturesError) throw new CliError(`${e.message} (${e.code})`);
        throw e;
      }
      if (!dim) {
        dim = f.dim;
        rows = new Float32Array(files.length * dim);
      }
      rows.set(f.features.subarray(0, chunk.length * dim), i * dim);
      progress.update('embed', Math.min(files.length, i + chunk.length), files.length);
    }
    progress.end();
    if (resized) process.stderr.write(`reid-studio: resized ${resized} image(s) to ${h}×${w} (${pre.interpolation}, as PIL)\n`);
    const extra = { backend: engine.name, ...(load ? { load } : {}), weights: m.weightsSource, ...(report ? { backendReport: report } : {}), engine: { name: engine.name, threads: engine.threads, reason: engine.reason } };
    const written = await writeFeatures(out, { files, data: rows, dim, extra });
    process.stderr.write(`reid-studio: wrote ${files.length} features of dimension ${dim} to ${written.join(' + ')}\n`);
  } finally {
    await m.dispose();
  }
}
