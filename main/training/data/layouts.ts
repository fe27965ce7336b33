/**
 * Dataset layouts on disk: where each one's splits are, how its file names or list files give the identity
 * and camera of an image, and how a folder is recognised. The vocabulary (ids, labels, marker folders) is
 * the table in core/config/datasets.ts; the readers follow the frameworks':
 * - Market-1501, DukeMTMC-reID, CUHK03-NP, VeRi-776: RSB `data/datasets/{market1501,dukemtmcreid,veri}.py`,
 *   names `<pid>_c<cam>…` read with `([-\d]+)_c(\d+)` (cameras of any width: Market `c1`, VeRi `c002`).
 * - CUHK03 as torchreid / fast-reid prepare it: `splits_new_{labeled,detected}.json` (split 0 of the
 *   767/700 protocol) over `images_{labeled,detected}/` (fast-reid `fastreid/data/datasets/cuhk03.py`).
 * - MSMT17: fast-reid `msmt17.py` (list files; camera = 3rd `_` field of the name).
 * - VehicleID: fast-reid `vehicleid.py` (list files; query / gallery drawn from the test list).
 * - VeRi-Wild: fast-reid `veriwild.py` (list files; cameras from `vehicle_info.txt`).
 * - Class per folder: torchvision ImageFolder's `<class>/` and Person_reID_baseline_pytorch's
 *   `prepare.py` output (`train/<id>/`, `val/<id>/`, `query/<id>/`, `gallery/<id>/`).
 * Everything here throws DatasetError (a user error with a code), never a bare Error.
 */
import { counted } from '../../../core/index.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { decodeFsName, fsPath } from '../../io/raw-names.js';
import { basename, join, resolve } from 'node:path';
import { datasetLayout, type DatasetErrorCode, type DatasetLayoutId } from '../../../core/config/datasets.js';
import { Rng } from './rng.js';

/** Codes of data problems: the user's errors, each with its own message. */
export type { DatasetErrorCode };

/** A user-facing dataset problem (wrong layout, empty split, no valid query): printed as one line. */
export class DatasetError extends Error {
  constructor(
    message: string,
    readonly code: DatasetErrorCode = 'E_DATASET',
  ) {
    super(message);
    this.name = 'DatasetError';
  }
}

export interface RawRecord {
  path: string;
  /** Identity as the layout numbers it (class index for class folders). */
  pid: number;
  /** 0-based camera id. */
  camid: number;
}

export interface ReadProblems {
  junkDropped: number;
  distractorsDropped: number;
  unparsable: string[];
  /** Class folders without any image file: not classes. */
  emptyClasses: string[];
}

export interface RawDataset {
  root: string;
  train: RawRecord[];
  query: RawRecord[];
  gallery: RawRecord[];
  /** Name of each pid (class folders: the folder name); absent = the pid itself. */
  names?: Map<number, string>;
  /** How the query / gallery sets were formed (shown in the summary). */
  evaluation: string;
  /** Facts about the reading worth telling (unused files, chosen variant). */
  notes: string[];
  /**
   * False when the layout has no camera ids (class folders): the summary shows 0 cameras. VehicleID counts
   * its image ids, which fast-reid uses as cameras.
   */
  cameras: boolean;
}

export const IMAGE_EXT = /\.(jpe?g|png|bmp|webp)$/i;
/** RSB market1501.py / dukemtmcreid.py / veri.py: `([-\d]+)_c(\d+)` (veri.py's form, any camera width). */
const PID_CAM = /^([-\d]+)_c(\d+)/;

const isDir = (p: string): boolean => {
  try {
    return statSync(fsPath(p)).isDirectory();
  } catch {
    return false;
  }
};
const isFile = (p: string): boolean => {
  try {
    return statSync(fsPath(p)).isFile();
  } catch {
    return false;
  }
};
const subdirs = (p: string): string[] => {
  try {
    // Names as bytes: one that is not valid UTF-8 is kept (main/io/raw-names.ts), never dropped.
    return readdirSync(fsPath(p), { withFileTypes: true, encoding: 'buffer' })
      .map((d) => ({ d, name: decodeFsName(d.name) }))
      .filter(({ d, name }) => d.isDirectory() || (d.isSymbolicLink() && isDir(join(p, name))))
      .map(({ name }) => name)
      .sort();
  } catch {
    return [];
  }
};

export function listImages(dir: string): string[] {
  try {
    return readdirSync(fsPath(dir), { encoding: 'buffer' })
      .map(decodeFsName)
      .filter((f) => IMAGE_EXT.test(f))
      .sort();
  } catch {
    return [];
  }
}

const MARKET_SPLITS = ['bounding_box_train', 'query', 'bounding_box_test'] as const;
const VERI_SPLITS = ['image_train', 'image_query', 'image_test'] as const;

/** Where a layout is: `root` when complete, `missing` when some of its markers are there and others not. */
type Located = { root: string; variant?: string } | { partial: string; missing: string[] } | null;

function locateFolders(abs: string, nested: string[], splits: readonly string[]): Located {
  for (const sub of nested) {
    const cand = join(abs, sub);
    if (splits.every((s) => isDir(join(cand, s)))) return { root: cand };
  }
  for (const sub of nested) {
    const cand = join(abs, sub);
    const have = splits.filter((s) => isDir(join(cand, s)));
    if (have.length) return { partial: cand, missing: splits.filter((s) => !have.includes(s)).map((s) => s + '/') };
  }
  return null;
}

const NESTED = {
  market1501: ['', 'market1501', 'Market-1501-v15.09.15', 'Market-1501', 'Market1501', 'market-1501'],
  dukemtmc: ['', 'DukeMTMC-reID', 'dukemtmc-reid/DukeMTMC-reID', 'dukemtmc-reid', 'dukemtmcreid/DukeMTMC-reID', 'DukeMTMC-reID/DukeMTMC-reID'],
  cuhk03: ['', 'cuhk03-np', 'CUHK03-NP', 'cuhk03_np', 'cuhk03'],
  msmt17: ['', 'msmt17', 'MSMT17'],
  veri: ['', 'veri', 'VeRi', 'VeRi-776', 'veri776'],
  vehicleid: ['', 'vehicleid', 'VehicleID', 'VehicleID_V1.0'],
  veriwild: ['', 'VERI-Wild', 'VeRi-Wild', 'veri-wild', 'veriwild'],
};
const MSMT_VERSIONS = [
  ['MSMT17_V1', 'train', 'test'],
  ['MSMT17_V2', 'mask_train_v2', 'mask_test_v2'],
] as const;
const VEHICLEID_TESTS: Record<string, string> = { vehicleid_800: 'test_list_800.txt', vehicleid_1600: 'test_list_1600.txt', vehicleid_2400: 'test_list_2400.txt' };
/** fast-reid veriwild.py: Small / Medium / LargeVeRiWild read test_<N>_query.txt and test_<N>.txt. */
const VERIWILD_TESTS: Record<string, number> = { veriwild_3000: 3000, veriwild_5000: 5000, veriwild_10000: 10000 };
const veriwildFiles = (n: number) => ['train_list.txt', 'vehicle_info.txt', `test_${n}_query.txt`, `test_${n}.txt`];

function locateCuhk03(abs: string, type: 'labeled' | 'detected'): Located {
  for (const sub of NESTED.cuhk03) {
    const cand = join(abs, sub);
    // CUHK03-NP (Zhong et al.): <root>/<type>/ in the Market-1501 layout.
    if (MARKET_SPLITS.every((s) => isDir(join(cand, type, s)))) return { root: cand, variant: 'np' };
    // torchreid / fast-reid: images_<type>/ + splits_new_<type>.json written by their preprocess_split().
    if (isDir(join(cand, `images_${type}`)) && isFile(join(cand, `splits_new_${type}.json`))) return { root: cand, variant: 'json' };
  }
  for (const sub of NESTED.cuhk03) {
    const cand = join(abs, sub);
    if (isDir(join(cand, `images_${type}`))) return { partial: cand, missing: [`splits_new_${type}.json`] };
    if (isFile(join(cand, 'cuhk03_release', 'cuhk-03.mat')) || isFile(join(cand, `cuhk03_new_protocol_config_${type}.mat`)))
      return { partial: cand, missing: [`images_${type}/ and splits_new_${type}.json (reading the raw cuhk-03.mat is not supported: run torchreid's or fast-reid's CUHK03 loader once to extract them, or use the CUHK03-NP folders)`] };
    if (isDir(join(cand, type))) {
      const have = MARKET_SPLITS.filter((s) => isDir(join(cand, type, s)));
      if (have.length) return { partial: join(cand, type), missing: MARKET_SPLITS.filter((s) => !have.includes(s)).map((s) => s + '/') };
    }
  }
  return null;
}

function msmtVersion(dir: string): (typeof MSMT_VERSIONS)[number] | undefined {
  return MSMT_VERSIONS.find(([, tr, te]) => isDir(join(dir, tr)) && isDir(join(dir, te)) && isFile(join(dir, 'list_train.txt')));
}

function locateMsmt(abs: string): Located {
  for (const sub of NESTED.msmt17) {
    const cand = join(abs, sub);
    // fast-reid msmt17.py: <root>/MSMT17_V1 is tried before <root>/MSMT17_V2.
    for (const [name] of MSMT_VERSIONS) if (msmtVersion(join(cand, name))) return { root: join(cand, name) };
    if (msmtVersion(cand)) return { root: cand };
  }
  for (const sub of NESTED.msmt17) {
    for (const [name, tr, te] of MSMT_VERSIONS) {
      const cand = join(abs, sub, name);
      if (isDir(cand)) return { partial: cand, missing: [`${tr}/`, `${te}/`, 'list_train.txt', 'list_query.txt', 'list_gallery.txt'].filter((m) => !(m.endsWith('/') ? isDir(join(cand, m)) : isFile(join(cand, m)))) };
    }
  }
  return null;
}

function locateVehicleId(abs: string, test: string): Located {
  for (const sub of NESTED.vehicleid) {
    const cand = join(abs, sub);
    if (isDir(join(cand, 'image')) && isFile(join(cand, 'train_test_split', 'train_list.txt')) && isFile(join(cand, 'train_test_split', test))) return { root: cand };
  }
  for (const sub of NESTED.vehicleid) {
    const cand = join(abs, sub);
    if (isDir(join(cand, 'train_test_split')))
      return { partial: cand, missing: ['image/', 'train_test_split/train_list.txt', `train_test_split/${test}`].filter((m) => !(m.endsWith('/') ? isDir(join(cand, m)) : isFile(join(cand, m)))) };
  }
  return null;
}

function locateVeriWild(abs: string, n: number): Located {
  const need = ['images/', ...veriwildFiles(n).map((f) => `train_test_split/${f}`)];
  const has = (cand: string, m: string) => (m.endsWith('/') ? isDir(join(cand, m)) : isFile(join(cand, m)));
  for (const sub of NESTED.veriwild) {
    const cand = join(abs, sub);
    if (need.every((m) => has(cand, m))) return { root: cand };
  }
  for (const sub of NESTED.veriwild) {
    const cand = join(abs, sub);
    if (isFile(join(cand, 'train_test_split', 'vehicle_info.txt'))) return { partial: cand, missing: need.filter((m) => !has(cand, m)) };
  }
  return null;
}

/** Class folders: sub-folders holding images (`train/<class>/` or `<class>/`); `min` of them to count. */
function locateClassFolders(abs: string, min: number): Located {
  const trainDir = isDir(join(abs, 'train')) ? join(abs, 'train') : abs;
  const withImages = subdirs(trainDir).filter((d) => listImages(join(trainDir, d)).length > 0);
  return withImages.length >= (trainDir === abs ? min : 1) ? { root: abs } : null;
}

function locate(id: DatasetLayoutId, abs: string, detecting: boolean): Located {
  switch (id) {
    case 'market1501':
      return locateFolders(abs, NESTED.market1501, MARKET_SPLITS);
    case 'dukemtmc':
      return locateFolders(abs, NESTED.dukemtmc, MARKET_SPLITS);
    case 'cuhk03_detected':
      return locateCuhk03(abs, 'detected');
    case 'cuhk03_labeled':
      return locateCuhk03(abs, 'labeled');
    case 'msmt17':
      return locateMsmt(abs);
    case 'veri':
      return locateFolders(abs, NESTED.veri, VERI_SPLITS);
    case 'vehicleid_800':
    case 'vehicleid_1600':
    case 'vehicleid_2400':
      return locateVehicleId(abs, VEHICLEID_TESTS[id]!);
    case 'veriwild_3000':
    case 'veriwild_5000':
    case 'veriwild_10000':
      return locateVeriWild(abs, VERIWILD_TESTS[id]!);
    case 'class_folders':
      return locateClassFolders(abs, detecting ? 2 : 1);
  }
}

/** "expected <markers> (<--layout ids>); …": the table's layouts, variants of one reader in one entry. */
function expectedList(): string {
  const entries: [string, string][] = [
    [datasetLayout('market1501')!.markers, 'market1501, dukemtmc'],
    ['labeled/ or detected/ holding those folders, or images_labeled/ or images_detected/ with splits_new_labeled.json or splits_new_detected.json', 'cuhk03_detected, cuhk03_labeled'],
    ['MSMT17_V1/ or MSMT17_V2/ with list_train.txt, list_query.txt, list_gallery.txt', 'msmt17'],
    [datasetLayout('veri')!.markers, 'veri'],
    ['image/ and train_test_split/ with train_list.txt and test_list_800.txt, test_list_1600.txt or test_list_2400.txt', 'vehicleid_800, vehicleid_1600, vehicleid_2400'],
    ['images/ and train_test_split/ with train_list.txt, vehicle_info.txt and test_<N>_query.txt + test_<N>.txt for N 3000, 5000 or 10000', 'veriwild_3000, veriwild_5000, veriwild_10000'],
    ['train/<class>/ or two or more <class>/ folders of images', 'class_folders'],
  ];
  return entries.map(([m, ids]) => `${m} (${ids})`).join('; ');
}

function checkFolder(path: string): string {
  const abs = resolve(path);
  if (!isDir(abs)) throw new DatasetError(`dataset folder not found: ${abs} does not exist or is not a folder`, 'E_DATASET_NOT_FOUND');
  return abs;
}

/**
 * Which layout a folder holds, from its marker folders and files (core/config/datasets.ts). Order: MSMT17,
 * VeRi-776, VehicleID (800, else 1600, else 2400), VeRi-Wild (3000, else 5000, else 10000), CUHK03 (labeled before detected, fast-reid's default
 * `cuhk03_labeled=True` in fastreid/data/datasets/cuhk03.py), DukeMTMC-reID (Market folders under a path naming 'duke'), Market-1501, class
 * folders (two or more sub-folders of images, or `train/<class>/`). A folder holding part of a layout's
 * markers is refused with what is missing; a folder matching none is refused with the list of layouts —
 * never read as another layout.
 */
export function detectLayout(path: string): DatasetLayoutId {
  const abs = checkFolder(path);
  const order: DatasetLayoutId[] = ['msmt17', 'veri', 'vehicleid_800', 'vehicleid_1600', 'vehicleid_2400', 'veriwild_3000', 'veriwild_5000', 'veriwild_10000', 'cuhk03_labeled', 'cuhk03_detected', 'dukemtmc', 'market1501'];
  let partial: { id: DatasetLayoutId; at: string; missing: string[] } | undefined;
  for (const id of order) {
    const l = locate(id, abs, true);
    if (!l) continue;
    if ('root' in l) {
      if (id === 'dukemtmc' && !/duke/i.test(l.root)) continue;
      return id;
    }
    // Part of the Market folders is DukeMTMC-reID only under a path naming 'duke' (as a whole one is): else Market-1501.
    if (id === 'dukemtmc' && !/duke/i.test(l.partial)) continue;
    partial ??= { id, at: l.partial, missing: l.missing };
  }
  if (partial) {
    const label = datasetLayout(partial.id)!.label.replace(/ (detected|labeled) \(767\/700\)|, \d+-vehicle test/, '');
    throw new DatasetError(`${abs} looks like a ${label} dataset but is incomplete: ${lacking({ partial: partial.at, missing: partial.missing })}`, 'E_DATASET_LAYOUT');
  }
  if (locate('class_folders', abs, true)) return 'class_folders';
  throw new DatasetError(`${abs} matches no dataset layout: expected ${expectedList()}`, 'E_DATASET_LAYOUT');
}

/** Reads `<dir>` of a `<pid>_c<cam>…` layout: junk (pid −1) dropped, pid 0 distractors kept in the gallery only (RSB). */
function readNamedSplit(dir: string, p: ReadProblems, keepDistractors: boolean): RawRecord[] {
  const out: RawRecord[] = [];
  const files = listImages(dir);
  const before = p.unparsable.length;
  for (const f of files) {
    const m = PID_CAM.exec(f);
    const pid = m ? Number(m[1]) : NaN;
    const cam = m ? Number(m[2]) : NaN;
    if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(cam) || pid < -1 || cam < 1) {
      p.unparsable.push(join(dir, f));
      continue;
    }
    if (pid === -1) {
      p.junkDropped++;
      continue;
    }
    if (pid === 0 && !keepDistractors) {
      p.distractorsDropped++;
      continue;
    }
    out.push({ path: join(dir, f), pid, camid: cam - 1 });
  }
  if (files.length && p.unparsable.length - before === files.length)
    throw new DatasetError(`none of the ${counted(files.length, 'image')} in ${dir} is named <identity>_c<camera>… (e.g. 0002_c002_00030600_0.jpg); first: ${basename(p.unparsable.at(-1)!)}`, 'E_DATASET_UNPARSABLE');
  return out;
}

function readNamedFolders(root: string, splits: readonly string[], p: ReadProblems): Pick<RawDataset, 'train' | 'query' | 'gallery'> {
  return { train: readNamedSplit(join(root, splits[0]!), p, false), query: readNamedSplit(join(root, splits[1]!), p, false), gallery: readNamedSplit(join(root, splits[2]!), p, true) };
}

const STANDARD_EVAL = 'query / gallery as the dataset defines them; gallery images of the query identity from the query camera are left out (RSB / fast-reid eval_func)';

function readCuhk03Json(root: string, type: 'labeled' | 'detected', p: ReadProblems): Pick<RawDataset, 'train' | 'query' | 'gallery'> {
  const file = join(root, `splits_new_${type}.json`);
  let splits: unknown;
  try {
    splits = JSON.parse(decodeFsName(readFileSync(fsPath(file))));
  } catch (e) {
    throw new DatasetError(`${file} is not a JSON file: ${(e as Error).message.split('\n')[0]}`, 'E_DATASET_UNPARSABLE');
  }
  const split = Array.isArray(splits) ? (splits[0] as Record<string, unknown> | undefined) : undefined;
  if (!split || typeof split !== 'object' || !['train', 'query', 'gallery'].every((k) => Array.isArray(split[k])))
    throw new DatasetError(`${file} does not hold a split (a list whose first entry has train, query and gallery lists, as torchreid / fast-reid write it)`, 'E_DATASET_UNPARSABLE');
  const images = join(root, `images_${type}`);
  const read = (k: string): RawRecord[] =>
    (split[k] as unknown[]).flatMap((e, i) => {
      // [path, pid, camid]: the path is of the machine that wrote the file, so only its name is used.
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !Number.isSafeInteger(e[1]) || !Number.isSafeInteger(e[2]) || e[1] < 0 || e[2] < 0) {
        p.unparsable.push(`${file}: ${k}[${i}]`);
        return [];
      }
      return [{ path: join(images, e[0].split(/[\\/]/).pop()!), pid: e[1] as number, camid: e[2] as number }];
    });
  return { train: read('train'), query: read('query'), gallery: read('gallery') };
}

/** fast-reid msmt17.py `process_dir`: `<relative path> <pid>` a line; camera = int(path.split('_')[2]) − 1. */
function readMsmtList(listPath: string, dir: string, p: ReadProblems, required: boolean): RawRecord[] {
  let text: string;
  try {
    text = decodeFsName(readFileSync(fsPath(listPath)));
  } catch {
    if (!required) return [];
    throw new DatasetError(`MSMT17 list file not found: ${listPath}`, 'E_DATASET_LAYOUT');
  }
  const out: RawRecord[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const parts = line.trim().split(/\s+/);
    const pid = Number(parts[1]);
    const camid = Number(parts[0]?.split('_')[2]) - 1;
    if (parts.length !== 2 || !Number.isSafeInteger(pid) || pid < 0 || !Number.isSafeInteger(camid) || camid < 0) {
      p.unparsable.push(`${listPath}:${i + 1}`);
      return;
    }
    out.push({ path: join(dir, parts[0]!), pid, camid });
  });
  return out;
}

/** fast-reid vehicleid.py: `<image id> <vehicle id>` a line, image `image/<image id>.jpg`. */
function readVehicleList(listPath: string, imageDir: string, p: ReadProblems): RawRecord[] {
  const out: RawRecord[] = [];
  decodeFsName(readFileSync(fsPath(listPath)))
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (!line.trim()) return;
      const [img, vid, ...rest] = line.trim().split(/\s+/);
      const imgNum = Number(img);
      const pid = Number(vid);
      // The camera is the image id, as fast-reid sets it: VehicleID has no cameras, so nothing is excluded.
      if (rest.length || !/^\d+$/.test(img ?? '') || !Number.isSafeInteger(pid) || pid < 0 || imgNum > 0x7fffffff) {
        p.unparsable.push(`${listPath}:${i + 1}`);
        return;
      }
      out.push({ path: join(imageDir, `${img}.jpg`), pid, camid: imgNum });
    });
  return out;
}

/**
 * fast-reid veriwild.py `process_vehicle`: vehicle_info.txt, after its header line, holds
 * `<vehicle id>/<image id>;<camera id>;…` a line; the image is `images/<vehicle id>/<image id>.jpg`.
 * Returns image id → [path, camera].
 */
function readVeriWildInfo(file: string, imageDir: string, p: ReadProblems): Map<string, [string, number]> {
  const out = new Map<string, [string, number]>();
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .slice(1)
    .forEach((line, i) => {
      if (!line.trim()) return;
      const [id, cam] = line.trim().split(';');
      const [vid, img] = (id ?? '').split('/');
      const camid = Number(cam);
      if (!vid || !img || !/^\d+$/.test(cam ?? '') || !Number.isSafeInteger(camid)) {
        p.unparsable.push(`${file}:${i + 2}`);
        return;
      }
      out.set(img, [join(imageDir, vid, `${img}.jpg`), camid]);
    });
  return out;
}

/** fast-reid veriwild.py `process_dir`: `<vehicle id>/<image id>[.jpg]` a line; camera from vehicle_info.txt. */
function readVeriWildList(file: string, info: Map<string, [string, number]>, p: ReadProblems): RawRecord[] {
  const out: RawRecord[] = [];
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (!line.trim()) return;
      const [vid, name] = line.trim().split('/');
      const pid = Number(vid);
      const at = info.get((name ?? '').split('.')[0]!);
      if (!/^\d+$/.test(vid ?? '') || !Number.isSafeInteger(pid) || !at) {
        p.unparsable.push(`${file}:${i + 1}${at ? '' : ' (image not in vehicle_info.txt)'}`);
        return;
      }
      out.push({ path: at[0], pid, camid: at[1] });
    });
  return out;
}

/**
 * fast-reid vehicleid.py: the test list is shuffled, then the first image of each vehicle goes to the
 * gallery and the others to the query. fast-reid's shuffle is unseeded; here it is seeded (0), so the
 * split is the same on every load.
 */
function vehicleQueryGallery(test: RawRecord[]): { query: RawRecord[]; gallery: RawRecord[] } {
  const order = test.slice();
  const rng = new Rng(0);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const seen = new Set<number>();
  const query: RawRecord[] = [];
  const gallery: RawRecord[] = [];
  for (const r of order) {
    if (seen.has(r.pid)) query.push(r);
    else {
      seen.add(r.pid);
      gallery.push(r);
    }
  }
  return { query, gallery };
}

/**
 * Class per folder. Training classes are the sub-folders of `train/` (or of the root) that hold images;
 * empty ones are not classes (listed in the problems). Evaluation, in this order:
 * 1. `query/<id>/` + `gallery/<id>/` (Person_reID_baseline_pytorch prepare.py): used as they are, cameras
 *    from `_c<cam>` in the names when every name has one.
 * 2. `val/<class>/` (or `test/<class>/`): the val images are the queries, the training images the gallery —
 *    retrieval of held-out images of the training classes (rank-1 = nearest-neighbour accuracy).
 * 3. Neither: the last image (by name) of each class with two or more images is held out of training as its
 *    query; the gallery is the training images.
 */
function readClassFolders(root: string, p: ReadProblems): RawDataset {
  const trainDir = isDir(join(root, 'train')) ? join(root, 'train') : root;
  const names = new Map<number, string>();
  const pidOf = new Map<string, number>();
  const idOf = (name: string): number => {
    let id = pidOf.get(name);
    if (id === undefined) {
      id = pidOf.size;
      pidOf.set(name, id);
      names.set(id, name);
    }
    return id;
  };
  const train: RawRecord[] = [];
  for (const c of subdirs(trainDir)) {
    const files = listImages(join(trainDir, c));
    if (!files.length) {
      p.emptyClasses.push(join(trainDir, c));
      continue;
    }
    const id = idOf(c);
    for (const f of files) train.push({ path: join(trainDir, c, f), pid: id, camid: 0 });
  }
  if (!train.length) throw new DatasetError(`${trainDir} has no class sub-folders with images: expected one folder of images per class (e.g. ${join(trainDir, 'cat')}/001.jpg)`, 'E_DATASET_EMPTY_SPLIT');
  const classes = new Set(train.map((r) => r.pid));
  const notes: string[] = [];
  const evalFolder = (dir: string, camOf: (f: string) => number, knownOnly: boolean): RawRecord[] => {
    const out: RawRecord[] = [];
    for (const c of subdirs(dir)) {
      if (c === '-1') {
        p.junkDropped += listImages(join(dir, c)).length;
        continue;
      }
      if (knownOnly && !pidOf.has(c)) {
        p.unparsable.push(join(dir, c) + '/ (class not in train/)');
        continue;
      }
      for (const f of listImages(join(dir, c))) out.push({ path: join(dir, c, f), pid: idOf(c), camid: camOf(f) });
    }
    return out;
  };
  if (trainDir !== root && isDir(join(root, 'query')) && isDir(join(root, 'gallery'))) {
    const all = [join(root, 'query'), join(root, 'gallery')].flatMap((d) => subdirs(d).flatMap((c) => listImages(join(d, c))));
    const named = all.length > 0 && all.every((f) => /_c\d+/.test(f));
    const cam = (f: string): number => Number(/_c(\d+)/.exec(f)![1]) - 1;
    const query = evalFolder(join(root, 'query'), named ? cam : () => 1, false);
    const gallery = evalFolder(join(root, 'gallery'), named ? cam : () => 0, false);
    return { root, train, query, gallery, names, evaluation: `query/ and gallery/ folders as given${named ? ', cameras from the _c<camera> part of the names' : ', no camera ids'}`, notes, cameras: named };
  }
  const valName = trainDir !== root ? ['val', 'test'].find((v) => isDir(join(root, v))) : undefined;
  if (valName) {
    const query = evalFolder(join(root, valName), () => 1, true);
    const gallery = train.map((r) => ({ ...r }));
    return { root, train, query, gallery, names, evaluation: `query: the ${valName}/ images; gallery: the training images — retrieval of held-out images of the training classes (rank-1 = nearest-neighbour accuracy)`, notes, cameras: false };
  }
  const byClass = new Map<number, RawRecord[]>();
  for (const r of train) byClass.set(r.pid, [...(byClass.get(r.pid) ?? []), r]);
  const query: RawRecord[] = [];
  for (const rs of byClass.values()) if (rs.length >= 2) query.push({ ...rs.at(-1)!, camid: 1 });
  const held = new Set(query.map((q) => q.path));
  const kept = train.filter((r) => !held.has(r.path));
  if (classes.size && !query.length) notes.push('every class has a single image, so none can be held out for evaluation');
  return {
    root,
    train: kept,
    query,
    gallery: kept.map((r) => ({ ...r })),
    names,
    evaluation: 'query: the last image (by name) of each class with 2 or more images, held out of training; gallery: the training images (rank-1 = nearest-neighbour accuracy)',
    notes,
    cameras: false,
  };
}

/** Reads the layout `id` from `path` (the folder or a usual parent of it). */
export function readLayout(id: DatasetLayoutId, path: string, p: ReadProblems): RawDataset {
  const abs = checkFolder(path);
  const layout = datasetLayout(id)!;
  if (id === 'class_folders') return readClassFolders(abs, p);
  const l = locate(id, abs, false);
  if (!l || !('root' in l))
    throw new DatasetError(l ? `${abs} is not a ${layout.label} dataset: ${lacking(l)}` : `${abs} is not a ${layout.label} dataset: expected ${layout.markers}`, 'E_DATASET_LAYOUT');
  const root = l.root;
  const base = { root, notes: [] as string[], cameras: true, evaluation: STANDARD_EVAL };
  switch (id) {
    case 'market1501':
    case 'dukemtmc':
      return { ...base, ...readNamedFolders(root, MARKET_SPLITS, p) };
    case 'veri':
      return { ...base, ...readNamedFolders(root, VERI_SPLITS, p) };
    case 'cuhk03_detected':
    case 'cuhk03_labeled': {
      const type = id === 'cuhk03_labeled' ? 'labeled' : 'detected';
      if (l.variant === 'np') return { ...base, root: join(root, type), ...readNamedFolders(join(root, type), MARKET_SPLITS, p), notes: [`CUHK03-NP ${type}/ folders (767 / 700 identities)`] };
      return { ...base, ...readCuhk03Json(root, type, p), notes: [`split 0 of splits_new_${type}.json over images_${type}/ (767 / 700 identities)`] };
    }
    case 'msmt17': {
      const [version, tr, te] = msmtVersion(root)!;
      const val = readMsmtList(join(root, 'list_val.txt'), join(root, tr), p, false);
      const notes = [`${basename(root) === version ? version : version + ' layout'}: ${tr}/ + list_train.txt for training, ${te}/ + list_query.txt / list_gallery.txt for evaluation`];
      if (val.length) notes.push(`list_val.txt (${counted(val.length, 'image')}) is not added to training, as fast-reid does unless DATASETS.COMBINEALL (and RSB never)`);
      return {
        ...base,
        train: readMsmtList(join(root, 'list_train.txt'), join(root, tr), p, true),
        query: readMsmtList(join(root, 'list_query.txt'), join(root, te), p, true),
        gallery: readMsmtList(join(root, 'list_gallery.txt'), join(root, te), p, true),
        notes,
      };
    }
    case 'vehicleid_800':
    case 'vehicleid_1600':
    case 'vehicleid_2400': {
      const split = join(root, 'train_test_split');
      const test = readVehicleList(join(split, VEHICLEID_TESTS[id]!), join(root, 'image'), p);
      return {
        ...base,
        // VehicleID has no cameras: fast-reid's vehicleid.py gives every image its own id as the camera (train
        // and test), so its dataset table counts image ids as cameras; the summary counts them as it does.
        train: readVehicleList(join(split, 'train_list.txt'), join(root, 'image'), p),
        ...vehicleQueryGallery(test),
        notes: ['VehicleID has no camera ids: as in fast-reid vehicleid.py each image id is its camera, so "cameras" counts images'],
        evaluation: `from ${VEHICLEID_TESTS[id]}: one image per vehicle in the gallery, the others are queries (fast-reid vehicleid.py; its shuffle seeded with 0 here)`,
      };
    }
    case 'veriwild_3000':
    case 'veriwild_5000':
    case 'veriwild_10000': {
      const split = join(root, 'train_test_split');
      const n = VERIWILD_TESTS[id]!;
      const info = readVeriWildInfo(join(split, 'vehicle_info.txt'), join(root, 'images'), p);
      return {
        ...base,
        train: readVeriWildList(join(split, 'train_list.txt'), info, p),
        query: readVeriWildList(join(split, `test_${n}_query.txt`), info, p),
        gallery: readVeriWildList(join(split, `test_${n}.txt`), info, p),
        notes: [`train_list.txt for training, test_${n}_query.txt / test_${n}.txt for evaluation; cameras from vehicle_info.txt (fast-reid veriwild.py)`],
      };
    }
  }
}

function lacking(l: { partial: string; missing: string[] }): string {
  return `expected ${l.missing.every((m) => m.endsWith('/')) ? 'the folders ' : ''}${l.missing.join(', ')} in ${l.partial}`;
}
