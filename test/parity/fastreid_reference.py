"""fast-reid's bagtricks model in PyTorch, from fast-reid's published definitions, and the fixtures of the
FR-layout parity test (fr-layout.test.ts).

Ported from JDAI-CV/fast-reid (the module and attribute names are fast-reid's, so the state dict has the
keys fast-reid's own Checkpointer saves):
 - fastreid/modeling/backbones/resnet.py `build_resnet_backbone`: conv1 7×7/2 → bn1 → ReLU → maxpool
   3×3/2 padding 0 ceil_mode=True; Bottleneck (stride on conv2); `bn1` of every block of layer1–3 is
   `IBN(planes, bn_norm)` when WITH_IBN (layer4 never); downsample = Sequential(conv 1×1, norm); `se` is
   nn.Identity (WITH_SE False), WITH_NL False;
 - fastreid/layers/batch_norm.py `IBN`: `IN` = InstanceNorm2d(int(planes / 2), affine=True) on the first
   half, `BN` on the rest;
 - fastreid/layers/pooling.py: GlobalAvgPool (no parameter) or GeneralizedMeanPoolingP (learned `p`,
   clamp(eps=1e-6) → pow(p) → adaptive_avg_pool2d → pow(1/p));
 - fastreid/modeling/heads/embedding_head.py `EmbeddingHead`: pool_layer → bottleneck = Sequential(BN with
   bias_freeze) (EMBEDDING_DIM 0) → neck_feat[..., 0, 0] at evaluation; classifier `weight`
   [num_classes, feat_dim] (CLS_LAYER Linear, no parameters of its own);
 - fastreid/modeling/meta_arch/baseline.py `Baseline`: backbone, heads, buffers pixel_mean / pixel_std
   [1, 3, 1, 1] (persistent in fast-reid v1.0-era zoo files, non-persistent since); saved as
   {'model': state_dict} (fastreid/utils/checkpoint.py).

Usage: fastreid_reference.py SPEC.json OUT_DIR; per case writes <id>.pth, <id>.input.f32 (NHWC, already
normalised), <id>.expected.f32 (eval features).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import main, nhwc, randomise, write_f32  # noqa: E402


class IBN(nn.Module):
    def __init__(self, planes):
        super().__init__()
        half1 = int(planes / 2)
        self.half = half1
        self.IN = nn.InstanceNorm2d(half1, affine=True)
        self.BN = nn.BatchNorm2d(planes - half1)

    def forward(self, x):
        split = torch.split(x, self.half, 1)
        return torch.cat((self.IN(split[0].contiguous()), self.BN(split[1].contiguous())), 1)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, with_ibn=False, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = IBN(planes) if with_ibn else nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.se = nn.Identity()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.se(self.bn3(self.conv3(out)))
        residual = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + residual)


class ResNet(nn.Module):
    def __init__(self, last_stride, with_ibn, layers):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
        self.layer1 = self._make_layer(64, layers[0], 1, with_ibn)
        self.layer2 = self._make_layer(128, layers[1], 2, with_ibn)
        self.layer3 = self._make_layer(256, layers[2], 2, with_ibn)
        self.layer4 = self._make_layer(512, layers[3], last_stride)

    def _make_layer(self, planes, blocks, stride=1, with_ibn=False):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        layers = [Bottleneck(self.inplanes, planes, with_ibn, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes, with_ibn) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class GlobalAvgPool(nn.AdaptiveAvgPool2d):
    def __init__(self, output_size=1):
        super().__init__(output_size)


class GeneralizedMeanPoolingP(nn.Module):
    def __init__(self, norm=3, output_size=1, eps=1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * norm)
        self.output_size = output_size
        self.eps = eps

    def forward(self, x):
        x = x.clamp(min=self.eps).pow(self.p)
        return F.adaptive_avg_pool2d(x, self.output_size).pow(1. / self.p)


class EmbeddingHead(nn.Module):
    def __init__(self, feat_dim, num_classes, pool_type):
        super().__init__()
        self.pool_layer = {'GlobalAvgPool': GlobalAvgPool, 'GeneralizedMeanPoolingP': GeneralizedMeanPoolingP}[pool_type]()
        bn = nn.BatchNorm2d(feat_dim)
        bn.bias.requires_grad_(False)  # bias_freeze=True
        self.bottleneck = nn.Sequential(bn)
        self.weight = nn.Parameter(torch.normal(0, 0.01, (num_classes, feat_dim)))

    def forward(self, features):
        return self.bottleneck(self.pool_layer(features))[..., 0, 0]


class Baseline(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.backbone = ResNet(c['lastStride'], c['ibn'], [3, 4, 6, 3])
        self.heads = EmbeddingHead(2048, c['numClasses'], c['pool'])
        self.register_buffer('pixel_mean', torch.tensor([123.675, 116.28, 103.53]).view(1, -1, 1, 1), c['pixelBuffers'])
        self.register_buffer('pixel_std', torch.tensor([58.395, 57.12, 57.375]).view(1, -1, 1, 1), c['pixelBuffers'])

    def forward(self, x):
        # Inputs here are already (image - pixel_mean) / pixel_std: the app normalises before the graph.
        return self.heads(self.backbone(x))


def run_fr_case(c, out):
    torch.manual_seed(c['seed'])
    gen = torch.Generator().manual_seed(c['seed'])
    h, w = c['input']
    model = Baseline(c)
    randomise(model, gen, torch.randn(8, 3, h, w, generator=gen))
    if c['pool'] == 'GeneralizedMeanPoolingP':
        model.heads.pool_layer.p.data.fill_(c['gemP'])
    torch.save({'model': model.state_dict(), 'optimizer': {}, 'scheduler': {}, 'iteration': 1000}, os.path.join(out, c['id'] + '.pth'))
    x = torch.randn(c['batch'], 3, h, w, generator=gen)
    write_f32(os.path.join(out, c['id'] + '.input.f32'), nhwc(x))
    model.eval()
    with torch.no_grad():
        write_f32(os.path.join(out, c['id'] + '.expected.f32'), model(x))


if __name__ == '__main__':
    main(run_fr_case)
