"""PyTorch + Pillow reference for the upscale-resize parity test (test/parity/resize-parity.test.ts).

Field case: Market-1501 crops are 128x64 (HxW) and the models take 256x128, so every image is enlarged by
torchvision's T.Resize on the PIL image: bilinear in reid-strong-baseline (data/transforms/build.py),
bicubic in fast-reid (T.Resize(size, interpolation=3), fastreid/data/transforms/build.py).

usage: resize_ref.py SPEC.json OUT_DIR, SPEC = {"frMean": [3 floats, 0-255], "frStd": [...]}. Writes
 OUT_DIR/imgs/*.png  three 128x64 blurred-noise crops and one 157x301 image (the down-scaling path);
 OUT_DIR/rsb.pth     RSB Baseline resnet18 (BNNeck, feature after the neck, 5 classes, last stride 1);
 OUT_DIR/fr.pth      fast-reid Baseline resnet18 layout (backbone.*, heads.bottleneck.0, heads.weight;
                     stem conv-BN-ReLU-maxpool 3x3/2 pad 0 ceil_mode, global average pooling, 751 classes);
 stdout: {"files": [...], "rsb": [[...]], "fr": [[...]]} eval features at 256x128. RSB: PIL bilinear,
 ToTensor, Normalize(ImageNet). fast-reid: PIL bicubic, 0-255 tensor, (x - PIXEL_MEAN) / PIXEL_STD
 (fastreid/modeling/meta_arch/baseline.py preprocess_image).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Baseline, ResNet, randomise  # noqa: E402

H, W = 256, 128


class FastReidR18(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.backbone = ResNet('resnet18', 1, False)
        self.backbone.maxpool = nn.MaxPool2d(3, 2, 0, ceil_mode=True)
        self.heads = nn.Module()
        self.heads.bottleneck = nn.Sequential(nn.BatchNorm2d(512))
        self.heads.weight = nn.Parameter(0.01 * torch.randn(num_classes, 512))
        self.bottleneck = self.heads.bottleneck[0]  # alias: randomise() leaves the BNNeck shift at 0, as fast-reid freezes it

    def forward(self, x):
        b = self.backbone
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        x = b.layer4(b.layer3(b.layer2(b.layer1(x))))
        return self.heads.bottleneck(F.adaptive_avg_pool2d(x, 1))[..., 0, 0]


def tensor(paths, resample):
    arrs = []
    for p in paths:
        img = Image.open(p).convert('RGB')
        if img.size != (W, H):
            img = img.resize((W, H), resample)
        arrs.append(torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1))
    return torch.stack(arrs)


def main():
    spec, out = json.load(open(sys.argv[1])), sys.argv[2]
    torch.set_num_threads(1)
    idir = os.path.join(out, 'imgs')
    os.makedirs(idir, exist_ok=True)
    rng = np.random.default_rng(23)
    for i, (h, w) in enumerate([(128, 64)] * 3 + [(301, 157)]):
        a = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
        Image.fromarray(a).filter(ImageFilter.GaussianBlur(1.0)).save(os.path.join(idir, f'{i:04d}_c1s1_000{i}01_00.png'))
    files = sorted(os.listdir(idir))
    paths = [os.path.join(idir, f) for f in files]

    gen = torch.Generator().manual_seed(9)
    rsb = Baseline('resnet18', 5, 1, 'bnneck', 'after')
    randomise(rsb, gen, torch.randn(8, 3, H, W, generator=gen))
    torch.save(rsb.state_dict(), os.path.join(out, 'rsb.pth'))
    fr = FastReidR18(751)
    randomise(fr, gen, torch.randn(8, 3, H, W, generator=gen))
    sd = {k: v for k, v in fr.state_dict().items() if not k.startswith('bottleneck.')}
    torch.save(sd, os.path.join(out, 'fr.pth'))

    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    fr_mean = torch.tensor(spec['frMean']).view(1, 3, 1, 1)
    fr_std = torch.tensor(spec['frStd']).view(1, 3, 1, 1)
    rsb.eval()
    fr.eval()
    with torch.no_grad():
        f_rsb = rsb((tensor(paths, Image.BILINEAR) / 255.0 - mean) / std)
        f_fr = fr((tensor(paths, Image.BICUBIC) - fr_mean) / fr_std)
    print(json.dumps({'files': files, 'rsb': f_rsb.tolist(), 'fr': f_fr.tolist()}))


if __name__ == '__main__':
    main()
