#!/usr/bin/env python3
"""Writes image files in the modes re-ID datasets contain, and PIL's RGB of each (what both frameworks'
read_image feeds the model: `Image.open(path).convert('RGB')`, reid-strong-baseline data/datasets/dataset_loader.py,
fast-reid fastreid/data/data_utils.py before its EXIF step). Run by test/image/modes.test.ts with
/usr/bin/python3 (Pillow):  make_modes.py OUT_DIR  ->  OUT_DIR/<name>.<ext> + OUT_DIR/<name>.rgb (H×W×3 uint8)
and OUT_DIR/index.json [{name, file, mode, w, h}].
"""
import json, os, sys
import numpy as np
from PIL import Image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(22)
H, W = 19, 11
smooth = lambda c: np.clip(np.cumsum(rng.integers(-40, 41, (H, W, c)), axis=1) + 128, 0, 255).astype(np.uint8)
cases = [
    ('cmyk', 'jpg', Image.fromarray(smooth(4), 'CMYK'), {'quality': 95}),
    ('cmyk_q75', 'jpg', Image.fromarray(smooth(4), 'CMYK'), {'quality': 75}),
    ('cmyk_tiff', 'tif', Image.fromarray(rng.integers(0, 256, (H, W, 4)).astype(np.uint8), 'CMYK'), {}),
    ('gray', 'jpg', Image.fromarray(smooth(1)[..., 0], 'L'), {'quality': 95}),
    ('rgba', 'png', Image.fromarray(rng.integers(0, 256, (H, W, 4)).astype(np.uint8), 'RGBA'), {}),
    ('palette', 'png', Image.fromarray(smooth(3), 'RGB').convert('P', palette=Image.ADAPTIVE, colors=17), {}),
    ('rgb', 'jpg', Image.fromarray(smooth(3), 'RGB'), {'quality': 90}),
]
index = []
for name, ext, im, kw in cases:
    f = f'{name}.{ext}'
    im.save(os.path.join(out, f), **kw)
    back = Image.open(os.path.join(out, f))
    index.append({'name': name, 'file': f, 'mode': back.mode, 'w': back.width, 'h': back.height})
    open(os.path.join(out, name + '.rgb'), 'wb').write(np.asarray(back.convert('RGB')).tobytes())
# EXIF orientations 1-8 on a non-square JPEG: <name>.rgb is what reid-strong-baseline reads (no EXIF step),
# <name>.exif.rgb what fast-reid reads (ImageOps.exif_transpose, then convert('RGB')).
from PIL import ImageOps
base = Image.fromarray(smooth(3), 'RGB')
for o in range(1, 9):
    name, f = f'exif{o}', f'exif{o}.jpg'
    exif = Image.Exif()
    exif[0x0112] = o
    base.save(os.path.join(out, f), quality=95, exif=exif.tobytes())
    back = Image.open(os.path.join(out, f))
    t = ImageOps.exif_transpose(back)
    index.append({'name': name, 'file': f, 'mode': back.mode, 'w': back.width, 'h': back.height, 'tw': t.width, 'th': t.height})
    open(os.path.join(out, name + '.rgb'), 'wb').write(np.asarray(back.convert('RGB')).tobytes())
    open(os.path.join(out, name + '.exif.rgb'), 'wb').write(np.asarray(t.convert('RGB')).tobytes())
json.dump(index, open(os.path.join(out, 'index.json'), 'w'))
