/**
 * Where training data comes from: the built-in demo dataset (generated once per size/seed and cached in
 * the app's data folder: the host's `--data-dir`, else REID_STUDIO_HOME / the platform's config folder)
 * or a folder the user points at, whose layout is detected.
 */
import { basename, dirname, join } from 'node:path';
import type { TrainingSettings } from '../../core/index.js';
import { defaultDataDir } from '../io/paths.js';
import { DatasetError, detectLayout, loadDataset, type DatasetKind, type LoadedDataset } from './data/datasets.js';

export { detectLayout };
import { Worker } from 'node:worker_threads';
import { DEMO_SIZES, isDemoDataset, writeDemoDataset, type DemoSize } from './data/demo.js';
import { workerEntry } from './data/worker-url.js';

/** `<root>/demo/<size>-seed<seed>`; `root` is the app's data folder (default: REID_STUDIO_HOME or the platform's config folder). */
export function demoDir(size: DemoSize, seed = 0, root: string = defaultDataDir()): string {
  return join(root, 'demo', `${size}-seed${seed}`);
}

/** Generating takes seconds of CPU: in a long-lived host (the service) it runs in a worker thread. */
function generateInWorker(dir: string, size: DemoSize, seed: number): Promise<void> {
  const { url, execArgv } = workerEntry('demo-worker', new URL('./data/demo-worker.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const w = new Worker(url, { workerData: { dir, size, seed }, execArgv });
    w.once('message', (m: { ok: boolean; message?: string }) => (m.ok ? resolve() : reject(new DatasetError(`could not generate the demo dataset: ${m.message}`))));
    w.once('error', (e) => reject(new DatasetError(`could not generate the demo dataset: ${e.message}`)));
    w.once('exit', (code) => code !== 0 && reject(new DatasetError(`demo dataset generator exited with code ${code}`)));
  });
}

const pending = new Map<string, Promise<void>>();

/** The demo dataset of that size, generated on first use (once, even when asked concurrently). */
export async function ensureDemo(size: DemoSize = 'small', seed = 0, opts: { offThread?: boolean; root?: string } = {}): Promise<string> {
  if (!(size in DEMO_SIZES)) throw new DatasetError(`unknown demo size "${size}" (tiny, small, medium)`);
  const dir = demoDir(size, seed, opts.root);
  if (isDemoDataset(dir)) return dir;
  let p = pending.get(dir);
  if (!p) {
    p = (opts.offThread ? generateInWorker(dir, size, seed) : writeDemoDataset(dir, size, seed).then(() => undefined)).finally(() => pending.delete(dir));
    pending.set(dir, p);
  }
  await p;
  return dir;
}

export interface DataSourceArgs {
  demo?: boolean;
  demoSize?: DemoSize;
  data?: string;
  layout?: DatasetKind;
  k?: number;
  /** Generate a missing demo dataset in a worker thread (keeps a server's event loop free). */
  offThread?: boolean;
  /** The app's data folder the demo cache lives under (a host's `--data-dir`); default: defaultDataDir(). */
  dataDir?: string;
}

export async function openDataSource(a: DataSourceArgs): Promise<LoadedDataset> {
  if (a.demo && a.data) throw new DatasetError('give either --demo or --data DIR, not both');
  if (!a.demo && !a.data) throw new DatasetError('choose the data: --demo (the built-in synthetic dataset) or --data DIR');
  if (a.demo) return loadDataset('market1501', await ensureDemo(a.demoSize ?? 'small', 0, { ...(a.offThread ? { offThread: true } : {}), ...(a.dataDir ? { root: a.dataDir } : {}) }), { k: a.k ?? 4 });
  const kind = a.layout ?? detectLayout(a.data!);
  return loadDataset(kind, a.data!, { k: a.k ?? 4 });
}

/** The demo size of a demo cache folder (`<data folder>/demo/<size>-seed<n>`, demoDir), else null. */
export function demoSizeOf(root: string): DemoSize | null {
  const m = /^(tiny|small|medium)-seed\d+$/.exec(basename(root));
  return m && basename(dirname(root)) === 'demo' ? (m[1] as DemoSize) : null;
}

/** settings.json's `dataset` for the data a run trains on (the demo of its size, or the folder in its layout). */
export function recordedDataset(ds: Pick<LoadedDataset, 'kind' | 'root'>): TrainingSettings['dataset'] {
  const size = demoSizeOf(ds.root);
  return size ? { kind: 'demo', demoSize: size } : { kind: ds.kind, path: ds.root, demoSize: 'small' };
}
