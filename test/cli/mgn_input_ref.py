"""The layer4 map height of fast-reid's MGN at each input size and whether its part branches can cut it.

fast-reid's ResNet trunk (fastreid/modeling/backbones/resnet.py) strides in conv1 (7x7, stride 2, padding 3),
the maxpool (3x3, stride 2, ceil_mode=True), layer2's and layer3's first Bottleneck conv2 (3x3, stride 2,
padding 1); MGN's part branches keep stride 1 in layer4 (fastreid/modeling/meta_arch/mgn.py res_p_conv5).
MGN's forward unpacks torch.chunk(b2_feat, 2, dim=2) into two and torch.chunk(b3_feat, 3, dim=2) into three
stripes, so an input works iff those give 2 and 3 chunks. Those strided layers on a 1-channel zero image
give the map height (channels do not change shapes). Prints JSON {"HxW": [rows, works]}.
    /usr/bin/python3 mgn_input_ref.py 64x32 96x32 ...
"""
import json
import sys

import torch
import torch.nn as nn

torch.set_num_threads(1)
strided = nn.Sequential(
    nn.Conv2d(1, 1, 7, stride=2, padding=3),
    nn.MaxPool2d(3, stride=2, ceil_mode=True),
    nn.Conv2d(1, 1, 3, stride=2, padding=1),
    nn.Conv2d(1, 1, 3, stride=2, padding=1),
)
out = {}
with torch.no_grad():
    for size in sys.argv[1:]:
        h, w = (int(x) for x in size.split('x'))
        rows = strided(torch.zeros(1, 1, h, w)).shape[2]
        col = torch.zeros(1, 1, rows, 1)
        out[size] = [rows, len(torch.chunk(col, 2, dim=2)) == 2 and len(torch.chunk(col, 3, dim=2)) == 3]
print(json.dumps(out))
