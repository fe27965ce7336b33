"""Loads state dicts written by writeCheckpoint into real PyTorch modules and reports what PyTorch sees.

Request (JSON on stdin): {"pth": path, "safetensors": path, "original": path to the torchvision file the
export came from, "out": directory for reference dumps}.
Reply: {"strict_ok", "keys", "base_max_diff", "safetensors_equal"}; writes out/exported.ref.{json,bin} with
every tensor of the loaded module's state_dict (num_batches_tracked excluded).
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

req = json.load(sys.stdin)


class Baseline(nn.Module):
    """reid-strong-baseline modeling/baseline.py, resnet50 + bnneck."""

    def __init__(self, num_classes):
        super().__init__()
        self.base = torchvision.models.resnet50(weights=None)
        del self.base.fc  # RSB's ResNet has no fc
        self.bottleneck = nn.BatchNorm1d(2048)
        self.bottleneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(2048, num_classes, bias=False)


sd = torch.load(req['pth'])
model = Baseline(sd['classifier.weight'].shape[0])
model.load_state_dict(sd, strict=True)  # raises on any missing / unexpected key or shape
loaded = model.state_dict()

original = torch.load(req['original'])
diff = 0.0
for k, v in original.items():
    if k.startswith('fc.') or k.endswith('num_batches_tracked'):
        continue
    diff = max(diff, (loaded['base.' + k] - v).abs().max().item())

meta = {}
off = 0
with open(os.path.join(req['out'], 'exported.ref.bin'), 'wb') as f:
    for k, t in loaded.items():
        if k.endswith('num_batches_tracked'):
            continue
        b = t.float().contiguous().numpy().astype('<f4').tobytes()
        meta[k] = {'shape': list(t.shape), 'dtype': 'float32', 'offset': off}
        f.write(b)
        off += len(b)
with open(os.path.join(req['out'], 'exported.ref.json'), 'w') as f:
    json.dump(meta, f)

# safetensors parsed by hand from the format spec (the safetensors package is not in Debian).
with open(req['safetensors'], 'rb') as f:
    raw = f.read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
st_equal = set(k for k in header if k != '__metadata__') == set(sd.keys())
for k, info in header.items():
    if k == '__metadata__':
        continue
    b, e = info['data_offsets']
    a = np.frombuffer(raw[8 + n + b:8 + n + e], dtype='<f4').reshape(info['shape'])
    st_equal = st_equal and info['dtype'] == 'F32' and torch.equal(torch.from_numpy(a.copy()), sd[k])

print(json.dumps({'strict_ok': True, 'keys': len(sd), 'base_max_diff': diff, 'safetensors_equal': bool(st_equal),
                  'aligned': (8 + n) % 8 == 0}))
