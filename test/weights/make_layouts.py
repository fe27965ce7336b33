"""Writes checkpoints in the layouts people bring, with real PyTorch (Debian's torch 1.13 / torchvision 0.14),
plus reference values PyTorch computes (NAME.ref.json / NAME.ref.bin as in make_checkpoints.py).

Usage: /usr/bin/python3 make_layouts.py OUT_DIR. Nothing is downloaded; weights are random with a fixed seed.

 - torchreid.pth.tar-60: deep-person-reid (torchreid) training checkpoint of a plain ResNet-18 re-ID model,
   exactly as the field case torchreid-checkpoint-layout/make.py writes it: torchvision backbone keys with
   no prefix + torchreid's classifier (Linear 512 → 751, with bias), wrapped as {'state_dict', 'epoch',
   'rank1', 'optimizer'} (torchreid/utils/torchtools.py save_checkpoint); imgs/: two 64×32 PNGs for embed.
 - wrap_*.pth: one reid-strong-baseline Baseline (resnet18, BNNeck) state dict under every common wrapper
   prefix (module. / _orig_mod. / model. / net., alone and combined, and a Lightning model.backbone.*)
   and checkpoint dict (state_dict / model / model_state_dict / net).
 - fastreid_*.pth: fast-reid checkpoints {'model': …} (fastreid/utils/checkpoint.py): EmbeddingHead with a
   learned GeM (heads.pool_layer.p), heads.bottleneck.0.*, heads.weight and the old persistent
   pixel_mean / pixel_std buffers; the older zoo naming heads.bnneck.* + heads.classifier.weight; and an
   EmbeddingHead with EMBEDDING_DIM (heads.bottleneck.0 a 1×1 conv, heads.bottleneck.1 the BN).
 - st_nan_weights.safetensors: the field case reliability/st_nan_weights.safetensors (conv1.weight [64, 3,
   7, 7] all NaN), and st_mixed_nonfinite.safetensors (NaN, +Inf and −Inf in some tensors of a resnet18).
"""
import collections
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision
from PIL import Image

from torch_refs import save_safetensors, write_ref

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def ref(name, sd):
    write_ref(out, name, sd)


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return model


# 1. torchreid (the field case's make.py, same seed and construction).
torch.manual_seed(0)
net = torchvision.models.resnet18()
sd = {k: v for k, v in net.state_dict().items() if not k.startswith('fc.')}
clf = torch.nn.Linear(512, 751)
sd['classifier.weight'] = clf.weight.detach().clone()
sd['classifier.bias'] = clf.bias.detach().clone()
ckpt = {'state_dict': sd, 'epoch': 60, 'rank1': 0.87,
        'optimizer': {'state': {}, 'param_groups': [{'lr': 0.0003, 'params': [0, 1, 2]}]}}
torch.save(ckpt, os.path.join(out, 'torchreid.pth.tar-60'))
ref('torchreid', collections.OrderedDict([('conv1.weight.hwio', sd['conv1.weight'].permute(2, 3, 1, 0)),
                                          ('layer4.1.bn2.running_var', sd['layer4.1.bn2.running_var'])]))
os.makedirs(os.path.join(out, 'imgs'), exist_ok=True)
rng = np.random.default_rng(0)
for i in range(2):
    Image.fromarray(rng.integers(0, 256, (64, 32, 3)).astype(np.uint8)).save(os.path.join(out, 'imgs', f'img{i}.png'))
backbone = [k for k in sd if not k.startswith('classifier.') and not k.endswith('num_batches_tracked')]
json.dump({'loaded': len(backbone), 'nbt': sum(k.endswith('num_batches_tracked') for k in sd)},
          open(os.path.join(out, 'torchreid.expected.json'), 'w'))


# 2. An RSB Baseline (resnet18, BNNeck, classifier without bias) under every wrapper.
class Baseline(nn.Module):
    def __init__(self):
        super().__init__()
        self.base = torchvision.models.resnet18()
        del self.base.fc
        self.bottleneck = nn.BatchNorm1d(512)
        self.classifier = nn.Linear(512, 751, bias=False)


torch.manual_seed(1)
rsb = randomize_bn(Baseline()).state_dict()
ref('rsb', rsb)
torch.save(rsb, os.path.join(out, 'wrap_plain.pth'))
pre = lambda p, d: collections.OrderedDict((p + k, v) for k, v in d.items())
lightning_extra = {'epoch': 3, 'global_step': 120, 'pytorch-lightning_version': '1.9.0', 'optimizer_states': [{}], 'lr_schedulers': []}
torch.save({'state_dict': pre('module.', rsb), 'epoch': 10}, os.path.join(out, 'wrap_dataparallel.pth'))
torch.save({'model': pre('_orig_mod.', rsb), 'iteration': 5}, os.path.join(out, 'wrap_compile.pth'))
torch.save(dict(state_dict=pre('model.', rsb), **lightning_extra), os.path.join(out, 'wrap_lightning.pth'))
torch.save({'model_state_dict': pre('net.module.', rsb), 'optimizer_state_dict': {'state': {}, 'param_groups': []}},
           os.path.join(out, 'wrap_tutorial.pth'))
torch.save({'net': pre('module._orig_mod.', rsb)}, os.path.join(out, 'wrap_net.pth'))
torch.save(pre('_orig_mod.module.model.', rsb), os.path.join(out, 'wrap_all.pth'))
# Lightning module holding a backbone + its own neck and classifier: model.backbone.* → base.*.
bb = collections.OrderedDict((('model.backbone.' + k[len('base.'):]) if k.startswith('base.') else ('model.' + k), v) for k, v in rsb.items())
torch.save(dict(state_dict=bb, **lightning_extra), os.path.join(out, 'wrap_backbone.pth'))


# 3. fast-reid heads (fastreid/modeling/heads/embedding_head.py, bnneck_head.py; layers/pooling.py).
class GeneralizedMeanPoolingP(nn.Module):
    def __init__(self, norm=3):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * norm)


class FastReid(nn.Module):
    def __init__(self, old_zoo=False, embedding_dim=0):
        super().__init__()
        self.backbone = torchvision.models.resnet18()
        del self.backbone.fc
        self.heads = nn.Module()
        self.heads.pool_layer = GeneralizedMeanPoolingP()
        self.heads.pool_layer.p.data.fill_(3.7)
        if old_zoo:
            self.heads.bnneck = nn.BatchNorm2d(512)
            self.heads.classifier = nn.Linear(512, 751, bias=False)
        else:
            neck = [nn.Conv2d(512, embedding_dim, 1, 1, bias=False)] if embedding_dim else []
            neck.append(nn.BatchNorm2d(embedding_dim or 512))
            self.heads.bottleneck = nn.Sequential(*neck)
            self.heads.weight = nn.Parameter(torch.randn(751, embedding_dim or 512) * 0.01)
        # fast-reid v1.0 Baseline: register_buffer("pixel_mean", tensor(cfg.MODEL.PIXEL_MEAN).view(1, -1, 1, 1))
        self.register_buffer('pixel_mean', torch.tensor([123.675, 116.28, 103.53]).view(1, -1, 1, 1))
        self.register_buffer('pixel_std', torch.tensor([58.395, 57.12, 57.375]).view(1, -1, 1, 1))


for name, kw in (('fastreid_embedding', {}), ('fastreid_oldzoo', {'old_zoo': True}), ('fastreid_embdim', {'embedding_dim': 256})):
    torch.manual_seed(2)
    m = randomize_bn(FastReid(**kw))
    torch.save({'model': m.state_dict(), 'optimizer': {}, 'scheduler': {}, 'iteration': 1000}, os.path.join(out, name + '.pth'))
    ref(name, m.state_dict())


# 4. Non-finite weights (torch_refs.save_safetensors).
save_safetensors(os.path.join(out, 'st_nan_weights.safetensors'), {'conv1.weight': torch.full((64, 3, 7, 7), float('nan'))})
torch.manual_seed(3)
r18 = {k: v.float() for k, v in torchvision.models.resnet18().state_dict().items() if not k.endswith('num_batches_tracked')}
r18['layer2.0.conv1.weight'][0, 0, 0, :3] = torch.tensor([float('nan'), float('inf'), -float('inf')])
r18['layer3.1.bn2.running_var'][5] = float('inf')
r18['fc.weight'][0, 0] = float('nan')  # skipped anyway (ImageNet classifier): not a reason to refuse
save_safetensors(os.path.join(out, 'st_mixed_nonfinite.safetensors'), r18)
print(json.dumps({'ok': True}))
