"""Dataset readers as the frameworks write them, for the layout tests (stdin: JSON request, stdout: JSON).

Each reader follows the named framework file line by line (paths reported relative to the dataset root):
- folders: reid-strong-baseline data/datasets/veri.py _process_dir (glob *.jpg, ([-\\d]+)_c(\\d+),
  junk pid -1 skipped, camid - 1); market1501.py is the same with one camera digit.
- msmt17: fast-reid fastreid/data/datasets/msmt17.py (VERSION_DICT, process_dir).
- cuhk03_json: fast-reid cuhk03.py (json split 0: train / query / gallery as stored).
- vehicleid: fast-reid vehicleid.py process_dir (train list; test list -> one gallery image per vehicle).
- unreadable: which files Pillow cannot fully decode (Image.open + load).
"""
import glob
import json
import os
import os.path as osp
import re
import sys

from PIL import Image


def rel(root, p):
    return osp.relpath(p, root)


def veri_dir(root, dir_path):
    img_paths = sorted(glob.glob(osp.join(dir_path, '*.jpg')))
    pattern = re.compile(r'([-\d]+)_c(\d+)')
    data = []
    for img_path in img_paths:
        pid, camid = map(int, pattern.search(osp.basename(img_path)).groups())
        if pid == -1:
            continue
        camid -= 1
        data.append([rel(root, img_path), pid, camid])
    return data


def msmt17(root):
    VERSION_DICT = {'MSMT17_V1': ('train', 'test'), 'MSMT17_V2': ('mask_train_v2', 'mask_test_v2')}
    for main_dir in VERSION_DICT:
        if osp.exists(osp.join(root, main_dir)):
            train_dir, test_dir = VERSION_DICT[main_dir]
            break

    def process_dir(dir_path, list_path):
        with open(list_path, 'r') as txt:
            lines = txt.readlines()
        data = []
        for img_info in lines:
            img_path, pid = img_info.split(' ')
            pid = int(pid)
            camid = int(img_path.split('_')[2]) - 1
            data.append([rel(root, osp.join(dir_path, img_path)), pid, camid])
        return data

    d = osp.join(root, main_dir)
    return {
        'train': process_dir(osp.join(d, train_dir), osp.join(d, 'list_train.txt')),
        'val': process_dir(osp.join(d, train_dir), osp.join(d, 'list_val.txt')),
        'query': process_dir(osp.join(d, test_dir), osp.join(d, 'list_query.txt')),
        'gallery': process_dir(osp.join(d, test_dir), osp.join(d, 'list_gallery.txt')),
    }


def cuhk03_json(root, kind):
    with open(osp.join(root, 'splits_new_%s.json' % kind)) as f:
        split = json.load(f)[0]
    img_dir = osp.join(root, 'images_%s' % kind)
    return {k: [[rel(root, osp.join(img_dir, osp.basename(p))), pid, camid] for p, pid, camid in split[k]] for k in ('train', 'query', 'gallery')}


def vehicleid(root, test_list):
    image_dir = osp.join(root, 'image')

    def process(list_file):
        out = []
        for line in open(list_file).readlines():
            line = line.strip()
            vid = line.split(' ')[1]
            imgid = line.split(' ')[0]
            out.append([rel(root, osp.join(image_dir, imgid + '.jpg')), int(vid), int(imgid)])
        return out

    train = process(osp.join(root, 'train_test_split', 'train_list.txt'))
    test = process(osp.join(root, 'train_test_split', test_list))
    vids = sorted(set(s[1] for s in test))
    return {'train': train, 'test': test, 'numGallery': len(vids), 'numQuery': len(test) - len(vids)}


def unreadable(root):
    bad = []
    for p in sorted(glob.glob(osp.join(root, '**', '*.jpg'), recursive=True)):
        try:
            with Image.open(p) as im:
                im.load()
        except Exception:
            bad.append(rel(root, p))
    return bad


def main():
    req = json.load(sys.stdin)
    root, what = req['root'], req['what']
    if what == 'folders':
        out = {s: veri_dir(root, osp.join(root, s)) for s in req['splits']}
    elif what == 'msmt17':
        out = msmt17(root)
    elif what == 'cuhk03_json':
        out = cuhk03_json(root, req['kind'])
    elif what == 'vehicleid':
        out = vehicleid(root, req['testList'])
    elif what == 'unreadable':
        out = unreadable(root)
    else:
        raise SystemExit('unknown request ' + what)
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
