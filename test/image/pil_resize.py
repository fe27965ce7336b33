"""Outside reference for main/image/resample.ts: Pillow's Image.resize, as torchvision T.Resize calls it.

stdin: JSON list of {"png": path, "size": [W, H], "filter": "bilinear" | "bicubic", "out": path}.
Each PNG is opened, converted to RGB (PIL's convert, as the frameworks' read_image does), resized with
Image.resize((W, H), BILINEAR | BICUBIC) and written to "out" as raw interleaved RGB bytes.
stdout: {"pillow": version}.
"""
import json
import sys

import PIL
from PIL import Image

FILTERS = {'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC}
for job in json.load(sys.stdin):
    img = Image.open(job['png']).convert('RGB')
    out = img.resize(tuple(job['size']), FILTERS[job['filter']])
    assert out.mode == 'RGB' and out.size == tuple(job['size'])
    with open(job['out'], 'wb') as f:
        f.write(out.tobytes())
print(json.dumps({'pillow': PIL.__version__}))
