import { stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { CompileError } from '../../core/index.js';
import { ActmapImageError, actmapPictures, encodePng } from '../image/actmap.js';
import { makeFolders, writeFileAtomic } from '../io/files.js';
import { CliError } from './errors.js';
import { IMAGE_MODEL_OPTIONS, imageModelArgs, loadImageModel } from './image-model.js';

/**
 * `actmap [GRAPH.json | --preset NAME …] --weights FILE|RUN_DIR --images DIR --out DIR [--backend NAME]
 * [--batch-size N] [--allow-partial] [--progress MODE] [--json]`: torchreid's activation maps
 * (`tools/visualize_actmap.py`: the last feature map's squared activations summed over channels, L2-normalised
 * over the positions, resized to the image, jet-coloured, blended image·0.3 + map·0.7) of every image in DIR,
 * computed by the engine `eval` uses as an extra output of the same lowered graph, written as
 * OUT/<image name without extension>.png at the model's input size. Weights as `embed` takes them (a run
 * folder: its last checkpoint; partial weights refused unless --allow-partial). --json prints
 * { files: [{ image, png }], featureMap: [h, w], backend, engine: { name, threads, reason }, weights }
 * (a script contract: fields are only added). Errors (exit 2): a graph whose eval feature is not pooled from
 * a spatial map, two images with the same name stem, an --out that is a file.
 */
export async function actmapCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...IMAGE_MODEL_OPTIONS, json: { type: 'boolean' } } });
  const { weights, images, out, progress, batchSize, choice } = imageModelArgs(values, 'DIR (the folder the PNGs are written to)');
  const outStat = await stat(out).catch(() => undefined);
  if (outStat && !outStat.isDirectory()) throw new CliError(`--out ${out} is a file, not a folder`);
  const m = await loadImageModel('actmap', positionals[0], { ...values, weights, images }, choice, { actmap: true });
  try {
    const { files, engine } = m;
    const pngOf = (f: string) => `${basename(f, extname(f))}.png`;
    const seen = new Map<string, string>();
    for (const f of files) {
      const other = seen.get(pngOf(f));
      if (other) throw new CliError(`${other} and ${f} would both be written to ${pngOf(f)}; put them in separate folders`);
      seen.set(pngOf(f), f);
    }
    if (!engine.actmaps) throw new CliError(`the ${engine.name} engine cannot compute activation maps for this graph`);
    await makeFolders(out); // never hangs (/proc/self/x) and fails as a one-line FileError
    const [H, W] = m.size;
    let featureMap: [number, number] = [0, 0];
    const written: { image: string; png: string }[] = [];
    for (let i = 0; i < files.length; i += batchSize) {
      const chunk = files.slice(i, i + batchSize);
      let r;
      try {
        r = await actmapPictures(chunk.map((f) => join(images, f)), m.size, m.pre, engine.actmaps, batchSize);
      } catch (e) {
        if (e instanceof CompileError) throw new CliError(e.message);
        if (e instanceof ActmapImageError) throw new CliError(e.message);
        throw e;
      }
      featureMap = [r.h, r.w];
      for (const [j, p] of r.pictures.entries()) {
        const png = join(out, pngOf(chunk[j]!));
        await writeFileAtomic(png, await encodePng(p.rgb, H, W));
        written.push({ image: chunk[j]!, png });
      }
      progress.update('actmap', Math.min(files.length, i + chunk.length), files.length);
    }
    progress.end();
    process.stderr.write(`reid-studio: wrote ${written.length} activation map(s) of ${featureMap[0]}×${featureMap[1]} positions, overlaid at ${H}×${W}, to ${out}\n`);
    if (values.json) {
      const result = { files: written, featureMap, backend: engine.name, engine: { name: engine.name, threads: engine.threads, reason: engine.reason }, weights: m.weightsSource };
      process.stdout.write(JSON.stringify(result) + '\n');
    }
  } finally {
    await m.dispose();
  }
}
