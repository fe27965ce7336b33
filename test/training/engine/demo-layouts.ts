import { linkSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatasetKind } from '../../../main/training/data/datasets.js';

/**
 * The demo dataset (Market-1501 layout, main/training/data/demo.ts) laid out as another dataset's own files, so a
 * recipe trains through the reader of its DATASETS.NAMES. The app's demo generator writes the Market-1501 layout
 * only; these layouts are written here, from the dataset loaders' definitions:
 *   DukeMTMC-reID  `DukeMTMC-reID/{bounding_box_train,query,bounding_box_test}/0005_c2_f0046985.jpg` (fast-reid dukemtmcreid.py)
 *   MSMT17         `MSMT17_V1/{train,test}/<pid>/<pid>_<seq>_<cam>_…jpg` + list_train/query/gallery.txt `<path> <pid>` (msmt17.py)
 *   VeRi-776       `VeRi/{image_train,image_query,image_test}/0002_c002_00030600_0.jpg` (veri.py)
 *   VehicleID      `VehicleID/image/<image id>.jpg` + train_test_split/train_list.txt, test_list_800.txt `<image id> <vehicle id>` (vehicleid.py)
 *   VeRi-Wild      `VERI-Wild/images/<vehicle>/<image>.jpg` + train_test_split/{train_list,test_3000,test_3000_query}.txt
 *                  `<vehicle>/<image>.jpg` and vehicle_info.txt `<vehicle>/<image>;<camera>;…` after a header (veriwild.py)
 * Images are hard links of the demo's JPEGs. Junk (pid −1) is left out everywhere but Market-1501, distractors
 * (pid 0) where the dataset has none. Returns the folder to read and the training identities written.
 */
export function layDemoAs(kind: DatasetKind, demo: string, out: string): { root: string; trainIds: number } {
  const NAME = /^(-?\d+)_c(\d+)s(\d+)_(\d+)_(\d+)\.jpg$/;
  type Img = { file: string; pid: number; cam: number };
  const split = (dir: string): Img[] =>
    readdirSync(join(demo, dir))
      .filter((f) => f.endsWith('.jpg'))
      .sort()
      .map((f) => {
        const m = NAME.exec(f);
        if (!m) throw new Error(`not a demo image name: ${f}`);
        return { file: join(demo, dir, f), pid: Number(m[1]), cam: Number(m[2]) };
      });
  const train = split('bounding_box_train');
  const query = split('query');
  const gallery = split('bounding_box_test');
  const trainIds = new Set(train.map((r) => r.pid)).size;
  if (kind === 'market1501') return { root: demo, trainIds };
  const link = (from: string, to: string) => {
    mkdirSync(dirname(to), { recursive: true });
    linkSync(from, to);
  };
  const write = (path: string, lines: string[]) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  };
  const p = (n: number, w: number) => String(n).padStart(w, '0');
  let n = 0;
  const people = (rs: Img[], distractors: boolean) => rs.filter((r) => r.pid > 0 || (distractors && r.pid === 0));
  switch (kind) {
    case 'dukemtmc':
    case 'veri': {
      const root = join(out, kind === 'dukemtmc' ? 'DukeMTMC-reID' : 'VeRi');
      const dirs = kind === 'dukemtmc' ? ['bounding_box_train', 'query', 'bounding_box_test'] : ['image_train', 'image_query', 'image_test'];
      const name = (r: Img) => (kind === 'dukemtmc' ? `${p(r.pid, 4)}_c${r.cam}_f${p(++n, 7)}.jpg` : `${p(r.pid, 4)}_c${p(r.cam, 3)}_${p(++n, 8)}_0.jpg`);
      [train, query, gallery].forEach((rs, i) => people(rs, i === 2).forEach((r) => link(r.file, join(root, dirs[i]!, name(r)))));
      return { root, trainIds };
    }
    case 'msmt17': {
      const root = join(out, 'MSMT17_V1');
      const list = (rs: Img[], dir: string) =>
        people(rs, false).map((r) => {
          const rel = `${p(r.pid, 4)}/${p(r.pid, 4)}_${p(++n, 3)}_${p(r.cam, 2)}_0303morning_${p(n, 4)}_0.jpg`;
          link(r.file, join(root, dir, rel));
          return `${rel} ${r.pid}`;
        });
      write(join(root, 'list_train.txt'), list(train, 'train'));
      write(join(root, 'list_query.txt'), list(query, 'test'));
      write(join(root, 'list_gallery.txt'), list(gallery, 'test'));
      return { root, trainIds };
    }
    case 'vehicleid_800': {
      const root = join(out, 'VehicleID');
      const list = (rs: Img[]) =>
        people(rs, false).map((r) => {
          const id = p(++n, 7);
          link(r.file, join(root, 'image', `${id}.jpg`));
          return `${id} ${r.pid}`;
        });
      write(join(root, 'train_test_split', 'train_list.txt'), list(train));
      write(join(root, 'train_test_split', 'test_list_800.txt'), list([...query, ...gallery]));
      return { root, trainIds };
    }
    case 'veriwild_3000': {
      const root = join(out, 'VERI-Wild');
      const info: string[] = ['id/image;Camera ID;Time;Model;Type;Color'];
      const list = (rs: Img[]) =>
        people(rs, false).map((r) => {
          const rel = `${p(r.pid, 5)}/${p(++n, 6)}`;
          link(r.file, join(root, 'images', `${rel}.jpg`));
          info.push(`${rel};${p(r.cam, 3)};2018-03-11 11:21:11;Audi A6L;sedan;black`);
          return `${rel}.jpg`;
        });
      const s = join(root, 'train_test_split');
      write(join(s, 'train_list.txt'), list(train));
      write(join(s, 'test_3000_query.txt'), list(query));
      write(join(s, 'test_3000.txt'), list(gallery));
      write(join(s, 'vehicle_info.txt'), info);
      return { root, trainIds };
    }
    default:
      throw new Error(`no demo layout for ${kind}`);
  }
}
