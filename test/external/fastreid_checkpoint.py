"""A fast-reid checkpoint as fastreid/utils/checkpoint.py Checkpointer.save writes it, and the features fast-reid's
model gives for images, for the import test (CI has PyTorch but not fast-reid's code).

The module tree is test/export/check_fastreid.py's fast-reid Baseline (written from fast-reid's definitions);
the file is torch.save({'model': state_dict, 'optimizer', 'lr_sched', 'epoch', 'metric'}) as Checkpointer.save
does (checkpoint.py: data['model'] = model.state_dict(); data[key] = obj.state_dict() per checkpointable;
data.update(kwargs) with PeriodicCheckpointer's {'epoch', 'metric'}).
Images are read as fast-reid's test transform does: PIL RGB, T.Resize((H, W), interpolation=3) (bicubic),
ToTensor without scaling (fastreid/data/transforms/transforms.py ToTensor keeps 0-255).

usage: fastreid_checkpoint.py OUT.pth EPOCH NUM_CLASSES H W FEATS_OUT.json IMAGE...
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'export'))
from check_fastreid import Baseline  # noqa: E402

out, epoch, num_classes, h, w, feats_out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
images = sys.argv[7:]
torch.manual_seed(0)
torch.set_num_threads(1)
mean = [123.675, 116.28, 103.53]
std = [58.395, 57.120000000000005, 57.375]
model = Baseline(18, False, 1, num_classes, 'avg', 'bnneck', mean, std)
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2)
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0, 0.1)
opt = torch.optim.Adam(model.parameters(), lr=3.5e-4)
torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'lr_sched': {'last_epoch': epoch}, 'epoch': epoch - 1, 'metric': 7.5}, out)
model.eval()
if not images:
    sys.exit(0)
xs = []
for p in images:
    im = Image.open(p).convert('RGB').resize((w, h), Image.BICUBIC)
    xs.append(torch.from_numpy(np.asarray(im, dtype=np.float32).copy()).permute(2, 0, 1))
with torch.no_grad():
    f = model(torch.stack(xs))
with open(feats_out, 'w') as fh:
    json.dump({'features': f.tolist()}, fh)
