"""Writes real PyTorch checkpoints with torch.save (Debian's torch 1.13 / torchvision 0.14) plus, for each,
the reference values PyTorch itself reads back: NAME.ref.json ({key: {shape, dtype, offset}}) and NAME.ref.bin
(every tensor as contiguous little-endian float32, converted by torch's .float()).

Usage: /usr/bin/python3 make_checkpoints.py OUT_DIR
Models are randomly initialised with a fixed seed: nothing is downloaded.
"""
import collections
import json
import os
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torchvision

from torch_refs import save_safetensors, write_ref

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


def ref(name, sd):
    """Reference dump of a flat {key: tensor} dict, as torch reads it (torch_refs.py)."""
    write_ref(out, name, sd)


class IBN(nn.Module):
    """IBN-a (IBN-Net ibnnet/modules.py, RSB resnet_ibn_a.py): IN on the first C/2 channels, BN on the rest."""

    def __init__(self, planes):
        super().__init__()
        self.half = planes // 2
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x):
        a, b = torch.split(x, [self.half, x.shape[1] - self.half], 1)
        return torch.cat([self.IN(a.contiguous()), self.BN(b.contiguous())], 1)


def ibn_a(model):
    """resnet*_ibn_a from a torchvision ResNet: bn1 of every block of layer1-3 becomes IBN.
    Replacing the attribute keeps the module order, so the keys are IBN-Net's (IBN-2020 resnet_ibn.py)."""
    for layer in (model.layer1, model.layer2, model.layer3):
        for block in layer:
            block.bn1 = IBN(block.bn1.num_features)
    return model


def randomize_bn(model):
    # Fresh BN stats are 0/1 everywhere; random ones catch a mean/var or gamma/beta swap.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
            m.num_batches_tracked.fill_(1234)
        if isinstance(m, nn.InstanceNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return model


# 1. torchvision resnet50 ImageNet-style state_dict (the torchvision release layout, with fc).
r50 = randomize_bn(torchvision.models.resnet50(weights=None)).state_dict()
torch.save(r50, os.path.join(out, 'resnet50.pth'))
ref('resnet50', r50)
# Layout references computed by torch: conv OIHW -> HWIO is permute(2, 3, 1, 0).
ref('resnet50_hwio', collections.OrderedDict(
    (k, r50[k].permute(2, 3, 1, 0)) for k in ['conv1.weight', 'layer1.0.conv2.weight', 'layer4.2.conv3.weight', 'layer2.0.downsample.0.weight']))

# 2. resnet50_ibn_a, IBN-Net v1.0 release layout (no prefix, with fc).
ibn50 = randomize_bn(ibn_a(torchvision.models.resnet50(weights=None))).state_dict()
torch.save(ibn50, os.path.join(out, 'resnet50_ibn_a.pth'))
ref('resnet50_ibn_a', ibn50)

# 3. resnet18_ibn_a in the IBN-2019 Google-Drive .pth.tar layout: {'state_dict': {module.*}, ...}.
ibn18 = randomize_bn(ibn_a(torchvision.models.resnet18(weights=None)))
opt = torch.optim.SGD(ibn18.parameters(), lr=0.1, momentum=0.9)
ibn18(torch.randn(2, 3, 64, 32)).sum().backward()
opt.step()
wrapped = collections.OrderedDict(('module.' + k, v) for k, v in ibn18.state_dict().items())
torch.save({'epoch': 90, 'arch': 'resnet18_ibn_a', 'state_dict': wrapped, 'best_prec1': 71.2,
            'optimizer': opt.state_dict()}, os.path.join(out, 'resnet18_ibn_a.pth.tar'))
ref('resnet18_ibn_a', wrapped)


# 4. fast-reid style: {'model': backbone.* + heads.bottleneck.0.* + heads.weight, 'optimizer', ...}.
class FastReid(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = torchvision.models.resnet18(weights=None)
        del self.backbone.fc
        self.heads = nn.Module()
        self.heads.bottleneck = nn.Sequential(nn.BatchNorm2d(512))
        self.heads.weight = nn.Parameter(torch.randn(751, 512) * 0.01)


fr = randomize_bn(FastReid())
torch.save({'model': fr.state_dict(), 'optimizer': {}, 'scheduler': {}, 'iteration': 1000}, os.path.join(out, 'fastreid_r18.pth'))
ref('fastreid_r18', fr.state_dict())
ref('fastreid_r18_t', collections.OrderedDict([('heads.weight', fr.state_dict()['heads.weight'].t())]))

# 5. Non-contiguous and offset storages, shared storages, other dtypes.
base = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5) / 7
views = collections.OrderedDict([
    ('transposed', base[0, 0].t()),                               # stride (1, 5)
    ('slice_offset', base[1, 1:3, 1:, ::2]),                      # offset 81, strides (20, 5, 2)
    ('shared_a', base.view(-1)[10:30]),                           # same storage as the rest
    ('shared_b', base.view(6, 20)[2:4]),
    ('permuted', base.permute(3, 1, 0, 2)),
    ('channels_last', torch.randn(8, 3, 3, 3).contiguous(memory_format=torch.channels_last)),
    ('expanded', torch.randn(3, 1).expand(3, 4)),                 # stride 0
    ('half', (torch.randn(5, 6) * 100).half()),
    ('half_special', torch.tensor([0.0, -0.0, 6.1e-5, 5.96e-8, 65504.0, float('inf'), -float('inf')], dtype=torch.float16)),
    ('bfloat16', torch.randn(4, 4).bfloat16()),
    ('double', torch.randn(3, 7, dtype=torch.float64)[:, 1::3]),
    ('int64_scalar', torch.tensor(123456789, dtype=torch.int64)),
    ('int32', torch.arange(-5, 5, dtype=torch.int32)),
    ('uint8', torch.arange(0, 250, 25, dtype=torch.uint8)),
    ('bool', torch.tensor([True, False, True])),
    ('empty', torch.zeros(0, 3)),
    ('param', nn.Parameter(torch.randn(2, 2))),
])
torch.save(views, os.path.join(out, 'views.pth'))
torch.save(views, os.path.join(out, 'views_legacy.pth'), _use_new_zipfile_serialization=False)
ref('views', views)
# Protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE) and a re-zipped, deflated copy.
torch.save(views, os.path.join(out, 'views_p4.pth'), pickle_protocol=4)
with zipfile.ZipFile(os.path.join(out, 'views.pth')) as src, \
        zipfile.ZipFile(os.path.join(out, 'views_deflated.pth'), 'w', zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))

# 6. Legacy (pre-1.6, non-zip) serialisation of a whole state dict.
r18 = randomize_bn(torchvision.models.resnet18(weights=None)).state_dict()
torch.save(r18, os.path.join(out, 'resnet18_legacy.pth'), _use_new_zipfile_serialization=False)
ref('resnet18_legacy', r18)


# 7. safetensors (torch_refs.save_safetensors: written from the format spec).
st = collections.OrderedDict((k, v) for k, v in r18.items())
st['extra.half'] = torch.randn(3, 3).half()
st['extra.double'] = torch.randn(2, 5, dtype=torch.float64)
save_safetensors(os.path.join(out, 'resnet18.safetensors'), st, {'format': 'pt'})
ref('resnet18_safetensors', st)


# 8. A pickled whole module (what reid-strong-baseline's ignite ModelCheckpoint writes).
class Baseline(nn.Module):
    def __init__(self):
        super().__init__()
        self.base = torchvision.models.resnet18(weights=None)
        self.bottleneck = nn.BatchNorm1d(512)
        self.classifier = nn.Linear(512, 751, bias=False)


torch.save(Baseline(), os.path.join(out, 'resnet18_model_2.pth'))
torch.save(Baseline(), os.path.join(out, 'resnet18_model_legacy.pth'), _use_new_zipfile_serialization=False)

# 9. Malformed inputs.
data = open(os.path.join(out, 'resnet18_legacy.pth'), 'rb').read()
with open(os.path.join(out, 'truncated_legacy.pth'), 'wb') as f:
    f.write(data[: len(data) // 2])
torch.save(r18, os.path.join(out, 'resnet18.pth'))
data = open(os.path.join(out, 'resnet18.pth'), 'rb').read()
with open(os.path.join(out, 'truncated_zip.pth'), 'wb') as f:
    f.write(data[: len(data) // 2])
with zipfile.ZipFile(os.path.join(out, 'not_torch.zip'), 'w') as z:
    z.writestr('hello.txt', 'hello')
with open(os.path.join(out, 'text.pth'), 'w') as f:
    f.write('this is not a checkpoint\n')
open(os.path.join(out, 'empty.pth'), 'wb').close()
torch.save([1, 2, 3], os.path.join(out, 'list.pth'))
torch.save({'epoch': 3, 'lr': 0.1}, os.path.join(out, 'no_tensors.pth'))
print(json.dumps({'ok': True}))
