/**
 * Dataset readers: Market-1501 and DukeMTMC-reID layouts (`bounding_box_train/`,
 * `query/`, `bounding_box_test/`, names parsed with RSB/fast-reid's regex `([-\d]+)_c(\d)`), and a
 * class-per-folder layout for plain classification. Bad data is reported, never fatal and never silent.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { readRegularFile } from '../../io/files.js';

export type DatasetKind = 'market1501' | 'dukemtmc' | 'class_folders';

export interface ImageRecord {
  path: string;
  /** Original person id (class index for class folders). */
  pid: number;
  /** 0-based camera id (0 for class folders). */
  camid: number;
  /** Training label 0..P−1 (train split); equals pid for query/gallery. */
  label: number;
}

export interface SplitSummary {
  identities: number;
  images: number;
  cameras: number;
  /** images-per-identity → number of identities with that many images. */
  imagesPerIdentity: Record<number, number>;
}

export interface DatasetProblems {
  /** Market/Duke junk images (pid −1), dropped at load as in RSB. */
  junkDropped: number;
  /** Distractor images (pid 0) outside the gallery: they are not one person, so not a class or a query. */
  distractorsDropped: number;
  /** Files whose names do not match the layout's pattern. */
  unparsable: string[];
  /** Files sharp could not read (checked with metadata() at load, or found at first decode). */
  unreadable: { path: string; reason: string }[];
  /** Training identities with fewer than K images: the P×K sampler draws them with replacement (RSB). */
  identitiesBelowK: { pid: number; images: number }[];
}

export interface LoadedDataset {
  kind: DatasetKind;
  root: string;
  train: ImageRecord[];
  query: ImageRecord[];
  gallery: ImageRecord[];
  /** Number of training identities / classes. */
  numClasses: number;
  /** Original pid (or folder name) of each training label. */
  classNames: string[];
  summary: { train: SplitSummary; query: SplitSummary; gallery: SplitSummary };
  problems: DatasetProblems;
}

/** A user-facing dataset problem (wrong layout, empty split): printed as one line. */
export class DatasetError extends Error {}

const IMAGE_EXT = /\.(jpe?g|png|bmp|webp)$/i;
const PID_CAM = /([-\d]+)_c(\d)/;

const NESTED: Record<'market1501' | 'dukemtmc', string[]> = {
  market1501: ['', 'market1501', 'Market-1501-v15.09.15', 'Market-1501', 'Market1501', 'market-1501'],
  dukemtmc: ['', 'DukeMTMC-reID', 'dukemtmc-reid/DukeMTMC-reID', 'dukemtmc-reid', 'dukemtmcreid/DukeMTMC-reID', 'DukeMTMC-reID/DukeMTMC-reID'],
};
const SPLITS = { train: 'bounding_box_train', query: 'query', gallery: 'bounding_box_test' } as const;

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** Finds the folder holding bounding_box_train/query/bounding_box_test under the root or a usual nested name. */
export function resolveReidRoot(kind: 'market1501' | 'dukemtmc', root: string): string {
  const abs = resolve(root);
  if (!isDir(abs)) throw new DatasetError(`dataset folder not found: ${abs}`);
  for (const sub of NESTED[kind]) {
    const cand = join(abs, sub);
    if (Object.values(SPLITS).every((s) => isDir(join(cand, s)))) return cand;
  }
  const name = kind === 'market1501' ? 'Market-1501' : 'DukeMTMC-reID';
  const found = NESTED[kind].map((s) => join(abs, s)).find((c) => Object.values(SPLITS).some((s) => isDir(join(c, s))));
  const missing = found ? Object.values(SPLITS).filter((s) => !isDir(join(found, s))) : Object.values(SPLITS);
  throw new DatasetError(
    `${abs} is not a ${name} dataset: expected the folders ${missing.map((m) => m + '/').join(', ')} in ${found ?? abs}` +
      (found ? '' : ` (or in one of ${NESTED[kind].filter(Boolean).map((s) => s + '/').join(', ')})`),
  );
}

function listImages(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.test(f))
    .sort();
}

function summarize(records: ImageRecord[]): SplitSummary {
  const perId = new Map<number, number>();
  const cams = new Set<number>();
  for (const r of records) {
    perId.set(r.pid, (perId.get(r.pid) ?? 0) + 1);
    cams.add(r.camid);
  }
  const hist: Record<number, number> = {};
  for (const n of perId.values()) hist[n] = (hist[n] ?? 0) + 1;
  return { identities: perId.size, images: records.length, cameras: cams.size, imagesPerIdentity: hist };
}

/** Checks decodability with sharp's header read; bounded concurrency keeps the libuv pool usable. */
async function verifyReadable(records: ImageRecord[], problems: DatasetProblems): Promise<ImageRecord[]> {
  const bad = new Set<number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < records.length) {
      const i = next++;
      const r = records[i]!;
      try {
        const m = await sharp(await readRegularFile(r.path, 'image')).metadata();
        if (!m.width || !m.height) throw new Error('no image dimensions');
      } catch (e) {
        bad.add(i);
        problems.unreadable.push({ path: r.path, reason: (e as Error).message.split('\n')[0]! });
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return bad.size ? records.filter((_, i) => !bad.has(i)) : records;
}

export interface LoadOptions {
  /** Images per identity of the P×K sampler, to report identities below it. */
  k?: number;
  /** Check every image header with sharp at load (default true). */
  verify?: boolean;
}

function readReidSplit(dir: string, problems: DatasetProblems, keepDistractors: boolean): ImageRecord[] {
  const out: ImageRecord[] = [];
  for (const f of listImages(dir)) {
    const m = PID_CAM.exec(f);
    if (!m) {
      problems.unparsable.push(join(dir, f));
      continue;
    }
    const pid = Number(m[1]);
    const cam = Number(m[2]);
    if (!Number.isInteger(pid) || !Number.isInteger(cam)) {
      problems.unparsable.push(join(dir, f));
      continue;
    }
    // RSB market1501.py / dukemtmcreid.py: junk (pid −1) is dropped; pid 0 distractors are kept.
    if (pid === -1) {
      problems.junkDropped++;
      continue;
    }
    if (pid === 0 && !keepDistractors) {
      problems.distractorsDropped++;
      continue;
    }
    if (cam < 1) {
      problems.unparsable.push(join(dir, f));
      continue;
    }
    out.push({ path: join(dir, f), pid, camid: cam - 1, label: pid });
  }
  return out;
}

function belowK(train: ImageRecord[], k: number): { pid: number; images: number }[] {
  const perId = new Map<number, number>();
  for (const r of train) perId.set(r.pid, (perId.get(r.pid) ?? 0) + 1);
  return [...perId].filter(([, n]) => n < k).map(([pid, images]) => ({ pid, images })).sort((a, b) => a.pid - b.pid);
}

/** Relabels training pids 0..P−1 in ascending pid order (deterministic, unlike RSB's Python-set order). */
function relabel(train: ImageRecord[]): string[] {
  const pids = [...new Set(train.map((r) => r.pid))].sort((a, b) => a - b);
  const map = new Map(pids.map((p, i) => [p, i]));
  for (const r of train) r.label = map.get(r.pid)!;
  return pids.map(String);
}

export async function loadDataset(kind: DatasetKind, path: string, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const problems: DatasetProblems = { junkDropped: 0, distractorsDropped: 0, unparsable: [], unreadable: [], identitiesBelowK: [] };
  const verify = opts.verify ?? true;
  let root: string;
  let train: ImageRecord[];
  let query: ImageRecord[] = [];
  let gallery: ImageRecord[] = [];
  let classNames: string[];
  if (kind === 'class_folders') {
    root = resolve(path);
    if (!isDir(root)) throw new DatasetError(`dataset folder not found: ${root}`);
    // <root>/<class>/*.jpg, or <root>/train/<class>/*.jpg with an optional <root>/val|test/<class>/.
    const trainDir = isDir(join(root, 'train')) ? join(root, 'train') : root;
    const classes = readdirSync(trainDir)
      .filter((d) => isDir(join(trainDir, d)))
      .sort();
    if (classes.length === 0) throw new DatasetError(`${trainDir} has no class sub-folders: expected one folder of images per class (e.g. ${join(trainDir, 'cat')}/001.jpg)`);
    train = [];
    classes.forEach((c, i) => {
      for (const f of listImages(join(trainDir, c))) train.push({ path: join(trainDir, c, f), pid: i, camid: 0, label: i });
    });
    classNames = classes;
    const valName = ['val', 'test'].find((v) => trainDir !== root && isDir(join(root, v)));
    if (valName) {
      const index = new Map(classes.map((c, i) => [c, i]));
      for (const c of readdirSync(join(root, valName)).sort()) {
        if (!isDir(join(root, valName, c))) continue;
        const i = index.get(c);
        if (i === undefined) {
          problems.unparsable.push(join(root, valName, c) + '/ (class not in train/)');
          continue;
        }
        for (const f of listImages(join(root, valName, c))) query.push({ path: join(root, valName, c, f), pid: i, camid: 0, label: i });
      }
    }
  } else {
    root = resolveReidRoot(kind, path);
    train = readReidSplit(join(root, SPLITS.train), problems, false);
    query = readReidSplit(join(root, SPLITS.query), problems, false);
    gallery = readReidSplit(join(root, SPLITS.gallery), problems, true);
    classNames = [];
  }
  if (verify) {
    train = await verifyReadable(train, problems);
    query = await verifyReadable(query, problems);
    gallery = await verifyReadable(gallery, problems);
  }
  if (train.length === 0) throw new DatasetError(`no readable training images in ${kind === 'class_folders' ? root : join(root, SPLITS.train)}`);
  if (kind !== 'class_folders') classNames = relabel(train);
  problems.identitiesBelowK = belowK(train, opts.k ?? 4);
  return {
    kind,
    root,
    train,
    query,
    gallery,
    numClasses: classNames.length,
    classNames,
    summary: { train: summarize(train), query: summarize(query), gallery: summarize(gallery) },
    problems,
  };
}

/** Multi-line human summary for the CLI and the run log. */
export function formatDatasetSummary(d: Pick<LoadedDataset, 'summary' | 'problems' | 'root'>): string {
  const line = (name: string, s: SplitSummary): string => {
    const hist = Object.entries(s.imagesPerIdentity)
      .map(([n, c]) => [Number(n), c] as const)
      .sort((a, b) => a[0] - b[0]);
    const h = hist.length ? ' | images/id: ' + hist.map(([n, c]) => `${n}×${c}`).join(' ') : '';
    return `  ${name.padEnd(8)} ${String(s.identities).padStart(6)} ids ${String(s.images).padStart(7)} images ${String(s.cameras).padStart(3)} cameras${h}`;
  };
  const p = d.problems;
  const out = [`dataset ${d.root}`, line('train', d.summary.train), line('query', d.summary.query), line('gallery', d.summary.gallery)];
  if (p.junkDropped) out.push(`  junk images (pid -1) dropped: ${p.junkDropped}`);
  if (p.distractorsDropped) out.push(`  distractor images (pid 0) outside the gallery dropped: ${p.distractorsDropped}`);
  if (p.unparsable.length) out.push(`  skipped ${p.unparsable.length} files with unexpected names, e.g. ${p.unparsable[0]}`);
  if (p.unreadable.length) out.push(`  skipped ${p.unreadable.length} unreadable images, e.g. ${p.unreadable[0]!.path}: ${p.unreadable[0]!.reason}`);
  if (p.identitiesBelowK.length) out.push(`  ${p.identitiesBelowK.length} training identities have fewer than K images (sampled with replacement)`);
  return out.join('\n');
}

