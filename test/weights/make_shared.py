"""Checkpoints whose tensors are views of one storage, written by real torch.save (Debian's torch 1.13), and
what torch.load reads from them.

Usage: /usr/bin/python3 make_shared.py OUT_DIR
Writes:
- shared.pth: 5,000 views of one 4 MB storage (issue #25: torch.load takes 4 MB);
- views.pth: a slice, a transpose, a stepped view, a row and the whole storage of one arange, a legacy twin
  views_legacy.pth (_use_new_zipfile_serialization=False); ref.json: {name: {key: {shape, values}}} as torch.load
  reads them (values flattened in row-major order);
- copies.pth: 600 transposed (non-contiguous) views of one 1 M-element storage: 600 M elements once copied,
  over the readers' 2 GiB float32 budget.
"""
import json
import os
import sys

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

s = torch.zeros(1 << 20)
torch.save({f't{i}': s for i in range(5000)}, os.path.join(out, 'shared.pth'))

a = torch.arange(4096, dtype=torch.float32)
views = {'whole': a, 'slice': a[10:30], 'T': a.view(64, 64).t(), 'step': a[5::3], 'row': a.view(64, 64)[7], 'block': a.view(64, 64)[2:5, 8:12]}
torch.save(views, os.path.join(out, 'views.pth'))
torch.save(views, os.path.join(out, 'views_legacy.pth'), _use_new_zipfile_serialization=False)
ref = {}
for name in ['views.pth', 'views_legacy.pth']:
    d = torch.load(os.path.join(out, name))
    ref[name] = {k: {'shape': list(v.shape), 'values': v.contiguous().view(-1).tolist()} for k, v in d.items()}
with open(os.path.join(out, 'ref.json'), 'w') as f:
    json.dump(ref, f)

m = torch.zeros(1 << 20).view(1024, 1024)
torch.save({f't{i}': m.t() for i in range(600)}, os.path.join(out, 'copies.pth'))
