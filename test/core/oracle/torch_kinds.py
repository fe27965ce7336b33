"""Reference oracle for the block registry: builds each node kind with PyTorch / torchvision modules
(torchvision BasicBlock / Bottleneck, nn.Conv2d, nn.BatchNorm2d, ...) and reports the output shape
(channels-last, batch dimension dropped) and the parameter count `sum(p.numel() for p in m.parameters())`.

stdin: JSON list of {kind, params, inputs: [[H, W, C] | [C], ...]}; stdout: JSON list of {shape, params}.
"""
import json
import os
import sys

import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, Bottleneck

# IBN-a as in IBN-Net ibnnet/modules.py: the parity suite's reference module, shared.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'parity'))
from reference import IBN  # noqa: E402
# reid-strong-baseline's SENet pieces (senet.py), the SE parity suite's reference, shared.
from senet_reference import SEModule, SENet, SEBottleneck, SEResNetBottleneck, SEResNeXtBottleneck  # noqa: E402

SE_BLOCKS = {'se_resnet': SEResNetBottleneck, 'se_resnext': SEResNeXtBottleneck, 'senet154': SEBottleneck}


def se_block(p, cin, stride):
    planes = p['planes']
    down = None
    if stride != 1 or cin != planes * 4:
        down = nn.Sequential(nn.Conv2d(cin, planes * 4, p['downsample_kernel'], stride, p['downsample_padding'], bias=False), nn.BatchNorm2d(planes * 4))
    cls = SE_BLOCKS[p['type']]
    if cls is SEResNeXtBottleneck:
        return cls(cin, planes, p['groups'], p['reduction'], stride, down, base_width=p['base_width']), planes * 4
    return cls(cin, planes, p['groups'], p['reduction'], stride, down), planes * 4
# fast-reid's Non_local (fastreid/layers/non_local.py), ported in the parity suite.
from fastreid_reference import Non_local  # noqa: E402
# IBN-b blocks (IBN-Net ibnnet/resnet_ibn.py Bottleneck_IBN / BasicBlock_IBN), ported in the parity suite.
from ibn_b_reference import BasicBlock_IBN, Bottleneck_IBN  # noqa: E402
# fast-reid's ResNeSt pieces (resnest.py, splat.py), written from its definitions beside this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnest_modules as rs  # noqa: E402


def block(kind, p, cin):
    cls = Bottleneck if kind == 'bottleneck' else BasicBlock
    planes, stride = p.get('planes', 64), p.get('stride', 1)
    down = None
    if stride != 1 or cin != planes * cls.expansion:
        down = nn.Sequential(nn.Conv2d(cin, planes * cls.expansion, 1, stride, bias=False), nn.BatchNorm2d(planes * cls.expansion))
    if p.get('ibn_b'):
        cls = Bottleneck_IBN if kind == 'bottleneck' else BasicBlock_IBN
        m = cls(cin, planes, 'b', stride, down)
    else:
        m = cls(cin, planes, stride, down)
    slot = p.get('norm', 'bn')
    if slot == 'ibn_a':
        m.bn1 = IBN(planes)
    elif slot == 'in':
        m.bn1 = nn.InstanceNorm2d(planes, affine=True)
    return m, planes * cls.expansion


def non_local(c, inter):
    m = Non_local(c)
    if inter != m.inter_channels:  # fast-reid's is always 1 (reduc_ratio // reduc_ratio); the paper's C / 2
        m.inter_channels = inter
        m.g, m.theta, m.phi = (nn.Conv2d(c, inter, 1) for _ in range(3))
        m.W[0] = nn.Conv2d(inter, c, 1)
    return m


class NonLocalAttention(nn.Module):
    """Non_local.forward between the θ / φ / g convs and W: f = θᵀφ / N, y = f g."""

    def forward(self, theta, phi, g):
        b, c = theta.shape[:2]
        f = torch.matmul(theta.view(b, c, -1).permute(0, 2, 1), phi.view(b, c, -1))
        y = torch.matmul(f / f.size(-1), g.view(b, c, -1).permute(0, 2, 1))
        return y.permute(0, 2, 1).contiguous().view(b, c, *theta.shape[2:])


class Neck(nn.Module):
    def __init__(self, c, kind):
        super().__init__()
        self.bn = nn.BatchNorm1d(c) if kind == 'bnneck' else nn.Identity()

    def forward(self, x):
        return self.bn(x)


class Flat(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return torch.flatten(self.inner(x), 1)


def build(kind, p, shapes):
    s = shapes[0] if shapes else None
    c = s[-1] if s else None
    if kind == 'input':
        return None
    if kind == 'conv2d':
        return nn.Conv2d(c, p['filters'], p['kernel'], p['stride'], p['padding'], dilation=p.get('dilation', 1), groups=p.get('groups', 1), bias=p['bias'])
    if kind == 'avg_pool':
        return nn.AvgPool2d(p['kernel'], p['stride'], p['padding'], ceil_mode=p['ceilMode'], count_include_pad=p['countIncludePad'])
    if kind == 'radix_pool':
        return rs.RadixPool(p['radix'])
    if kind == 'rsoftmax':
        return rs.RSoftMax(p['radix'], p['cardinality'])
    if kind == 'splat_conv2d':
        return rs.SplAt(c, p['channels'], p['kernel'], p['stride'], p['padding'], p['dilation'], p['radix'], p['cardinality'], p['reduction_factor'])
    if kind == 'resnest_bottleneck':
        return rs.Block(c, p)
    if kind == 'resnest_stage':
        return rs.stage(c, p)
    if kind == 'resnest_stem':
        return rs.stem(c, p)
    if kind == 'batch_norm':
        return nn.BatchNorm2d(c) if len(s) == 3 else nn.BatchNorm1d(c)
    if kind == 'instance_norm':
        return nn.InstanceNorm2d(c, affine=True)
    if kind == 'ibn_a':
        return IBN(c, p.get('ratio', 0.5))
    if kind == 'add':
        return nn.Identity()
    if kind == 'relu':
        return nn.ReLU()
    if kind == 'max_pool':
        return nn.MaxPool2d(p['kernel'], p['stride'], p['padding'], ceil_mode=p.get('ceilMode', False))
    if kind == 'global_avg_pool':
        return Flat(nn.AdaptiveAvgPool2d(1))
    if kind == 'gem_pool':
        class GeM(nn.Module):
            def __init__(self):
                super().__init__()
                if p.get('learnable'):
                    self.p = nn.Parameter(torch.ones(1) * 3)

            def forward(self, x):
                return torch.flatten(x.clamp(min=1e-6).pow(3).mean((2, 3)).pow(1 / 3), 1)
        return GeM()
    if kind == 'linear' and p.get('conv1x1'):
        class Reduce(nn.Module):  # fast-reid EmbeddingHead bottleneck.0: Conv2d 1x1 on the pooled [N, C, 1, 1] map
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(c, p['units'], 1, 1, bias=p['bias'])

            def forward(self, x):
                return self.conv(x[:, :, None, None])[:, :, 0, 0]
        return Reduce()
    if kind == 'linear':
        return nn.Linear(c, p['units'], bias=p['bias'])
    if kind == 'chunk':
        class Chunk(nn.Module):  # fast-reid MGN: torch.chunk(feat, parts, dim=2)
            def forward(self, x):
                return torch.chunk(x, p['parts'], dim=2)[p['index']]
        return Chunk()
    if kind == 'concat':
        class Cat(nn.Module):
            def forward(self, *xs):
                return torch.cat(xs, dim=1)
        return Cat()
    if kind == 'stem':
        bn1 = nn.InstanceNorm2d(p['channels'], affine=True) if p.get('norm') == 'in' else nn.BatchNorm2d(p['channels'])
        layers = [nn.Conv2d(c, p['channels'], 7, 2, 3, bias=False), bn1]
        if p['relu']:
            layers.append(nn.ReLU())
        layers.append(nn.MaxPool2d(3, 2, 1))
        return nn.Sequential(*layers)
    if kind in ('bottleneck', 'basic_block'):
        return block(kind, p, c)[0]
    if kind == 'stage':
        mods, cin = [], c
        nl = p.get('non_local', 0)
        for i in range(p['blocks']):
            ibn_b = p.get('ibn_b') and i == p['blocks'] - 1 and i > 0  # IBN-Net _make_layer
            m, cin = block(p['block'], {**p, 'stride': p['stride'] if i == 0 else 1, 'ibn_b': ibn_b}, cin)
            mods.append(m)
            if i >= p['blocks'] - nl:  # fast-reid NL_idx: after the last `nl` blocks
                mods.append(Non_local(cin))
        return nn.Sequential(*mods)
    if kind == 'se_module':
        return SEModule(c, p['reduction'])
    if kind == 'se_bottleneck':
        return se_block(p, c, p['stride'])[0]
    if kind == 'se_stage':
        mods, cin = [], c
        for i in range(p['blocks']):
            m, cin = se_block(p, cin, p['stride'] if i == 0 else 1)
            mods.append(m)
        return nn.Sequential(*mods)
    if kind == 'senet_stem':
        net = SENet(SEResNetBottleneck, [1, 1, 1, 1], 1, 16, None, p['channels'], p['input_3x3'])
        return net.layer0
    if kind == 'non_local':
        return non_local(c, p['inter_channels'])
    if kind == 'non_local_attention':
        return NonLocalAttention()
    if kind == 'neck':
        return Neck(c, p['type'])
    raise ValueError(kind)


def main():
    out = []
    for case in json.load(sys.stdin):
        kind, p, shapes = case['kind'], case['params'], case['inputs']
        m = build(kind, p, shapes)
        if m is None:
            out.append({'shape': None, 'params': 0})
            continue
        m.eval()
        xs = []
        for s in shapes:
            t = torch.randn(2, s[2], s[0], s[1]) if len(s) == 3 else torch.randn(2, s[0])
            xs.append(t)
        with torch.no_grad():
            y = xs[0] + xs[1] if kind == 'add' else m(*xs)
        shape = list(y.shape[2:]) + [y.shape[1]] if y.dim() == 4 else [y.shape[1]]
        out.append({'shape': shape, 'params': sum(q.numel() for q in m.parameters())})
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
