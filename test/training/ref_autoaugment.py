"""Pillow references for the ops of fast-reid's AutoAugment (fastreid/data/transforms/autoaugment.py): each op
applied to the same RGB image with the calls the module makes (ImageOps.posterize / solarize / autocontrast /
equalize / invert, ImageEnhance.Color / Contrast / Sharpness .enhance, Image.rotate and Image.transform AFFINE
with BILINEAR and fillcolor (128, 128, 128)).

Reads {"img": flat HWC uint8 list, "H", "W", "ops": [[name, arg], ...]} on stdin; prints one flat list per op.
"""
import json
import sys

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

req = json.load(sys.stdin)
img = Image.fromarray(np.array(req["img"], dtype=np.uint8).reshape(req["H"], req["W"], 3), "RGB")
FILL = (128, 128, 128)
out = []
for name, arg in req["ops"]:
    if name == "posterize":
        r = ImageOps.posterize(img, arg)
    elif name == "solarize":
        r = ImageOps.solarize(img, arg)
    elif name == "autocontrast":
        r = ImageOps.autocontrast(img)
    elif name == "equalize":
        r = ImageOps.equalize(img)
    elif name == "invert":
        r = ImageOps.invert(img)
    elif name == "color":
        r = ImageEnhance.Color(img).enhance(arg)
    elif name == "contrast":
        r = ImageEnhance.Contrast(img).enhance(arg)
    elif name == "sharpness":
        r = ImageEnhance.Sharpness(img).enhance(arg)
    elif name == "rotate":
        r = img.rotate(arg, resample=Image.BILINEAR, fillcolor=FILL)
    elif name == "shearX":
        r = img.transform(img.size, Image.AFFINE, (1, arg, 0, 0, 1, 0), resample=Image.BILINEAR, fillcolor=FILL)
    else:
        raise ValueError(name)
    out.append(np.asarray(r).reshape(-1).tolist())
print(json.dumps(out))
