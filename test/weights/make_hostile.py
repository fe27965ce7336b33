"""Hostile and edge-case checkpoints written with real torch.save / zipfile (Debian's torch 1.13), plus what
torch itself reads from the valid ones.

Usage: /usr/bin/python3 make_hostile.py OUT_DIR
Writes OUT_DIR/*.pth and OUT_DIR/ref.json ({name: {shape, values}} for the files torch.load accepts).
"""
import collections
import io
import json
import os
import sys
import zipfile

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


class View:
    """Pickles as torch's own tensor rebuild call with arbitrary view metadata over a real storage, which is
    how a damaged or hostile file can describe any view: torch.save writes the storage as usual."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


def storage(n):
    return torch.arange(n, dtype=torch.float32).storage()


ref = {}
# A stride-0 view of one element expanded to 2^30 elements: torch.save keeps the view (4 bytes of data).
torch.save({'w': torch.zeros(1).expand(2 ** 30)}, os.path.join(out, 'expand_huge.pth'))
# A small expand and a valid strided view: these load, and must equal torch's values.
small = {'e': torch.arange(3.0).view(3, 1).expand(3, 4), 'v': torch.arange(20.0).as_strided((3, 2), (5, 2), 1)}
torch.save(small, os.path.join(out, 'views_ok.pth'))
ref['views_ok'] = {k: {'shape': list(v.shape), 'values': v.flatten().tolist()} for k, v in small.items()}
# Views that read outside their 4-element storage or carry impossible metadata.
bad_views = {
    'outside_offset': (2, (4,), (1,)),
    'outside_stride': (0, (3,), (2,)),
    'negative_stride': (3, (4,), (-1,)),
    'negative_offset': (-1, (2,), (1,)),
    'negative_size': (0, (-2,), (1,)),
    'huge_size': (0, (2 ** 40,), (0,)),
    'float_size': (0, (1.5,), (1,)),
    'dims_mismatch': (0, (2, 2), (1,)),
}
for name, (offset, size, stride) in bad_views.items():
    torch.save({'w': View(storage(4), offset, size, stride)}, os.path.join(out, f'{name}.pth'))


def rezip(src, dst, method):
    """The same archive with every entry re-compressed (what zip tools do to a .pth)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', method) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename), compress_type=method, compresslevel=9 if method == zipfile.ZIP_DEFLATED else None)


# Zeros deflate close to deflate's best ratio (~1030:1): a real file at the edge of the ratio check.
torch.save({'zeros': torch.zeros(2 ** 22)}, os.path.join(out, 'zeros.pth'))
rezip(os.path.join(out, 'zeros.pth'), os.path.join(out, 'zeros_deflated.pth'), zipfile.ZIP_DEFLATED)
# A small deflated checkpoint the JS test damages (declared sizes, offsets, counts).
torch.save({'a': torch.arange(6.0).view(2, 3)}, os.path.join(out, 'small.pth'))
rezip(os.path.join(out, 'small.pth'), os.path.join(out, 'small_deflated.pth'), zipfile.ZIP_DEFLATED)
ref['small'] = {'a': {'shape': [2, 3], 'values': list(range(6))}}

# The reliability cases: a 7-byte pickle with a negative LONG4 length, zipped as torch.save lays out
# archive/data.pkl, archive/byteorder and archive/version.
with zipfile.ZipFile(os.path.join(out, 'zip_pkl_long4_negative_len.pth'), 'w') as z:
    z.writestr('archive/data.pkl', b'\x80\x02\x8b\xfb\xff\xff\xff')
    z.writestr('archive/byteorder', b'little')
    z.writestr('archive/version', b'3\n')

with open(os.path.join(out, 'ref.json'), 'w') as f:
    json.dump(ref, f)
print(json.dumps({'ok': True}))
