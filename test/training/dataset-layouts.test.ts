import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASET_LAYOUTS } from '../../core/config/datasets.js';
import { DatasetError, detectLayout, loadDataset, type ImageRecord, type LoadedDataset } from '../../main/training/data/datasets.js';
import { PYTHON, runPython } from './python.js';

const CASES = new URL('../../../shared/cases/', import.meta.url).pathname;
const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
let tmp: string;
let jpg: Buffer;
let png: Buffer;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'reid-layouts-'));
  jpg = await sharp({ create: { width: 16, height: 32, channels: 3, background: '#804020' } }).jpeg().toBuffer();
  png = await sharp({ create: { width: 16, height: 32, channels: 3, background: '#204080' } }).png().toBuffer();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function put(root: string, files: string[], data = jpg): void {
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), data);
  }
}
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, REID_STUDIO_HOME: join(tmp, 'home') }, timeout: 600_000 });
const triples = (root: string, rs: ImageRecord[]) => rs.map((r) => [relative(root, r.path), r.pid, r.camid]);
const sortT = (t: unknown[][]) => [...t].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DatasetError);
  return (e as DatasetError).code;
}

describe('VeRi-776 (case veri-776-layout)', () => {
  let out: string;
  let expected: {
    native_layout: Record<'train' | 'query' | 'gallery', { identities: number; images: number; cameras?: number }> & { parse: Record<string, Record<string, { pid: number; camid: number }>> };
    market_layout: { parse: Record<string, Record<string, { pid: number; camid: number }>>; train: { identities: number; images: number }; numQuery: number; numGallery: number; numValidQuery: number };
  };
  beforeAll(() => {
    out = join(tmp, 'veri-case');
    execFileSync(PYTHON, [join(CASES, 'veri-776-layout', 'make.py'), out], { stdio: 'pipe' });
    expected = JSON.parse(readFileSync(join(out, 'expected.json'), 'utf8'));
  }, 300_000);

  const parsed = (d: LoadedDataset, split: 'train' | 'query' | 'gallery') => Object.fromEntries(d[split].map((r) => [r.path.split('/').pop()!, { pid: r.pid, camid: r.camid + 1 }]));

  it('reads image_train/ image_query/ image_test/ with 3-digit cameras, as RSB veri.py does', async () => {
    expect(detectLayout(join(out, 'VeRi'))).toBe('veri');
    const d = await loadDataset('veri', join(out, 'VeRi'));
    const e = expected.native_layout;
    expect(parsed(d, 'train')).toEqual(e.parse.image_train);
    expect(parsed(d, 'query')).toEqual(e.parse.image_query);
    expect(parsed(d, 'gallery')).toEqual(e.parse.image_test);
    expect(d.summary.train).toMatchObject(e.train);
    expect(d.summary.query).toMatchObject(e.query);
    expect(d.summary.gallery).toMatchObject(e.gallery);
    expect(d.numClasses).toBe(2); // vehicles, not the 3 split folders
    expect(d.summary.layout).toBe('VeRi-776');
  });

  it('Market folders holding VeRi names: cameras of any width, and the evaluation counts of RSB eval_func', async () => {
    const root = join(out, 'VeRi-as-market');
    expect(detectLayout(root)).toBe('market1501');
    const d = await loadDataset('market1501', root);
    const e = expected.market_layout;
    expect(parsed(d, 'train')).toEqual(e.parse.bounding_box_train);
    expect(parsed(d, 'query')).toEqual(e.parse.query);
    expect(parsed(d, 'gallery')).toEqual(e.parse.bounding_box_test);
    expect(d.summary.train).toMatchObject(e.train);
    expect([d.summary.query.images, d.summary.gallery.images, d.summary.validQueries]).toEqual([e.numQuery, e.numGallery, e.numValidQuery]);
  });

  it('the CLI evaluates the RSB weights on it with the expected counts', () => {
    const r = cli(['eval', '--preset', 'resnet18', '--input', '64x32', '--weights', join(out, 'weights.pth'), '--data', join(out, 'VeRi-as-market'), '--json']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect([j.numQuery, j.numGallery, j.numValidQuery]).toEqual([expected.market_layout.numQuery, expected.market_layout.numGallery, expected.market_layout.numValidQuery]);
  }, 300_000);
});

describe('layouts read as the frameworks read them (reference: test/training/ref_datasets.py)', () => {
  it('MSMT17_V2 list files (fast-reid msmt17.py); list_val.txt is not merged into training', async () => {
    const root = join(tmp, 'msmt');
    const v = join(root, 'MSMT17_V2');
    const train = ['0000/0000_000_01_0303morning_0015_0.jpg', '0000/0000_001_05_0303morning_0016_0.jpg', '0001/0001_000_11_0303noon_0100_1.jpg', '0001/0001_001_15_0303noon_0101_0.jpg'];
    const val = ['0000/0000_002_07_0303morning_0017_0.jpg'];
    const query = ['0000/0000_000_02_0113morning_0001_0.jpg', '0001/0001_000_12_0113noon_0002_0.jpg'];
    const gallery = ['0000/0000_001_05_0113morning_0003_0.jpg', '0001/0001_001_12_0113noon_0004_0.jpg', '0001/0001_002_03_0113noon_0005_0.jpg', '0002/0002_000_10_0113noon_0006_0.jpg'];
    put(join(v, 'mask_train_v2'), [...train, ...val]);
    put(join(v, 'mask_test_v2'), [...query, ...gallery]);
    const list = (names: string[]) => names.map((n) => `${n} ${Number(n.slice(0, 4))}\n`).join('');
    writeFileSync(join(v, 'list_train.txt'), list(train));
    writeFileSync(join(v, 'list_val.txt'), list(val));
    writeFileSync(join(v, 'list_query.txt'), list(query));
    writeFileSync(join(v, 'list_gallery.txt'), list(gallery));
    expect(detectLayout(root)).toBe('msmt17');
    const d = await loadDataset('msmt17', root);
    const ref = runPython<Record<string, unknown[][]>>('ref_datasets.py', { what: 'msmt17', root });
    for (const s of ['train', 'query', 'gallery'] as const) expect(sortT(triples(root, d[s]))).toEqual(sortT(ref[s]!));
    expect(ref.val!.length).toBe(1);
    expect(d.summary.notes.join(' ')).toMatch(/list_val\.txt \(1 image\) is not added to training/);
    expect(d.summary.train).toMatchObject({ identities: 2, images: 4, cameras: 4 });
    expect(d.summary.validQueries).toBe(2);
  });

  it('CUHK03 as torchreid / fast-reid prepare it: splits_new_labeled.json over images_labeled/', async () => {
    const root = join(tmp, 'cuhk03fr', 'cuhk03');
    const names = ['1_001_1_01.png', '1_001_2_06.png', '1_002_1_01.png', '1_002_2_07.png', '2_010_1_02.png', '2_010_2_08.png', '2_011_1_01.png', '2_011_2_06.png', '2_011_2_07.png'];
    put(join(root, 'images_labeled'), names, png);
    const at = (n: string) => `/home/someone/data/cuhk03/images_labeled/${n}`; // written on another machine
    const cam = (n: string) => Number(n.split('_')[2]) - 1;
    const split = {
      train: [names[0], names[1], names[2], names[3]].map((n, i) => [at(n!), i < 2 ? 0 : 1, cam(n!)]),
      query: [names[4], names[6]].map((n) => [at(n!), n!.startsWith('2_010') ? 10 : 11, cam(n!)]),
      gallery: [names[5], names[7], names[8]].map((n) => [at(n!), n!.startsWith('2_010') ? 10 : 11, cam(n!)]),
    };
    writeFileSync(join(root, 'splits_new_labeled.json'), JSON.stringify([split]));
    expect(detectLayout(join(tmp, 'cuhk03fr'))).toBe('cuhk03_labeled');
    const d = await loadDataset('cuhk03_labeled', join(tmp, 'cuhk03fr'));
    const ref = runPython<Record<string, unknown[][]>>('ref_datasets.py', { what: 'cuhk03_json', root, kind: 'labeled' });
    for (const s of ['train', 'query', 'gallery'] as const) expect(triples(root, d[s])).toEqual(ref[s]);
    expect(d.summary.validQueries).toBe(2);
    await expect(loadDataset('cuhk03_detected', join(tmp, 'cuhk03fr'))).rejects.toThrow(/CUHK03 detected/);
  });

  it("CUHK03-NP labeled/ and detected/ folders; labeled is the default, as fast-reid's (cuhk03.py cuhk03_labeled=True)", async () => {
    const root = join(tmp, 'cuhk03-np');
    for (const t of ['labeled', 'detected'])
      put(join(root, t), ['bounding_box_train/0001_c1_1.jpg', 'bounding_box_train/0001_c2_2.jpg', 'bounding_box_train/0003_c1_1.jpg', 'query/0005_c1_1.jpg', 'bounding_box_test/0005_c2_3.jpg', 'bounding_box_test/0006_c1_1.jpg']);
    expect(detectLayout(root)).toBe('cuhk03_labeled');
    for (const t of ['labeled', 'detected'] as const) {
      const d = await loadDataset(`cuhk03_${t}`, root);
      expect(d.root).toBe(join(root, t));
      const ref = runPython<Record<string, unknown[][]>>('ref_datasets.py', { what: 'folders', root: d.root, splits: ['bounding_box_train', 'query', 'bounding_box_test'] });
      expect(triples(d.root, d.train)).toEqual(ref.bounding_box_train);
      expect(triples(d.root, d.gallery)).toEqual(ref.bounding_box_test);
    }
  });

  it('VehicleID test-size lists (fast-reid vehicleid.py): one gallery image per vehicle, the rest queries', async () => {
    const root = join(tmp, 'VehicleID_V1.0');
    const trainList = ['0000001 1', '0000002 1', '0000003 4', '0000004 4', '0000005 4'];
    const testList = ['0000010 7', '0000011 7', '0000012 7', '0000013 9', '0000014 9', '0000015 12'];
    put(join(root, 'image'), [...trainList, ...testList].map((l) => `${l.split(' ')[0]}.jpg`));
    mkdirSync(join(root, 'train_test_split'), { recursive: true });
    writeFileSync(join(root, 'train_test_split', 'train_list.txt'), trainList.join('\n') + '\n');
    writeFileSync(join(root, 'train_test_split', 'test_list_1600.txt'), testList.join('\n') + '\n');
    expect(detectLayout(tmp + '/VehicleID_V1.0')).toBe('vehicleid_1600');
    await expect(loadDataset('vehicleid_800', root)).rejects.toThrow(/test_list_800\.txt/);
    const d = await loadDataset('vehicleid_1600', root);
    const ref = runPython<{ train: unknown[][]; test: unknown[][]; numGallery: number; numQuery: number }>('ref_datasets.py', { what: 'vehicleid', root, testList: 'test_list_1600.txt' });
    expect(triples(root, d.train)).toEqual(ref.train); // camera = image id, as fast-reid sets it
    expect(sortT([...triples(root, d.query), ...triples(root, d.gallery)])).toEqual(sortT(ref.test));
    expect([d.gallery.length, d.query.length]).toEqual([ref.numGallery, ref.numQuery]);
    expect(new Set(d.gallery.map((r) => r.pid)).size).toBe(d.gallery.length);
    expect(d.summary.validQueries).toBe(3); // vehicle 12 has a single image: gallery only
    // fast-reid's dataset table (bases.py parse_data: len(set(camids))) counts the image ids VehicleID uses as cameras.
    expect(d.summary.train.cameras).toBe(new Set(ref.train.map((t) => t[2])).size);
    expect(d.summary.query.cameras + d.summary.gallery.cameras).toBe(new Set(ref.test.map((t) => t[2])).size);
    // Seeded: the same split on every load.
    expect((await loadDataset('vehicleid_1600', root)).gallery.map((r) => r.path)).toEqual(d.gallery.map((r) => r.path));
  });
});

describe('folders that match no layout are refused, never read as another layout', () => {
  it('lists every layout and its marker folders', async () => {
    const root = join(tmp, 'nothing');
    put(root, ['images/a.jpg']);
    let msg = '';
    try {
      detectLayout(root);
    } catch (e) {
      msg = (e as Error).message;
      expect((e as DatasetError).code).toBe('E_DATASET_LAYOUT');
    }
    expect(msg).toMatch(/matches no dataset layout/);
    for (const marker of ['bounding_box_train/', 'image_train/', 'MSMT17_V1/', 'splits_new_labeled.json', 'train_test_split/', 'test_list_2400.txt', 'train/<class>/']) expect(msg).toContain(marker);
    for (const l of DATASET_LAYOUTS) expect(msg).toContain(l.id); // the names --layout takes
  });

  it('part of a layout is named with what is missing (VeRi without image_test/ is not 2 classes)', async () => {
    const root = join(tmp, 'veri-partial');
    put(root, ['image_train/0002_c002_00030600_0.jpg', 'image_train/0003_c002_00030600_0.jpg', 'image_query/0005_c011_00050000_0.jpg']);
    expect(() => detectLayout(root)).toThrow(/looks like a VeRi-776 dataset but is incomplete: expected the folders image_test\//);
  });

  it("part of the Market folders is Market-1501's, not DukeMTMC-reID's, unless the path names duke (RSB dukemtmcreid.py's folder)", async () => {
    const root = join(tmp, 'market-partial');
    put(root, ['query/0002_c1s1_000451_03.jpg', 'query/0007_c2s3_070952_01.jpg']);
    expect(() => detectLayout(root)).toThrow(/looks like a Market-1501 dataset but is incomplete: expected the folders bounding_box_train\/, bounding_box_test\//);
    const duke = join(tmp, 'DukeMTMC-reID');
    put(duke, ['query/0005_c2_f0046985.jpg']);
    expect(() => detectLayout(duke)).toThrow(/looks like a DukeMTMC-reID dataset but is incomplete/);
  });

  it('raw CUHK03 (.mat only) is refused: reading cuhk-03.mat is out of scope', async () => {
    const root = join(tmp, 'cuhk03raw');
    mkdirSync(join(root, 'cuhk03_release'), { recursive: true });
    writeFileSync(join(root, 'cuhk03_release', 'cuhk-03.mat'), 'MATLAB 7.3');
    expect(() => detectLayout(root)).toThrow(/reading the raw cuhk-03\.mat is not supported/);
    await expect(loadDataset('cuhk03_labeled', root)).rejects.toThrow(/reading the raw cuhk-03\.mat is not supported/);
  });
});

describe('data problems are the user errors with their own codes', () => {
  it('no query with a valid match, empty split, unparsable names, nothing readable', async () => {
    const same = join(tmp, 'samecam');
    put(same, ['bounding_box_train/0001_c1s1_01.jpg', 'query/0002_c1s1_01.jpg', 'bounding_box_test/0002_c1s1_02.jpg', 'bounding_box_test/0003_c2s1_02.jpg']);
    expect(await codeOf(loadDataset('market1501', same))).toBe('E_DATASET_NO_VALID_QUERY');
    const empty = join(tmp, 'emptyq');
    put(empty, ['bounding_box_train/0001_c1s1_01.jpg', 'bounding_box_test/0002_c1s1_02.jpg']);
    mkdirSync(join(empty, 'query'));
    expect(await codeOf(loadDataset('market1501', empty))).toBe('E_DATASET_EMPTY_SPLIT');
    const names = join(tmp, 'badnames');
    put(names, ['bounding_box_train/cat.jpg', 'bounding_box_train/dog.jpg', 'query/0002_c1s1_01.jpg', 'bounding_box_test/0002_c2s1_02.jpg']);
    expect(await codeOf(loadDataset('market1501', names))).toBe('E_DATASET_UNPARSABLE');
    const broken = join(tmp, 'broken');
    put(broken, ['bounding_box_train/0001_c1s1_01.jpg', 'bounding_box_train/0002_c1s1_01.jpg'], Buffer.from('not an image'));
    put(broken, ['query/0002_c1s1_01.jpg', 'bounding_box_test/0002_c2s1_02.jpg']);
    expect(await codeOf(loadDataset('market1501', broken))).toBe('E_DATASET_UNREADABLE');
    // Through the CLI: a one-line error (exit 2), not an internal error.
    const r = cli(['eval', '--preset', 'resnet18', '--input', '64x32', '--data', same]);
    expect(r.stderr).toMatch(/^reid-studio: error: no query has a valid match/);
    expect(r.status).toBe(2);
  }, 300_000);

  it('JPEG and PNG files cut short are found at load, as Pillow finds them', async () => {
    const root = join(tmp, 'cut');
    const big = await sharp({ create: { width: 32, height: 64, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 50 } } });
    const bigJpg = await big.clone().jpeg().toBuffer();
    const bigPng = await big.clone().png().toBuffer();
    put(root, ['bounding_box_train/0001_c1s1_01.jpg', 'bounding_box_train/0002_c1s1_01.jpg', 'query/0001_c2s1_01.jpg', 'bounding_box_test/0001_c1s1_02.jpg'], bigJpg);
    put(root, ['bounding_box_train/0001_c2s1_02.jpg'], bigJpg.subarray(0, bigJpg.length - 300));
    put(root, ['bounding_box_train/0002_c2s1_02.jpg'], bigPng.subarray(0, bigPng.length >> 1)); // a PNG named .jpg
    put(root, ['bounding_box_test/0001_c3s1_03.jpg'], bigPng);
    const d = await loadDataset('market1501', root);
    const pil = runPython<string[]>('ref_datasets.py', { what: 'unreadable', root });
    expect(d.problems.unreadable.map((u) => relative(root, u.path)).sort()).toEqual(pil);
    expect(pil).toHaveLength(2);
  });

  it('case reliability/truncated-jpeg-dataset: the identity whose only image is truncated is dropped with a message', async () => {
    const root = join(CASES, 'reliability', 'truncated-jpeg-dataset');
    const pil = runPython<string[]>('ref_datasets.py', { what: 'unreadable', root });
    expect(pil).toEqual(['bounding_box_train/0006_c1s1_000001_00.jpg']);
    const d = await loadDataset('market1501', root);
    expect(d.problems.unreadable.map((u) => relative(root, u.path))).toEqual(pil);
    expect(d.problems.identitiesDropped).toEqual([{ id: '6', images: 1 }]);
    expect(d.numClasses).toBe(5);
    expect(d.classNames).toEqual(['1', '2', '3', '4', '5']);
    const out = join(tmp, 'run-truncated');
    const r = cli(['train', '--preset', 'resnet18', '--input', '64x32', '--data', root, '--epochs', '1', '--batch', '2,2', '--out', out, '--json']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).toMatch(/skipped 1 unreadable image, e\.g\./);
    expect(r.stderr).toMatch(/1 training identity dropped: none of its images could be read \(6\)/);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'completed' });
  }, 600_000);
});

describe('class-per-folder data (case class-folders-run-fails-at-eval)', () => {
  let out: string;
  beforeAll(() => {
    out = join(tmp, 'class-case');
    execFileSync(PYTHON, [join(CASES, 'class-folders-run-fails-at-eval', 'make.py'), out], { stdio: 'pipe' });
    mkdirSync(join(out, 'pytorch', 'train', '0099')); // an empty class folder is not a class
  });

  it('train/<id>/ + val/<id>/: queries are the val images, the gallery the training images', async () => {
    const d = await loadDataset('class_folders', join(out, 'pytorch'));
    expect(d.classNames).toEqual(['0002', '0007', '0010', '0011']);
    expect(d.problems.emptyClasses).toEqual([join(out, 'pytorch', 'train', '0099')]);
    expect([d.train.length, d.query.length, d.gallery.length, d.summary.validQueries]).toEqual([12, 4, 12, 4]);
    expect(d.summary.evaluation).toMatch(/query: the val\/ images; gallery: the training images/);
  });

  it('<class>/ only: the last image of each class is held out as its query', async () => {
    expect(detectLayout(join(out, 'flat'))).toBe('class_folders');
    const d = await loadDataset('class_folders', join(out, 'flat'));
    expect(d.query.map((r) => relative(join(out, 'flat'), r.path))).toEqual(['cat/003.jpg', 'dog/003.jpg']);
    expect([d.train.length, d.gallery.length, d.summary.validQueries]).toEqual([6, 6, 2]);
    expect(d.train.some((r) => r.path.endsWith('003.jpg'))).toBe(false);
  });

  it('prepare.py query/<id>/ + gallery/<id>/ are evaluated as given, cameras from the names', async () => {
    const root = join(tmp, 'prepared');
    put(root, ['train/0002/0002_c1s1_000151_00.jpg', 'train/0002/0002_c2s1_000151_01.jpg', 'train/0007/0007_c1s1_000151_00.jpg']);
    put(root, ['query/0001/0001_c1s1_001051_00.jpg', 'query/0003/0003_c2s1_001051_00.jpg', 'gallery/0001/0001_c1s1_001101_00.jpg', 'gallery/0001/0001_c3s1_001101_00.jpg', 'gallery/0003/0003_c2s1_001101_00.jpg', 'gallery/-1/-1_c1s1_000000_00.jpg']);
    const d = await loadDataset('class_folders', root);
    expect(d.classNames).toEqual(['0002', '0007']);
    expect(d.query.map((r) => r.camid)).toEqual([0, 1]);
    expect([d.gallery.length, d.problems.junkDropped, d.summary.validQueries]).toEqual([3, 1, 1]); // 0003 is seen only from its own camera
    expect(d.summary.gallery.cameras).toBe(3);
  });

  for (const [name, classes] of [
    ['pytorch', '4'],
    ['flat', '2'],
  ] as const)
    it(`a real training run on ${name}/ completes with its evaluation (the case's command)`, () => {
      const run = join(out, `run-${name}`);
      const r = cli(['train', '--preset', 'resnet18', '--input', '64x32', '--num-classes', classes, '--data', join(out, name), '--epochs', '1', '--batch', '2,2', '--out', run, '--json']);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.stderr).toMatch(/evaluation: query: /);
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.status).toBe('completed');
      expect(j.eval.numValidQuery).toBe(name === 'pytorch' ? 4 : 2);
      expect(j.eval.mAP).toBeGreaterThan(0);
    }, 600_000);
});
