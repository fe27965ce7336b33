/**
 * Entry of `reid-studio-layers.js` / `.mjs`, the standalone file shipped with a `tfjs` export (bundled by
 * esbuild with `@tensorflow/tfjs` left external, so the classes register in the user's own tfjs).
 * Loading it registers ReID Studio's custom layers for `tf.loadLayersModel`, and in Node, when nothing
 * else handles `file://` URLs (tfjs-node does), a small file:// loader that reads model.json and its
 * weight shards.
 */
import * as tf from '@tensorflow/tfjs';
import { registerCustomLayers } from '../tfjs/layers/index.js';

export { ReidBatchNorm, ReidIBNa, ReidInstanceNorm, ReidGeMPool, ReidMaxPool2D, ReidNonLocalAttention } from '../tfjs/layers/index.js';

const FILE = 'file://';

interface ModelJson {
  modelTopology?: tf.io.ModelArtifacts['modelTopology'];
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  userDefinedMetadata?: tf.io.ModelArtifacts['userDefinedMetadata'];
}

function pathOf(url: string): string {
  let p = decodeURIComponent(url.slice(FILE.length));
  if (/^\/[A-Za-z]:[\\/]/.test(p)) p = p.slice(1); // file:///C:/… on Windows
  return p;
}

function fileLoader(url: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const fs = await import('node:fs/promises');
      const path = await import('node:path');
      const file = pathOf(url);
      let json: ModelJson;
      try {
        json = JSON.parse(await fs.readFile(file, 'utf8')) as ModelJson;
      } catch (e) {
        throw new Error(`cannot read ${file}: ${(e as Error).message}`);
      }
      if (!json.modelTopology) throw new Error(`${file} has no modelTopology: not a tfjs layers model`);
      const dir = path.dirname(file);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest ?? []) {
        for (const p of group.paths) {
          const b = await fs.readFile(path.join(dir, p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
        specs.push(...group.weights);
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: specs,
        weightData: new tf.io.CompositeArrayBuffer(buffers).slice(),
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

let asking = false;
/** Handles file:// only when no other router does (tfjs-node registers its own). */
function fileRouter(url: string | string[]): tf.io.IOHandler | null {
  if (asking || typeof url !== 'string' || !url.startsWith(FILE)) return null;
  asking = true;
  try {
    if (tf.io.getLoadHandlers(url).length > 0) return null;
  } finally {
    asking = false;
  }
  return fileLoader(url);
}

registerCustomLayers();
const isNode = typeof process !== 'undefined' && !!process.versions?.node;
// tfjs routers return null for URLs they do not handle (its IORouter type omits the null).
if (isNode) tf.io.registerLoadRouter(fileRouter as Parameters<typeof tf.io.registerLoadRouter>[0]);

/** Registers the custom layers (already done on load; idempotent). */
export function register(): void {
  registerCustomLayers();
}
