"""IBN-Net's ResNet-IBN-b in PyTorch, from IBN-Net's published definition (XingangPan/IBN-Net
ibnnet/resnet_ibn.py, `resnet18_ibn_b` … `resnet152_ibn_b`: ResNet_IBN with ibn_cfg ('b', 'b', None, None)):
 - stem: conv1 7×7/2 → bn1 = InstanceNorm2d(64, affine=True) (ibn_cfg[0] == 'b') → ReLU → maxpool 3×3/2 pad 1;
 - Bottleneck_IBN / BasicBlock_IBN: `IN` = InstanceNorm2d(planes · expansion, affine=True) applied after
   `out += residual` and before the last ReLU when the block's ibn is 'b';
 - _make_layer: the first block gets `None if ibn == 'b'`, block i ≥ 1 gets `None if (ibn == 'b' and
   i < blocks - 1)`: only the last block of layer1 and layer2 has `IN`.
The ReID adaptation is reid-strong-baseline's (modeling/baseline.py): `last_stride` on layer4, no avgpool/fc
in `base`, then gap → BNNeck → classifier (reference.py Baseline).

Usage: ibn_b_reference.py SPEC.json OUT_DIR; per case writes <id>.pth (the Baseline's state dict),
<id>.imagenet.pth (the backbone alone with IBN-Net's own keys and an ImageNet `fc`, as IBN-Net's released
files are), <id>.input.f32 (NHWC) and <id>.expected.f32 (eval features).
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Baseline, main, nhwc, randomise, write_f32  # noqa: E402


def residual_tail(block, out, x):
    """The end of both IBN-Net blocks' forward: out += residual; IN if ibn == 'b'; ReLU."""
    residual = x if block.downsample is None else block.downsample(x)
    out += residual
    if block.IN is not None:
        out = block.IN(out)
    return block.relu(out)


class BasicBlock_IBN(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, ibn=None, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.IN = nn.InstanceNorm2d(planes, affine=True) if ibn == 'b' else None
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return residual_tail(self, self.bn2(self.conv2(out)), x)


class Bottleneck_IBN(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, ibn=None, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.IN = nn.InstanceNorm2d(planes * 4, affine=True) if ibn == 'b' else None
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return residual_tail(self, self.bn3(self.conv3(out)), x)


DEPTHS = {'resnet18': (BasicBlock_IBN, [2, 2, 2, 2]), 'resnet34': (BasicBlock_IBN, [3, 4, 6, 3]),
          'resnet50': (Bottleneck_IBN, [3, 4, 6, 3]), 'resnet101': (Bottleneck_IBN, [3, 4, 23, 3]),
          'resnet152': (Bottleneck_IBN, [3, 8, 36, 3])}


class ResNet_IBN(nn.Module):
    def __init__(self, block, layers, last_stride, ibn_cfg=('b', 'b', None, None)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.InstanceNorm2d(64, affine=True) if ibn_cfg[0] == 'b' else nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0], ibn=ibn_cfg[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, ibn=ibn_cfg[1])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, ibn=ibn_cfg[2])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=last_stride, ibn=ibn_cfg[3])

    def _make_layer(self, block, planes, blocks, stride=1, ibn=None):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, None if ibn == 'b' else ibn, stride, downsample)]
        self.inplanes = planes * block.expansion
        for i in range(1, blocks):
            layers.append(block(self.inplanes, planes, None if (ibn == 'b' and i < blocks - 1) else ibn))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def run_ibn_b_case(c, out):
    torch.manual_seed(c['seed'])
    gen = torch.Generator().manual_seed(c['seed'])
    h, w = c['input']
    depth = c['preset'][: -len('_ibn_b')]
    model = Baseline(depth, c['numClasses'], c['lastStride'], 'bnneck', 'after')
    block, layers = DEPTHS[depth]
    model.base = ResNet_IBN(block, layers, c['lastStride'])
    randomise(model, gen, torch.randn(8, 3, h, w, generator=gen))
    torch.save(model.state_dict(), os.path.join(out, c['id'] + '.pth'))
    imagenet = dict(model.base.state_dict())
    imagenet['fc.weight'] = torch.randn(1000, model.in_planes, generator=gen) * 0.01
    imagenet['fc.bias'] = torch.zeros(1000)
    torch.save(imagenet, os.path.join(out, c['id'] + '.imagenet.pth'))
    x = torch.randn(c['batch'], 3, h, w, generator=gen)
    write_f32(os.path.join(out, c['id'] + '.input.f32'), nhwc(x))
    model.eval()
    with torch.no_grad():
        write_f32(os.path.join(out, c['id'] + '.expected.f32'), model(x))


if __name__ == '__main__':
    main(run_ibn_b_case)
