/**
 * `runs.actmaps`: activation maps of a run's rank-list images (main/image/actmap.ts), computed with the run's
 * checkpoint by the engine `eval` uses (main/onnx/engine.ts, `auto`), the map being an extra output of the
 * same lowered graph. The model of one run stays loaded between calls (a page of rank lists asks for ~66
 * images; the next page for the same run reuses it) and is reloaded when the checkpoint changes.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { analyze, compileToKeras, parseDocument } from '../../core/index.js';
import type { CallOutput } from '../../core/api/contract.js';
import { ActmapImageError, actmapPictures } from '../image/actmap.js';
import { imagePreprocessOf } from '../image/decode.js';
import { readTextFile } from '../io/files.js';
import { featureEngine, type FeatureEngine } from '../onnx/engine.js';
import { loadRunWeights } from '../runs/store/run-weights.js';
import { buildFromCompiled, disposeModel, initBackend, type ReidModel } from '../tfjs/index.js';

interface Loaded {
  key: string;
  reid: ReidModel;
  engine: FeatureEngine;
  size: [number, number];
  pre: ReturnType<typeof imagePreprocessOf>;
}

/** Thumbnail size of an overlaid map (width × height; twice the rank list's 48 × 96 thumbnails). */
const OUT_W = 96;
const OUT_H = 192;

export class RunActmaps {
  private held?: Promise<Loaded>;

  /** The run's graph with its last checkpoint on the evaluating engine (actmap output included). */
  private async load(runDir: string, weightsDir: string): Promise<Loaded> {
    const manifest = join(weightsDir, 'checkpoint', 'manifest.json');
    const key = `${weightsDir}\n${(await stat(manifest).catch(() => undefined))?.mtimeMs ?? 0}`;
    const current = await this.held?.catch(() => undefined);
    if (current?.key === key) return current;
    if (current) await RunActmaps.release(current);
    this.held = (async () => {
      const doc = parseDocument(await readTextFile(join(runDir, 'graph.json'), 'document'));
      const analysis = analyze(doc.graph);
      const compiled = compileToKeras(analysis);
      const report = await initBackend('auto');
      const reid = await buildFromCompiled(compiled);
      try {
        await loadRunWeights(reid, analysis.layers, weightsDir);
        const engine = await featureEngine(reid, compiled, 'auto', report.backend, 'eval', { actmap: true });
        const [h, w] = compiled.metadata.inputShape as [number, number, number];
        return { key, reid, engine, size: [h, w] as [number, number], pre: imagePreprocessOf(doc) };
      } catch (e) {
        disposeModel(reid);
        throw e;
      }
    })();
    return this.held;
  }

  private static async release(l: Loaded): Promise<void> {
    await l.engine.dispose();
    disposeModel(l.reid);
  }

  /**
   * Overlaid maps of `paths` (each already allowed by the caller) as JPEG data URLs, with the weights of the
 * checkpoint in `weightsDir` (the run folder: its last; RUN_DIR/best: its best by mAP); an unreadable image gets
   * null; `opacity` is the map's weight in the blend (torchreid's 0.7 by default). Throws core's CompileError for a graph without a spatial feature map, the weights resolver's
   * errors for a run without a checkpoint.
   */
  async pictures(runDir: string, paths: string[], weightsDir = runDir, opacity?: number): Promise<CallOutput<'runs.actmaps'>> {
    const l = await this.load(runDir, weightsDir);
    const actmaps = l.engine.actmaps!;
    let featureMap: [number, number] = [0, 0];
    const urls = new Map<string, string | null>();
    const encode = async (rgb: Uint8Array) => {
      const jpg = await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width: l.size[1], height: l.size[0], channels: 3 } })
        .resize(OUT_W, OUT_H, { fit: 'fill' })
        .jpeg({ quality: 85 })
        .toBuffer();
      return `data:image/jpeg;base64,${jpg.toString('base64')}`;
    };
    const run = async (batch: string[]) => {
      const r = await actmapPictures(batch, l.size, l.pre, actmaps, undefined, opacity);
      featureMap = [r.h, r.w];
      for (const [i, p] of r.pictures.entries()) urls.set(batch[i]!, await encode(p.rgb));
    };
    try {
      await run(paths);
    } catch (e) {
      if (!(e instanceof ActmapImageError)) throw e;
      // One image cannot be read: the others still get their maps.
      for (const p of paths)
        await run([p]).catch((err: unknown) => {
          if (!(err instanceof ActmapImageError)) throw err;
          urls.set(p, null);
        });
    }
    return { engine: l.engine.name, featureMap, images: paths.map((p) => ({ path: p, dataUrl: urls.get(p) ?? null })) };
  }

  /** Frees the loaded model. */
  async dispose(): Promise<void> {
    const current = await this.held?.catch(() => undefined);
    this.held = undefined;
    if (current) await RunActmaps.release(current);
  }
}
