/**
 * Loading a dataset: the layout's reader (main/training/data/layouts.ts), then every image's header and
 * (JPEG / PNG) end marker are checked — a truncated JPEG passes a header read. Unreadable images are
 * skipped and counted, identities left with no image are dropped with a message, training labels are
 * numbered 0..P−1, and the evaluation is checked to have a valid query.
 * Bad data is reported, never fatal unless nothing usable is left, and never an internal error.
 */
import { createHash } from 'node:crypto';
import { relative, sep } from 'node:path';
import sharp from 'sharp';
import { counted } from '../../../core/index.js';
import { datasetLayout, type DatasetLayoutId } from '../../../core/config/datasets.js';
import { readRegularFile } from '../../io/files.js';
import { DatasetError, readLayout, type RawDataset, type RawRecord, type ReadProblems } from './layouts.js';

export { DatasetError, detectLayout, type DatasetErrorCode } from './layouts.js';

export type DatasetKind = DatasetLayoutId;

export interface ImageRecord {
  path: string;
  /** Original person / vehicle id (class index for class folders). */
  pid: number;
  /** 0-based camera id (class folders: 0 in training and gallery, 1 for held-out queries). */
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

export interface DatasetProblems extends ReadProblems {
  /** Market/Duke junk images (pid −1), dropped at load as in RSB. */
  junkDropped: number;
  /** Distractor images (pid 0) outside the gallery: they are not one person, so not a class or a query. */
  distractorsDropped: number;
  /** Files (or list lines) whose names do not match the layout's pattern. */
  unparsable: string[];
  /** Files sharp could not read (training images decoded at load; query / gallery headers read). */
  unreadable: { path: string; reason: string }[];
  /** Training identities left without a readable image: not classes. */
  identitiesDropped: { id: string; images: number }[];
  /** Training identities with fewer than K images: the P×K sampler draws them with replacement (RSB). */
  identitiesBelowK: { pid: number; images: number }[];
}

export interface DatasetSummary {
  train: SplitSummary;
  query: SplitSummary;
  gallery: SplitSummary;
  /** The layout read (core/config/datasets.ts label). */
  layout: string;
  /** How query and gallery were formed. */
  evaluation: string;
  /** Queries with a gallery image of their identity from another camera (the ones mAP / CMC count). */
  validQueries: number;
  /** Facts about the reading (variant, unused files). */
  notes: string[];
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
  summary: DatasetSummary;
  problems: DatasetProblems;
}

function summarize(records: ImageRecord[], cameras: boolean): SplitSummary {
  const perId = new Map<number, number>();
  const cams = new Set<number>();
  for (const r of records) {
    perId.set(r.pid, (perId.get(r.pid) ?? 0) + 1);
    cams.add(r.camid);
  }
  const hist: Record<number, number> = {};
  for (const n of perId.values()) hist[n] = (hist[n] ?? 0) + 1;
  return { identities: perId.size, images: records.length, cameras: cameras ? cams.size : 0, imagesPerIdentity: hist };
}

/** Queries that have a gallery image of the same identity from another camera (RSB eval_func's valid queries). */
export function countValidQueries(query: readonly { pid: number; camid: number }[], gallery: readonly { pid: number; camid: number }[]): number {
  const cams = new Map<number, Set<number>>();
  for (const g of gallery) {
    if (!cams.has(g.pid)) cams.set(g.pid, new Set());
    cams.get(g.pid)!.add(g.camid);
  }
  return query.filter((q) => {
    const c = cams.get(q.pid);
    return !!c && (c.size > 1 || !c.has(q.camid));
  }).length;
}

/** The user's error for an evaluation with no valid query (a data problem, not a bug). */
export function noValidQueryError(numQuery: number, numGallery: number): DatasetError {
  return new DatasetError(
    `no query has a valid match: none of the ${numQuery} query images has a gallery image (of ${numGallery}) of the same identity from another camera — check the identity and camera parts of the names`,
    'E_DATASET_NO_VALID_QUERY',
  );
}

/**
 * A JPEG or PNG cut short (an interrupted copy or download) has a valid header, so sharp's metadata()
 * accepts it; its end marker (JPEG EOI FF D9, PNG IEND chunk) is missing. Looks at the file's last KiB.
 * Returns the problem, or null.
 */
function truncation(file: Buffer, format: string | undefined): string | null {
  if (format !== 'jpeg' && format !== 'png') return null;
  const buf = file.subarray(Math.max(0, file.length - 1024));
  if (format === 'jpeg') return buf.lastIndexOf(Buffer.from([0xff, 0xd9])) < 0 ? 'premature end of JPEG image (no end-of-image marker)' : null;
  return buf.lastIndexOf(Buffer.from('IEND')) < 0 ? 'premature end of PNG image (no IEND chunk)' : null;
}

/**
 * Checks that images can be read: sharp's header read plus the end marker of JPEG / PNG files (a full
 * decode of every image costs ~3 ms each, minutes on MSMT17). Bounded concurrency keeps the libuv pool
 * usable. What slips through (damage inside the data) is found at first decode and replaced in training
 * batches by another image of the same identity (pipeline.ts).
 */
async function verifyReadable(records: RawRecord[], problems: DatasetProblems): Promise<RawRecord[]> {
  const bad = new Set<number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < records.length) {
      const i = next++;
      const r = records[i]!;
      try {
        const file = await readRegularFile(r.path, 'image');
        const m = await sharp(file).metadata();
        if (!m.width || !m.height) throw new Error('no image dimensions');
        const cut = truncation(file, m.format);
        if (cut) throw new Error(cut);
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
  /** Check every image at load (default true): header read and, for JPEG / PNG, the end marker. */
  verify?: boolean;
}

function belowK(train: ImageRecord[], k: number): { pid: number; images: number }[] {
  const perId = new Map<number, number>();
  for (const r of train) perId.set(r.pid, (perId.get(r.pid) ?? 0) + 1);
  return [...perId].filter(([, n]) => n < k).map(([pid, images]) => ({ pid, images })).sort((a, b) => a.pid - b.pid);
}

const perPid = (rs: RawRecord[]): Map<number, number> => {
  const m = new Map<number, number>();
  for (const r of rs) m.set(r.pid, (m.get(r.pid) ?? 0) + 1);
  return m;
};

/**
 * Reads the dataset of layout `kind` (core/config/datasets.ts) at `path`. Training labels are the
 * training ids in ascending order, 0..P−1 (deterministic, unlike RSB's Python-set order).
 * Throws DatasetError: E_DATASET_NOT_FOUND / E_DATASET_LAYOUT (folder or layout), E_DATASET_UNPARSABLE
 * (no name follows the pattern), E_DATASET_EMPTY_SPLIT (a split has no image), E_DATASET_UNREADABLE (no
 * training image can be decoded), E_DATASET_NO_VALID_QUERY (no query has a gallery match from another camera).
 */
export async function loadDataset(kind: DatasetKind, path: string, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const problems: DatasetProblems = { junkDropped: 0, distractorsDropped: 0, unparsable: [], unreadable: [], emptyClasses: [], identitiesDropped: [], identitiesBelowK: [] };
  const raw: RawDataset = readLayout(kind, path, problems);
  const verify = opts.verify ?? true;
  const name = (pid: number): string => raw.names?.get(pid) ?? String(pid);
    if (!raw.train.length) throw new DatasetError(`no training images in ${raw.root}`, 'E_DATASET_EMPTY_SPLIT');
  let { train, query, gallery } = raw;
  if (verify) {
    const before = perPid(train);
    train = await verifyReadable(train, problems);
    if (!train.length) {
      const u = problems.unreadable[0]!;
      throw new DatasetError(`none of the ${before.size ? [...before.values()].reduce((a, b) => a + b) : 0} training images could be read (e.g. ${u.path}: ${u.reason})`, 'E_DATASET_UNREADABLE');
    }
    const after = perPid(train);
    for (const [pid, n] of before) if (!after.has(pid)) problems.identitiesDropped.push({ id: name(pid), images: n });
    query = await verifyReadable(query, problems);
    gallery = await verifyReadable(gallery, problems);
  }
  if (!query.length) throw new DatasetError(`no ${verify && raw.query.length ? 'readable ' : ''}query images in ${raw.root} (${raw.evaluation}${raw.notes.length ? `; ${raw.notes.join('; ')}` : ''})` , 'E_DATASET_EMPTY_SPLIT');
  if (!gallery.length) throw new DatasetError(`no ${verify && raw.gallery.length ? 'readable ' : ''}gallery images in ${raw.root}`, 'E_DATASET_EMPTY_SPLIT');
  const validQueries = countValidQueries(query, gallery);
  if (!validQueries) throw noValidQueryError(query.length, gallery.length);
  const pids = [...new Set(train.map((r) => r.pid))].sort((a, b) => a - b);
  const label = new Map(pids.map((p, i) => [p, i]));
  const rec = (r: RawRecord, l: number): ImageRecord => ({ path: r.path, pid: r.pid, camid: r.camid, label: l });
  const trainRecs = train.map((r) => rec(r, label.get(r.pid)!));
  problems.identitiesBelowK = belowK(trainRecs, opts.k ?? 4);
  const queryRecs = query.map((r) => rec(r, r.pid));
  const galleryRecs = gallery.map((r) => rec(r, r.pid));
  return {
    kind,
    root: raw.root,
    train: trainRecs,
    query: queryRecs,
    gallery: galleryRecs,
    numClasses: pids.length,
    classNames: pids.map(name),
    summary: {
      train: summarize(trainRecs, raw.cameras),
      query: summarize(queryRecs, raw.cameras),
      gallery: summarize(galleryRecs, raw.cameras),
      layout: datasetLayout(kind)!.label,
      evaluation: raw.evaluation,
      validQueries,
      notes: raw.notes,
    },
    problems,
  };
}

/**
 * A dataset's identity, independent of where its folder is: SHA-256 (hex) over every kept image of every split as
 * `split, path relative to the root ('/'-separated), pid, camid`, sorted. The same folder moved or copied gives the
 * same value; another file, identity or camera changes it.
 */
export function datasetFingerprint(d: Pick<LoadedDataset, 'root' | 'train' | 'query' | 'gallery'>): string {
  const lines: string[] = [];
  for (const [split, recs] of [['train', d.train], ['query', d.query], ['gallery', d.gallery]] as const)
    for (const r of recs) lines.push(`${split}\t${relative(d.root, r.path).split(sep).join('/')}\t${r.pid}\t${r.camid}`);
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
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
  const out = [`dataset ${d.root} (${d.summary.layout})`, line('train', d.summary.train), line('query', d.summary.query), line('gallery', d.summary.gallery)];
  out.push(`  evaluation: ${d.summary.evaluation}; ${d.summary.validQueries} of ${d.summary.query.images} queries have a match`);
  for (const n of d.summary.notes) out.push(`  ${n}`);
  if (p.junkDropped) out.push(`  junk images (pid -1) dropped: ${p.junkDropped}`);
  if (p.distractorsDropped) out.push(`  distractor images (pid 0) outside the gallery dropped: ${p.distractorsDropped}`);
  if (p.unparsable.length) out.push(`  skipped ${counted(p.unparsable.length, 'file')} with unexpected names, e.g. ${p.unparsable[0]}`);
  if (p.unreadable.length) out.push(`  skipped ${counted(p.unreadable.length, 'unreadable image')}, e.g. ${p.unreadable[0]!.path}: ${p.unreadable[0]!.reason}`);
  if (p.emptyClasses.length) out.push(`  ${counted(p.emptyClasses.length, 'empty class folder')} ${p.emptyClasses.length === 1 ? 'is not a class' : 'are not classes'}, e.g. ${p.emptyClasses[0]}`);
  if (p.identitiesDropped.length)
    out.push(`  ${counted(p.identitiesDropped.length, 'training identity', 'training identities')} dropped: none of ${p.identitiesDropped.length === 1 ? 'its' : 'their'} images could be read (${p.identitiesDropped.slice(0, 5).map((x) => x.id).join(', ')}${p.identitiesDropped.length > 5 ? ', …' : ''})`);
  if (p.identitiesBelowK.length) out.push(`  ${p.identitiesBelowK.length} training ${p.identitiesBelowK.length === 1 ? 'identity has' : 'identities have'} fewer than K images (sampled with replacement)`);
  return out.join('\n');
}

