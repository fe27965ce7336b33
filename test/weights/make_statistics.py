"""Checkpoints with statistics outside their domain or weights that overflow, written by torch.save (Debian's
torch 1.13 / torchvision), and what PyTorch computes with them.

Usage: /usr/bin/python3 make_statistics.py OUT_DIR
Writes OUT_DIR/negvar.pth (torchvision resnet18 state dict, layer1.0.bn1.running_var[3] = -1),
OUT_DIR/overflow.pth (all finite, conv1.weight and bn1.weight scaled by 1e20: activations beyond float32's 3.4e38), OUT_DIR/imgs/{a,b}.png (64x32) and
OUT_DIR/ref.json: {name: whether torchvision's eval-mode resnet18 trunk (avgpool features) gives a
non-finite feature on the first image}.
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

torch.set_num_threads(1)
out = sys.argv[1]
os.makedirs(os.path.join(out, 'imgs'), exist_ok=True)
torch.manual_seed(0)
rng = np.random.default_rng(0)
for n in ['a', 'b']:
    Image.fromarray(rng.integers(0, 256, (64, 32, 3), dtype=np.uint8)).save(os.path.join(out, 'imgs', f'{n}.png'))

base = torchvision.models.resnet18().eval()
with torch.no_grad():
    for m in base.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2)
sd = base.state_dict()
files = {}
neg = {k: v.clone() for k, v in sd.items()}
neg['layer1.0.bn1.running_var'][3] = -1
files['negvar.pth'] = neg
ovf = {k: v.clone() for k, v in sd.items()}
ovf['conv1.weight'] *= 1e20
ovf['bn1.weight'] *= 1e20
files['overflow.pth'] = ovf

img = torch.from_numpy(np.asarray(Image.open(os.path.join(out, 'imgs', 'a.png')), dtype=np.float32) / 255).permute(2, 0, 1)[None]
ref = {}
for name, d in files.items():
    torch.save(d, os.path.join(out, name))
    m = torchvision.models.resnet18().eval()
    m.load_state_dict(d)
    trunk = torch.nn.Sequential(*list(m.children())[:-1])
    with torch.no_grad():
        ref[name] = bool((~torch.isfinite(trunk(img))).any())
with open(os.path.join(out, 'ref.json'), 'w') as f:
    json.dump(ref, f)
