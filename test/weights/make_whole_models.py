"""Whole-model pickles written by real torch.save(model) (Debian's torch 1.13 / torchvision 0.14), with the
state_dict PyTorch itself gives for each, and pickles that would run code if unpickled by Python.

Usage: /usr/bin/python3 make_whole_models.py OUT_DIR MARKER_PATH
For each NAME: OUT_DIR/NAME.pth and NAME.ref.json ({key: {shape, dtype, offset}} in state_dict order) +
NAME.ref.bin (each tensor as little-endian float32). The evil_*.pth files would create MARKER_PATH (or
run `touch`) if anything executed them; this script never loads them.
"""
import collections
import json
import os
import sys

import torch
from torch_refs import write_ref
import torch.nn as nn
import torchvision

out, marker = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


def ref(name, sd):
    """Reference dump of a flat {key: tensor} dict, as torch reads it (torch_refs.py)."""
    write_ref(out, name, sd)


class Baseline(nn.Module):
    """reid-strong-baseline modeling/baseline.py (BNNeck): base, gap, bottleneck (no bias shift), classifier."""

    def __init__(self, num_classes=751):
        super().__init__()
        self.base = torchvision.models.resnet18(weights=None)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.bottleneck = nn.BatchNorm1d(512)
        self.bottleneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(512, num_classes, bias=False)
        # A non-persistent buffer is not in state_dict; a plain attribute is not either.
        self.register_buffer('scratch', torch.ones(3), persistent=False)
        self.note = 'trained with ignite'


def randomize(model):
    # Non-trivial running statistics (a fresh BN has zeros / ones) so a swapped buffer cannot pass.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2)
                m.num_batches_tracked.fill_(7)
    return model


m = randomize(Baseline())
torch.save(m, os.path.join(out, 'baseline.pth'))
ref('baseline', m.state_dict())
torch.save(m, os.path.join(out, 'baseline_legacy.pth'), _use_new_zipfile_serialization=False)
torch.save({'model': m, 'epoch': 120}, os.path.join(out, 'baseline_in_dict.pth'))
dp = nn.DataParallel(m)
torch.save(dp, os.path.join(out, 'baseline_dp.pth'))
ref('baseline_dp', dp.state_dict())


class Tied(nn.Module):
    """One module under two names: state_dict lists its tensors under both."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 2)
        self.b = self.a
        self.c = nn.Sequential(nn.Conv2d(2, 2, 1), nn.Identity(), nn.BatchNorm2d(2))


t = randomize(Tied())
torch.save(t, os.path.join(out, 'tied.pth'))
ref('tied', t.state_dict())


class Evil:
    """Unpickling this with Python's pickle would run `touch MARKER`."""

    def __reduce__(self):
        return (os.system, (f'touch {marker}',))


class EvilState:
    """BUILD with a state dict: Python would call __setstate__ (here eval through builtins)."""

    def __reduce__(self):
        return (eval, (f"open({marker!r}, 'w').write('x')",))


sd = collections.OrderedDict(w=torch.arange(4.0))
torch.save({'state_dict': sd, 'hook': Evil(), 'other': EvilState()}, os.path.join(out, 'evil_beside_tensors.pth'))
torch.save(Evil(), os.path.join(out, 'evil_root.pth'))
m2 = Baseline()
m2.hook = Evil()
m2.base.layer1[0].payload = EvilState()
torch.save(m2, os.path.join(out, 'evil_in_model.pth'))
ref('evil_in_model', m2.state_dict())
print(json.dumps({'ok': True}))
