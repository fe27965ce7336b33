"""Small real checkpoints in every format the readers accept: seeds for the property-based fuzz test.

Usage: /usr/bin/python3 fuzz_seeds.py OUT_DIR
"""
import collections
import json
import os
import struct
import sys
import zipfile

import torch
import torch.nn as nn

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)

net = nn.Sequential(nn.Conv2d(2, 3, 1, bias=False), nn.BatchNorm2d(3), nn.Linear(3, 2))
sd = net.state_dict()
sd['view'] = torch.arange(12.0).view(3, 4).t()  # a strided view
sd['half'] = torch.randn(2, 2).half()
torch.save(sd, os.path.join(out, 'zip.pth'))
torch.save(sd, os.path.join(out, 'legacy.pth'), _use_new_zipfile_serialization=False)
torch.save(sd, os.path.join(out, 'p4.pth'), pickle_protocol=4)
torch.save(net, os.path.join(out, 'model.pth'))
torch.save(net, os.path.join(out, 'model_legacy.pth'), _use_new_zipfile_serialization=False)
with zipfile.ZipFile(os.path.join(out, 'zip.pth')) as zin, zipfile.ZipFile(os.path.join(out, 'deflated.pth'), 'w', zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        zout.writestr(info.filename, zin.read(info.filename))

# safetensors (huggingface/safetensors format: u64 header length, JSON header, little-endian data).
header, blobs, off = collections.OrderedDict(__metadata__={'format': 'pt'}), [], 0
for k, t in sd.items():
    t = t.contiguous()
    b = t.numpy().tobytes()
    header[k] = {'dtype': {torch.float32: 'F32', torch.float16: 'F16', torch.int64: 'I64'}[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
with open(os.path.join(out, 'st.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
print(json.dumps({'ok': True}))
