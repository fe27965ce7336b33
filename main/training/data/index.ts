/** Data side of the training engine: datasets, samplers, augmentation, worker pipeline, demo data. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainingSettings } from '../../../core/training/settings.js';
import { DatasetError, loadDataset, type LoadedDataset, type LoadOptions } from './datasets.js';
import { DEMO_MARKER, writeDemoDataset, type DemoSize } from './demo.js';

export * from './augment.js';
export * from './datasets.js';
export * from './demo.js';
export * from './pipeline.js';
export * from './rng.js';
export * from './samplers.js';

/**
 * Opens the dataset named by the training settings. The built-in demo dataset is generated on first use
 * into `<demoCacheDir>/demo-<size>` (deterministic, seed 0) and reused afterwards.
 */
export async function openDataset(ds: TrainingSettings['dataset'], opts: LoadOptions & { demoCacheDir: string }): Promise<LoadedDataset> {
  if (ds.kind === 'demo') {
    const size: DemoSize = ds.demoSize;
    const dir = join(opts.demoCacheDir, `demo-${size}`);
    let ok = false;
    try {
      const m = JSON.parse(readFileSync(join(dir, DEMO_MARKER), 'utf8')) as { size?: string; seed?: number; version?: number };
      ok = m.size === size && m.seed === 0 && m.version === 1;
    } catch {
      ok = false;
    }
    if (!ok) await writeDemoDataset(dir, size, 0);
    return loadDataset('market1501', dir, opts);
  }
  if (!ds.path) throw new DatasetError(`dataset kind '${ds.kind}' needs a path (training.dataset.path)`);
  if (!existsSync(ds.path)) throw new DatasetError(`dataset folder not found: ${ds.path}`);
  return loadDataset(ds.kind, ds.path, opts);
}
