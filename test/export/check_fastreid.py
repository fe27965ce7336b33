"""Loads a ReID Studio `pytorch --layout fastreid` export the way fast-reid does, into fast-reid's model.

The module tree is fast-reid's bagtricks Baseline, written here from fast-reid's published definitions
(JDAI-CV/fast-reid, v1.x):
  - fastreid/modeling/meta_arch/baseline.py: Baseline(backbone, heads), pixel_mean / pixel_std registered
    as NON-persistent buffers of shape (1, 3, 1, 1) in 0-255 units; forward normalises (x - mean) / std;
  - fastreid/modeling/backbones/resnet.py: conv1, bn1, relu, maxpool(3, 2, padding=0, ceil_mode=True),
    layer1..4 of BasicBlock / Bottleneck (conv1, bn1, conv2, bn2[, conv3, bn3], relu, se = Identity,
    downsample = Sequential(conv, norm)); IBN-a replaces bn1 in layer1-3 (never layer4);
  - fastreid/layers/batch_norm.py IBN: IN = InstanceNorm2d(int(planes * 0.5), affine=True), BN on the rest;
  - fastreid/modeling/heads/embedding_head.py EmbeddingHead: pool_layer (GlobalAvgPool, or
    GeneralizedMeanPoolingP with a learnable p), bottleneck = Sequential(BatchNorm2d) with WITH_BNNECK,
    weight = Parameter(num_classes, feat_dim), a parameter-free cls_layer; eval returns bottleneck(pool)[..., 0, 0].
The file is opened as fastreid/utils/checkpoint.py Checkpointer._load_model does (torch.load, pop('model'),
strip 'module.'), then loaded with strict=True: nothing missing, nothing unexpected.

Usage: check_fastreid.py SPEC.json. SPEC: {export, input (NHWC float32, normalised like the app's input),
shape [N, H, W, C], out, depth 18|34|50|101, ibn, lastStride, numClasses, pool avg|gem|gemP, neck bnneck|no}.
Writes OUT/fastreid.f32 (fast-reid Baseline features from raw 0-255 pixels) and OUT/modelpy.f32 (model.py
with load_weights), prints a JSON report.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_pytorch import load_module, write_f32  # noqa: E402  (same folder)


class IBN(nn.Module):
    def __init__(self, planes):
        super().__init__()
        self.half = int(planes * 0.5)
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x):
        a, b = torch.split(x, self.half, 1)
        return torch.cat((self.IN(a.contiguous()), self.BN(b.contiguous())), 1)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, with_ibn, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = IBN(planes) if with_ibn else nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.se = nn.Identity()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, with_ibn, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = IBN(planes) if with_ibn else nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se = nn.Identity()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.se(self.bn3(self.conv3(out)))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, depth, last_stride, with_ibn):
        super().__init__()
        block, layers = {18: (BasicBlock, [2, 2, 2, 2]), 34: (BasicBlock, [3, 4, 6, 3]),
                         50: (Bottleneck, [3, 4, 6, 3]), 101: (Bottleneck, [3, 4, 23, 3])}[depth]
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True)
        self.layer1 = self._make_layer(block, 64, layers[0], 1, with_ibn)
        self.layer2 = self._make_layer(block, 128, layers[1], 2, with_ibn)
        self.layer3 = self._make_layer(block, 256, layers[2], 2, with_ibn)
        self.layer4 = self._make_layer(block, 512, layers[3], last_stride, False)

    def _make_layer(self, block, planes, blocks, stride, with_ibn):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, with_ibn, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, with_ibn) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class GlobalAvgPool(nn.AdaptiveAvgPool2d):
    def __init__(self):
        super().__init__(1)


class GeneralizedMeanPooling(nn.Module):
    def __init__(self, norm=3, eps=1e-6, learnable=False):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * norm) if learnable else float(norm)
        self.eps = eps

    def forward(self, x):
        return F.adaptive_avg_pool2d(x.clamp(min=self.eps).pow(self.p), 1).pow(1.0 / self.p)


class EmbeddingHead(nn.Module):
    def __init__(self, feat_dim, num_classes, pool, with_bnneck):
        super().__init__()
        self.pool_layer = GlobalAvgPool() if pool == 'avg' else GeneralizedMeanPooling(learnable=pool == 'gemP')
        neck = []
        if with_bnneck:
            bn = nn.BatchNorm2d(feat_dim)
            bn.bias.requires_grad_(False)  # get_norm(..., bias_freeze=True)
            neck.append(bn)
        self.bottleneck = nn.Sequential(*neck)
        self.weight = nn.Parameter(torch.normal(0, 0.01, (num_classes, feat_dim)))

    def forward(self, features):
        return self.bottleneck(self.pool_layer(features))[..., 0, 0]


class Baseline(nn.Module):
    def __init__(self, depth, ibn, last_stride, num_classes, pool, neck, pixel_mean, pixel_std):
        super().__init__()
        self.backbone = ResNet(depth, last_stride, ibn)
        self.heads = EmbeddingHead(2048 if depth >= 50 else 512, num_classes, pool, neck == 'bnneck')
        self.register_buffer('pixel_mean', torch.Tensor(pixel_mean).view(1, -1, 1, 1), False)
        self.register_buffer('pixel_std', torch.Tensor(pixel_std).view(1, -1, 1, 1), False)

    def forward(self, images):
        images = (images - self.pixel_mean) / self.pixel_std
        return self.heads(self.backbone(images))


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.set_num_threads(1)
    out = spec['out']
    os.makedirs(out, exist_ok=True)
    exported = load_module(os.path.join(spec['export'], 'model.py'), 'reid_studio_export_fr')
    mean255 = [m * 255.0 for m in exported.PIXEL_MEAN]
    std255 = [s * 255.0 for s in exported.PIXEL_STD]
    model = Baseline(spec['depth'], spec['ibn'], spec['lastStride'], spec['numClasses'], spec['pool'], spec['neck'], mean255, std255)

    # fastreid/utils/checkpoint.py Checkpointer._load_file / _load_model
    checkpoint = torch.load(os.path.join(spec['export'], 'model.pth'), map_location=torch.device('cpu'))
    top = sorted(checkpoint.keys())
    state = checkpoint.pop('model')
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    model.load_state_dict(state, strict=True)

    n, h, w, c = spec['shape']
    x = torch.from_numpy(np.fromfile(spec['input'], dtype='<f4').reshape(n, h, w, c)).permute(0, 3, 1, 2).contiguous()
    raw = x * torch.tensor(std255).view(1, 3, 1, 1) + torch.tensor(mean255).view(1, 3, 1, 1)  # 0-255 pixels
    model.eval()
    with torch.no_grad():
        feat = model(raw)
    write_f32(os.path.join(out, 'fastreid.f32'), feat)

    ours = exported.load_weights(exported.ReidModel(), os.path.join(spec['export'], 'model.pth')).eval()
    with torch.no_grad():
        write_f32(os.path.join(out, 'modelpy.f32'), ours(x))

    print(json.dumps({
        'checkpointKeys': top,
        'fileKeys': list(state.keys()),
        'modelKeys': [k for k in model.state_dict().keys() if not k.endswith('num_batches_tracked')],
        'evalShape': list(feat.shape),
        'inputSize': list(exported.INPUT_SIZE),
        'interpolation': exported.INTERPOLATION,
    }))


if __name__ == '__main__':
    main()
