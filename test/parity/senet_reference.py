"""PyTorch reference of reid-strong-baseline's SENet family, written from its published definition
(`modeling/backbones/senet.py`, itself from Cadene's pretrained-models.pytorch; Hu et al., CVPR 2018) and
its Baseline (`modeling/baseline.py`: base = SENet(...), gap, BNNeck, classifier). No app code.

 - SEModule: x * sigmoid(fc2(relu(fc1(avgpool(x))))), fc1/fc2 1x1 convs with bias, C -> C // r -> C;
 - SEResNetBottleneck: stride on conv1 (Caffe), widths planes/planes; SEResNeXtBottleneck: width
   floor(planes * base_width / 64) * groups, stride on conv2; SEBottleneck (SENet-154): widths 2p/4p;
   every block: conv3 -> bn3 -> se_module, + residual (downsample = conv k x k stride s + BN), ReLU;
 - layer0: conv1 7x7/2 (or three 3x3 convs for SENet-154), BN, ReLU, then MaxPool(3, 2, ceil_mode=True);
 - state_dict keys: base.layer0.conv1.weight, base.layer1.0.se_module.fc1.weight, ... as RSB's.

Usage: senet_reference.py SPEC.json OUT_DIR. SPEC: list of {id, arch, input: [H, W], seed, last_stride,
num_classes}. For each: random weights + calibrated BN statistics, writes OUT_DIR/<id>.pth (the
Baseline's state_dict), <id>.imagenet.pth (the backbone in the ImageNet layout: layer0.conv1.weight …,
last_linear.*), <id>.input.f32 (NHWC) and <id>.expected.f32 (eval features, BNNeck after).
"""
import json
import math
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn


class SEModule(nn.Module):
    def __init__(self, channels, reduction):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1, padding=0)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1, padding=0)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        s = self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))
        return x * s


class _SEBlock(nn.Module):
    expansion = 4

    def _finish(self, planes, reduction, downsample, stride):
        self.relu = nn.ReLU(inplace=True)
        self.se_module = SEModule(planes * 4, reduction=reduction)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(self.se_module(out) + residual)


class SEBottleneck(_SEBlock):
    def __init__(self, inplanes, planes, groups, reduction, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes * 2, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes * 2)
        self.conv2 = nn.Conv2d(planes * 2, planes * 4, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(planes * 4)
        self.conv3 = nn.Conv2d(planes * 4, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self._finish(planes, reduction, downsample, stride)


class SEResNetBottleneck(_SEBlock):
    def __init__(self, inplanes, planes, groups, reduction, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False, stride=stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self._finish(planes, reduction, downsample, stride)


class SEResNeXtBottleneck(_SEBlock):
    def __init__(self, inplanes, planes, groups, reduction, stride=1, downsample=None, base_width=4):
        super().__init__()
        width = math.floor(planes * (base_width / 64)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, kernel_size=1, bias=False, stride=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self._finish(planes, reduction, downsample, stride)


class SENet(nn.Module):
    def __init__(self, block, layers, groups, reduction, dropout_p=0.2, inplanes=128, input_3x3=True,
                 downsample_kernel_size=3, downsample_padding=1, last_stride=2, planes=(64, 128, 256, 512)):
        super().__init__()
        self.inplanes = inplanes
        if input_3x3:
            mods = [('conv1', nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)), ('bn1', nn.BatchNorm2d(64)), ('relu1', nn.ReLU(inplace=True)),
                    ('conv2', nn.Conv2d(64, 64, 3, stride=1, padding=1, bias=False)), ('bn2', nn.BatchNorm2d(64)), ('relu2', nn.ReLU(inplace=True)),
                    ('conv3', nn.Conv2d(64, inplanes, 3, stride=1, padding=1, bias=False)), ('bn3', nn.BatchNorm2d(inplanes)), ('relu3', nn.ReLU(inplace=True))]
        else:
            mods = [('conv1', nn.Conv2d(3, inplanes, kernel_size=7, stride=2, padding=3, bias=False)), ('bn1', nn.BatchNorm2d(inplanes)), ('relu1', nn.ReLU(inplace=True))]
        mods.append(('pool', nn.MaxPool2d(3, stride=2, ceil_mode=True)))
        self.layer0 = nn.Sequential(OrderedDict(mods))
        dk, dp = downsample_kernel_size, downsample_padding
        # `planes`: RSB's 64, 128, 256, 512; the parity tests' reduced-width variants pass smaller ones.
        self.layer1 = self._make_layer(block, planes[0], layers[0], groups, reduction, 1, 1, 0)
        self.layer2 = self._make_layer(block, planes[1], layers[1], groups, reduction, 2, dk, dp)
        self.layer3 = self._make_layer(block, planes[2], layers[2], groups, reduction, 2, dk, dp)
        self.layer4 = self._make_layer(block, planes[3], layers[3], groups, reduction, last_stride, dk, dp)
        # RSB builds avg_pool / dropout here but never uses them in forward (no parameters).

    def _make_layer(self, block, planes, blocks, groups, reduction, stride, dk, dp):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, kernel_size=dk, stride=stride, padding=dp, bias=False), nn.BatchNorm2d(planes * 4))
        layers = [block(self.inplanes, planes, groups, reduction, stride, downsample)]
        self.inplanes = planes * 4
        layers += [block(self.inplanes, planes, groups, reduction) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        return self.layer4(self.layer3(self.layer2(self.layer1(self.layer0(x)))))


# RSB baseline.py's model_name branches.
ARCHS = {
    'se_resnet50': dict(block=SEResNetBottleneck, layers=[3, 4, 6, 3], groups=1, inplanes=64, input_3x3=False, downsample_kernel_size=1, downsample_padding=0),
    'se_resnet101': dict(block=SEResNetBottleneck, layers=[3, 4, 23, 3], groups=1, inplanes=64, input_3x3=False, downsample_kernel_size=1, downsample_padding=0),
    'se_resnet152': dict(block=SEResNetBottleneck, layers=[3, 8, 36, 3], groups=1, inplanes=64, input_3x3=False, downsample_kernel_size=1, downsample_padding=0),
    'se_resnext50': dict(block=SEResNeXtBottleneck, layers=[3, 4, 6, 3], groups=32, inplanes=64, input_3x3=False, downsample_kernel_size=1, downsample_padding=0),
    'se_resnext101': dict(block=SEResNeXtBottleneck, layers=[3, 4, 23, 3], groups=32, inplanes=64, input_3x3=False, downsample_kernel_size=1, downsample_padding=0),
    'senet154': dict(block=SEBottleneck, layers=[3, 8, 36, 3], groups=64, inplanes=128, input_3x3=True, downsample_kernel_size=3, downsample_padding=1),
}


class Baseline(nn.Module):
    """RSB modeling/baseline.py with an SENet base, BNNeck, eval feature after the BN."""

    def __init__(self, arch, num_classes, last_stride):
        super().__init__()
        a = dict(ARCHS[arch])
        self.base = SENet(reduction=16, dropout_p=None, last_stride=last_stride, **a)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.bottleneck = nn.BatchNorm1d(2048)
        self.bottleneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(2048, num_classes, bias=False)

    def forward(self, x):
        g = self.gap(self.base(x)).flatten(1)
        return self.bottleneck(g)


def randomise(model, gen, calib):
    """Seeded weights (He-scaled convs, affine BN) and BN statistics calibrated on `calib` (train mode)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 4:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=gen) * math.sqrt(2.0 / fan_in))
            elif name.endswith('bottleneck.bias'):
                p.zero_()
            elif name.endswith('.weight') and p.dim() == 1:
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = None  # cumulative average over the calibration passes
        model.train()
        model(calib)
        model.eval()


def main():
    spec_path, out = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    torch.set_num_threads(1)
    for c in spec:
        gen = torch.Generator().manual_seed(c['seed'])
        h, w = c['input']
        m = Baseline(c['arch'], c['num_classes'], c['last_stride'])
        randomise(m, gen, torch.randn(8, 3, h, w, generator=gen))
        for mod in m.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                mod.momentum = 0.1
        x = torch.randn(2, 3, h, w, generator=gen)
        with torch.no_grad():
            y = m(x)
        torch.save(m.state_dict(), os.path.join(out, c['id'] + '.pth'))
        # The ImageNet checkpoint layout RSB's SENet.load_param reads (Cadene's pretrainedmodels): the
        # backbone's keys without `base.`, plus its 1000-class `last_linear` (which load_param skips).
        imagenet = OrderedDict(m.base.state_dict())
        imagenet['last_linear.weight'] = torch.zeros(1000, 2048)
        imagenet['last_linear.bias'] = torch.zeros(1000)
        torch.save(imagenet, os.path.join(out, c['id'] + '.imagenet.pth'))
        x.permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32).tofile(os.path.join(out, c['id'] + '.input.f32'))
        y.numpy().astype(np.float32).tofile(os.path.join(out, c['id'] + '.expected.f32'))
    print(json.dumps({'torch': torch.__version__}))


if __name__ == '__main__':
    main()
