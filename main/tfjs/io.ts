/**
 * Saving and loading the tfjs model (model.json + weights.bin, the tfjs layers format) without the
 * native binding's `file://` handler. The app's output roles travel in `userDefinedMetadata`, the
 * custom layers are registered before loading. Files are written atomically.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { readRegularFile, readTextFile, writeFileAtomic } from '../io/files.js';
import { registerCustomLayers } from './layers/index.js';
import { fromLoadedModel, ModelError, type ReidModel } from './model.js';

/** In 4.22 `weightData` may be a list of buffers: join them. */
function joinWeights(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (!data) return new ArrayBuffer(0);
  return new tf.io.CompositeArrayBuffer(data).slice();
}

/** The model as tfjs artifacts (topology, weight specs and data, metadata). */
export async function toArtifacts(reid: ReidModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await reid.model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return { ...captured!, weightData: joinWeights(captured!.weightData) };
}

export async function fromArtifacts(artifacts: tf.io.ModelArtifacts): Promise<ReidModel> {
  registerCustomLayers();
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  return fromLoadedModel(model);
}

/** Writes `dir/model.json` and `dir/weights.bin`. */
export async function saveModelDir(reid: ReidModel, dir: string): Promise<void> {
  const a = await toArtifacts(reid);
  const json = {
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    userDefinedMetadata: a.userDefinedMetadata,
  };
  await writeFileAtomic(join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
  await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(json));
}

export async function loadModelDir(dir: string): Promise<ReidModel> {
  let json: { modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; userDefinedMetadata?: Record<string, unknown> };
  try {
    json = JSON.parse(await readTextFile(join(dir, 'model.json'), 'json'));
  } catch (e) {
    throw new ModelError(`cannot read ${join(dir, 'model.json')}: ${(e as Error).message}`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new ModelError(`${join(dir, 'model.json')} is not a tfjs layers model`);
  const buffers: ArrayBuffer[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      let b: Buffer;
      try {
        b = await readRegularFile(join(dir, p), 'weights');
      } catch (e) {
        throw new ModelError(`cannot read a weight shard: ${(e as Error).message}`);
      }
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
    specs.push(...group.weights);
  }
  return fromArtifacts({
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: new tf.io.CompositeArrayBuffer(buffers).slice(),
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
  });
}
