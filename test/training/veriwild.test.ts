import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, detectLayout, loadDataset, type ImageRecord } from '../../main/training/data/datasets.js';

/**
 * VeRi-Wild (fast-reid fastreid/data/datasets/veriwild.py) on a tiny VERI-Wild/ folder
 * (test/fixtures/veriwild/: the list files; the images are made here), against what fast-reid's own
 * VeRiWild / SmallVeRiWild / MediumVeRiWild / LargeVeRiWild read from it (reference.json, written by
 * make_reference.py with fast-reid's code).
 */

const FIXTURE = new URL('../fixtures/veriwild/', import.meta.url).pathname;
type Split = [string, string | number, string | number][];
const REF = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8')) as Record<
  string,
  { train: Split; query: Split; gallery: Split; counts: Record<'train' | 'query' | 'gallery', { ids: number; cameras: number; images: number }> }
>;
const LAYOUTS = { veriwild_3000: 'SmallVeRiWild', veriwild_5000: 'MediumVeRiWild', veriwild_10000: 'LargeVeRiWild' } as const;

let tmp: string;
let root: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'reid-veriwild-'));
  root = join(tmp, 'VERI-Wild');
  cpSync(join(FIXTURE, 'VERI-Wild'), root, { recursive: true });
  const jpg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#406080' } }).jpeg().toBuffer();
  for (const [p] of REF.LargeVeRiWild!.train.concat(REF.LargeVeRiWild!.query, REF.LargeVeRiWild!.gallery)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), jpg);
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// fast-reid prefixes training pids and cameras with the dataset name ('veriwild_4'); test ones are ints.
const triples = (rs: ImageRecord[], prefix: string) => rs.map((r) => [relative(root, r.path), prefix + r.pid, prefix + r.camid]);
const asStrings = (s: Split, prefix: string) => s.map(([p, pid, cam]) => [p, prefix === '' ? String(pid) : pid, prefix === '' ? String(cam) : cam]);

describe('VeRi-Wild layouts read as fast-reid veriwild.py reads them', () => {
  for (const [layout, cls] of Object.entries(LAYOUTS)) {
    it(`${layout} = fast-reid ${cls}`, async () => {
      const ref = REF[cls]!;
      const d = await loadDataset(layout as keyof typeof LAYOUTS, tmp);
      expect(d.root).toBe(root);
      expect(triples(d.train, 'veriwild_')).toEqual(ref.train);
      expect(triples(d.query, '')).toEqual(asStrings(ref.query, ''));
      expect(triples(d.gallery, '')).toEqual(asStrings(ref.gallery, ''));
      for (const s of ['train', 'query', 'gallery'] as const)
        expect([d.summary[s].identities, d.summary[s].cameras, d.summary[s].images], s).toEqual([ref.counts[s].ids, ref.counts[s].cameras, ref.counts[s].images]);
    });
  }

  it('the training-list name alone (VeRiWild) tests on test_10000, as LargeVeRiWild', () => {
    expect(REF.VeRiWild!.query).toEqual(REF.LargeVeRiWild!.query);
    expect(REF.VeRiWild!.gallery).toEqual(REF.LargeVeRiWild!.gallery);
  });

  it('is detected (3000 first), and a folder missing a list is refused with what is missing', async () => {
    expect(detectLayout(tmp)).toBe('veriwild_3000');
    const part = join(tmp, 'partial', 'VERI-Wild');
    cpSync(root, part, { recursive: true });
    for (const n of [3000, 5000, 10000]) rmSync(join(part, 'train_test_split', `test_${n}.txt`));
    expect(() => detectLayout(join(tmp, 'partial'))).toThrow(/looks like a VeRi-Wild dataset but is incomplete: expected .*train_test_split\/test_3000\.txt/);
    await expect(loadDataset('veriwild_5000', join(tmp, 'partial'))).rejects.toThrow(DatasetError);
  });
});
