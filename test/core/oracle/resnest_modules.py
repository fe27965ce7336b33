"""ResNeSt pieces for the registry oracle (shapes and parameter counts only), written from fast-reid's
published definitions (fastreid/layers/splat.py SplAtConv2d / rSoftMax, fastreid/modeling/backbones/resnest.py
Bottleneck and the deep stem; BN norm, no DropBlock). The numerical reference is fast-reid's own code, run by
test/parity/make_fastreid_fixtures.py."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class RadixPool(nn.Module):
    def __init__(self, radix):
        super().__init__()
        self.radix = radix

    def forward(self, x):
        b, rc, h, w = x.shape
        return x.view(b, self.radix, rc // self.radix, h, w).sum(1).mean((2, 3), keepdim=True)


class RSoftMax(nn.Module):
    def __init__(self, radix, cardinality):
        super().__init__()
        self.radix, self.cardinality = radix, cardinality

    def forward(self, x, atten):
        b, rc = x.shape[:2]
        if self.radix == 1:
            return torch.sigmoid(atten) * x
        a = F.softmax(atten.view(b, self.cardinality, self.radix, -1).transpose(1, 2), dim=1).reshape(b, -1, 1, 1)
        return sum(w * s for w, s in zip(torch.split(a, rc // self.radix, 1), torch.split(x, rc // self.radix, 1)))


class SplAt(nn.Module):
    def __init__(self, cin, channels, kernel, stride, padding, dilation, radix, cardinality, reduction_factor=4):
        super().__init__()
        inter = max(cin * radix // reduction_factor, 32)
        self.conv = nn.Conv2d(cin, channels * radix, kernel, stride, padding, dilation, groups=cardinality * radix, bias=False)
        self.bn0 = nn.BatchNorm2d(channels * radix)
        self.fc1 = nn.Conv2d(channels, inter, 1, groups=cardinality)
        self.bn1 = nn.BatchNorm2d(inter)
        self.fc2 = nn.Conv2d(inter, channels * radix, 1, groups=cardinality)
        self.pool, self.rsoftmax = RadixPool(radix), RSoftMax(radix, cardinality)

    def forward(self, x):
        x = F.relu(self.bn0(self.conv(x)))
        return self.rsoftmax(x, self.fc2(F.relu(self.bn1(self.fc1(self.pool(x))))))


class Block(nn.Module):
    def __init__(self, cin, p):
        super().__init__()
        planes, stride, d = p['planes'], p['stride'], p.get('dilation', 1)
        gw = int(planes * (p['bottleneck_width'] / 64.0)) * p['cardinality']
        self.avd = p['avd'] and (stride > 1 or p.get('is_first', True))
        self.avd_first = p['avd_first']
        self.conv1, self.bn1 = nn.Conv2d(cin, gw, 1, bias=False), nn.BatchNorm2d(gw)
        self.avd_layer = nn.AvgPool2d(3, stride, padding=1) if self.avd else None
        self.conv2 = SplAt(gw, gw, 3, 1 if self.avd else stride, d, d, p['radix'], p['cardinality'])
        self.conv3, self.bn3 = nn.Conv2d(gw, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or cin != planes * 4:
            if p['avg_down']:
                pool = nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
                self.downsample = nn.Sequential(pool, nn.Conv2d(cin, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4))
            else:
                self.downsample = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        if self.avd and self.avd_first:
            out = self.avd_layer(out)
        out = self.conv2(out)
        if self.avd and not self.avd_first:
            out = self.avd_layer(out)
        out = self.bn3(self.conv3(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


def stage(cin, p):
    mods, d = [], p.get('dilation', 1)
    for i in range(p['blocks']):
        first = i == 0
        q = {**p, 'stride': p['stride'] if first else 1, 'dilation': (2 if d == 4 else 1) if first else d, 'is_first': p.get('is_first', True) if first else False}
        mods.append(Block(cin, q))
        cin = p['planes'] * 4
    return nn.Sequential(*mods)


def stem(cin, p):
    sw = p['stem_width']
    if p['deep_stem']:
        conv1 = nn.Sequential(nn.Conv2d(cin, sw, 3, 2, 1, bias=False), nn.BatchNorm2d(sw), nn.ReLU(),
                              nn.Conv2d(sw, sw, 3, 1, 1, bias=False), nn.BatchNorm2d(sw), nn.ReLU(),
                              nn.Conv2d(sw, 2 * sw, 3, 1, 1, bias=False))
        width = 2 * sw
    else:
        conv1, width = nn.Conv2d(cin, 64, 7, 2, 3, bias=False), 64
    return nn.Sequential(conv1, nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(3, 2, 1))


class ResNeSt(nn.Module):
    """fast-reid's ResNeSt backbone with its module names (conv1 = deep stem Sequential, bn1, relu, maxpool,
    layer1..4; LAST_STRIDE 1 → dilation 2: layer3 stride 2, layer4 stride 1 with its later blocks dilated),
    radix 2, cardinality 1, width 64, avg-down, avd. For the train-parity reference (reference.py)."""

    def __init__(self, layers, stem_width, last_stride):
        super().__init__()
        self.conv1 = stem(3, {'deep_stem': True, 'stem_width': stem_width})[0]
        self.bn1, self.relu, self.maxpool = nn.BatchNorm2d(2 * stem_width), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        common = {'radix': 2, 'cardinality': 1, 'bottleneck_width': 64, 'avd': True, 'avd_first': False, 'avg_down': True}
        cin = 2 * stem_width
        for i, blocks in enumerate(layers):
            stride = 1 if i == 0 else (last_stride if i == 3 else 2)
            dilation = 2 if i == 3 and last_stride == 1 else 1
            setattr(self, f'layer{i + 1}', stage(cin, {**common, 'blocks': blocks, 'planes': 64 * 2 ** i, 'stride': stride, 'dilation': dilation, 'is_first': i > 0}))
            cin = 64 * 2 ** i * 4

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))
