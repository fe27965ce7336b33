/**
 * The dataset a run trained on, one way for resume, evaluation and relocation (CLI and app):
 *   run.json `dataset`  { kind, root, summary, fingerprint } as the trainer loaded it (training/engine/trainer.ts)
 *   settings.json `dataset`  the data source as chosen: { kind: 'demo', demoSize } or { kind: LAYOUT, path }
 * A run whose folder moved is pointed at its new place with `train --resume RUN --data NEWDIR`: the folder must
 * hold the same dataset (same layout, the same files per split — the fingerprint — or, for runs recorded before
 * the fingerprint, the same identity / image / camera counts per split), and run.json is rewritten atomically.
 */
import { counted } from '../../core/index.js';
import { existsSync } from 'node:fs';
import { datasetFingerprint, type DatasetSummary, type LoadedDataset, type SplitSummary } from '../training/data/datasets.js';
import { demoSizeOf, type DataSourceArgs } from '../training/sources.js';
import { RunDir } from './store/run-dir.js';

/** run.json's `dataset` block. */
export interface RunDataset {
  kind: string;
  root: string;
  summary?: DatasetSummary;
  /** datasetFingerprint of what was loaded (runs trained since it was recorded). */
  fingerprint?: string;
}

/** A run's dataset folder is gone (moved or deleted); `message` says how to point the run at its new place. */
export class DataMovedError extends Error {}

/**
 * The data source of a run's dataset: its folder while it exists; a demo dataset whose cache folder is gone is
 * generated again (the same size and seed give the same images) under `o.dataDir` (default: the app's data
 * folder). Throws DataMovedError when a user's folder is gone, saying `o.how` (how this command points the run
 * at the folder's new place).
 */
export function runDataSource(d: RunDataset, o: { how: string; dataDir?: string }): DataSourceArgs {
  if (existsSync(d.root)) return { data: d.root, layout: d.kind as DataSourceArgs['layout'] };
  const size = demoSizeOf(d.root);
  if (size) return { demo: true, demoSize: size, ...(o.dataDir ? { dataDir: o.dataDir } : {}) };
  throw new DataMovedError(`the run's dataset folder ${d.root} is gone (moved or deleted): ${o.how}`);
}

const splitLine = (s: SplitSummary) => `${counted(s.identities, 'identity', 'identities')}, ${counted(s.images, 'image')}, ${counted(s.cameras, 'camera')}`;

/**
 * Why `loaded` is not the dataset the run recorded (null when it is): the layout, then each split's identities /
 * images / cameras and images-per-identity histogram, then the fingerprint (the same counts, other files).
 */
export function datasetDifference(recorded: RunDataset, loaded: LoadedDataset): string | null {
  if (recorded.kind !== loaded.kind) return `its layout is ${loaded.kind}, the run's was ${recorded.kind}`;
  const was = recorded.summary;
  if (was)
    for (const split of ['train', 'query', 'gallery'] as const) {
      const a = was[split];
      const b = loaded.summary[split];
      if (!a) continue;
      if (a.identities !== b.identities || a.images !== b.images || a.cameras !== b.cameras) return `its ${split} split has ${splitLine(b)}; the run's had ${splitLine(a)}`;
      if (JSON.stringify(Object.entries(a.imagesPerIdentity).sort()) !== JSON.stringify(Object.entries(b.imagesPerIdentity).sort()))
        return `its ${split} split has other images per identity than the run's (the same totals)`;
    }
  if (recorded.fingerprint && recorded.fingerprint !== datasetFingerprint(loaded)) return "the same counts per split, but other file names, identities or cameras (the run's fingerprint differs)";
  if (!was && !recorded.fingerprint) return 'the run recorded nothing to compare it with';
  return null;
}

/**
 * Points the run in `runDir` at `loaded` (the same dataset, checked with datasetDifference) in its new folder: run.json's
 * dataset rewritten atomically (RunDir.writeJson), settings.json's path when it names one, and a line in train.log.
 * The caller holds the run's lock.
 */
export async function relocateRunData(runDir: string, from: RunDataset, loaded: LoadedDataset): Promise<void> {
  const run = new RunDir(runDir);
  await run.updateInfo({ dataset: { ...from, kind: loaded.kind, root: loaded.root, summary: loaded.summary, fingerprint: datasetFingerprint(loaded) } } as never);
  const settings = await run.readJson<{ dataset?: { kind?: string; path?: string } }>('settings.json');
  if (settings?.dataset?.path !== undefined) await run.writeJson('settings.json', { ...settings, dataset: { ...settings.dataset, path: loaded.root } });
  await run.log(`data moved: ${from.root} → ${loaded.root} (the same dataset: layout, identities, images and cameras per split${from.fingerprint ? ', file fingerprint' : ''})`);
}
