"""Helpers shared by the checkpoint generators (make_checkpoints.py, make_layouts.py)."""
import json
import os
import struct

import torch


def write_ref(out, name, sd):
    """Reference dump of a flat {key: tensor} dict as torch reads it: NAME.ref.json ({key: {shape, dtype,
    offset}}) and NAME.ref.bin (every tensor as contiguous little-endian float32, converted by .float())."""
    meta = {}
    off = 0
    with open(os.path.join(out, name + '.ref.bin'), 'wb') as f:
        for k, t in sd.items():
            b = t.detach().float().contiguous().numpy().astype('<f4').tobytes()
            meta[k] = {'shape': list(t.shape), 'dtype': str(t.dtype).replace('torch.', ''), 'offset': off}
            f.write(b)
            off += len(b)
    with open(os.path.join(out, name + '.ref.json'), 'w') as f:
        json.dump(meta, f)


def save_safetensors(path, tensors, metadata=None):
    """safetensors written by hand from the format spec (the safetensors package is not in Debian):
    u64 little-endian header size, JSON header {name: {dtype, shape, data_offsets}}, then the bytes."""
    names = {torch.float32: 'F32', torch.float16: 'F16', torch.float64: 'F64', torch.int64: 'I64'}
    header = {'__metadata__': metadata} if metadata is not None else {}
    blobs = []
    off = 0
    for k, t in tensors.items():
        b = t.contiguous().numpy().tobytes()
        header[k] = {'dtype': names[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
