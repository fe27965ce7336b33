"""Outside reference for the data pipeline's pre-processing (test/training/preprocess-pipeline.test.ts).

stdin: {"paths": [...], "size": [H, W], "filter": "bilinear" | "bicubic", "mean": [3], "std": [3]}
stdout: one flattened NHWC float32 list per image: Image.open(p).convert('RGB') -> T.Resize((H, W), filter)
-> T.ToTensor -> T.Normalize(mean, std), the test transform reid-strong-baseline / fast-reid build
(data/transforms/build.py; fast-reid normalises in the model, with the same numbers x 255).
"""
import json
import sys

import torchvision.transforms as T
from PIL import Image

req = json.load(sys.stdin)
interp = {'bilinear': T.InterpolationMode.BILINEAR, 'bicubic': T.InterpolationMode.BICUBIC}[req['filter']]
tf = T.Compose([T.Resize(tuple(req['size']), interpolation=interp), T.ToTensor(), T.Normalize(req['mean'], req['std'])])
out = [tf(Image.open(p).convert('RGB')).permute(1, 2, 0).reshape(-1).tolist() for p in req['paths']]
print(json.dumps(out))
