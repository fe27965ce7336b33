"""Outside reference for the activation-map overlay's opacity (core/compile/actmap.ts overlayActmap).

Request on stdin (JSON), reply on stdout (JSON):
- {"raw": {"H", "W", "image", "colour", "alpha"}}: uint8 RGB lists; replies {"blend": Pillow's
  Image.blend(image, colour, alpha), "torchreid": numpy floor(image * 0.3 + colour * 0.7) clipped (torchreid
  tools/visualize_actmap.py's overlap)} as flat lists.
- {"files": {"image", "colour", "picture", "alpha"}}: three picture files (JPEG): Pillow decodes them and
  blends the first two; replies the mean and max |picture − blend| per value.

Usage: /usr/bin/python3 blend_ref.py < request.json
"""
import json
import sys

import numpy as np
from PIL import Image


def main():
    req = json.load(sys.stdin)
    if 'raw' in req:
        r = req['raw']
        size = (r['W'], r['H'])
        img = Image.frombytes('RGB', size, bytes(r['image']))
        col = Image.frombytes('RGB', size, bytes(r['colour']))
        blend = np.asarray(Image.blend(img, col, r['alpha'])).reshape(-1)
        a = np.asarray(r['image'], dtype=np.float64)
        c = np.asarray(r['colour'], dtype=np.float64)
        tr = np.clip(np.floor(a * 0.3 + c * 0.7), 0, 255)
        json.dump({'blend': blend.astype(int).tolist(), 'torchreid': tr.astype(int).tolist()}, sys.stdout)
    else:
        f = req['files']
        img, col, pic = (np.asarray(Image.open(f[k]).convert('RGB'), dtype=np.float64) for k in ('image', 'colour', 'picture'))
        blend = np.asarray(Image.blend(Image.fromarray(img.astype(np.uint8)), Image.fromarray(col.astype(np.uint8)), f['alpha']), dtype=np.float64)
        d = np.abs(pic - blend)
        json.dump({'mean': float(d.mean()), 'max': float(d.max())}, sys.stdout)


if __name__ == '__main__':
    main()
