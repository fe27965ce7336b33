"""Parity fixtures for fast-reid's ResNeSt recipes (and MGN), made by RUNNING fast-reid's own code.

fast-reid is not vendored: extract its tree (JDAI-CV/fast-reid, `git archive HEAD fastreid configs`) and
put it, yacs (rbgirshick/yacs) and termcolor on PYTHONPATH, then
    PYTHONPATH=$FR:$YACS:$TERMCOLOR/src /usr/bin/python3 make_fastreid_fixtures.py $FR OUT_DIR
The committed fixtures (test/fixtures/fastreid-resnest) came from fast-reid c9bc3ceb2f7a6438b62fb515ea3df6d1e999e95d,
yacs 32d5e4ac300eca6cd3b839097dde39c4017a1070 and termcolor 9477ddf195a4308710a54ef041eb16ac85639376 on Debian's
PyTorch 1.13 (nothing of fast-reid's is stubbed: build_model and its registries run as published).
Per case, fast-reid's `build_model(cfg)` on the recipe's own config file (configs/Market1501/<recipe>.yml,
merged by fast-reid's get_cfg / merge_from_file) with MODEL.BACKBONE.PRETRAIN False, MODEL.DEVICE cpu,
NUM_CLASSES 11 and PIXEL_MEAN 0 / PIXEL_STD 1 (so the input needs no normalisation); its state dict is filled
with seeded_state(keys, seed) and loaded strictly; eval features of a seeded [2, 3, 64, 32] input. Writes
<id>.keys.json ([key, shape] in fast-reid's order: the parity test rebuilds the same checkpoint with
seeded_state.py), <id>.input.f32 (NHWC) and <id>.expected.f32 ([2, D] eval features).
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seeded_state import seeded_state  # noqa: E402

CASES = [
    {'id': 'fr_bagtricks_S50', 'config': 'configs/Market1501/bagtricks_S50.yml', 'seed': 41},
    {'id': 'fr_AGW_S50', 'config': 'configs/Market1501/AGW_S50.yml', 'seed': 42},
    {'id': 'fr_sbs_S50', 'config': 'configs/Market1501/sbs_S50.yml', 'seed': 43},
    # MGN (fastreid/modeling/meta_arch/mgn.py): the eval feature is the 8 heads' features concatenated. The
    # 3-part branch chunks the 4-row layer4 map of a 64×32 input unevenly (torch.chunk: 2, 2 rows → only 2
    # chunks), so MGN's fixture input is 96×32 (6 rows: 3 × 2, 2 × 3).
    {'id': 'fr_mgn_R50-ibn', 'config': 'configs/Market1501/mgn_R50-ibn.yml', 'seed': 44, 'input': (2, 3, 96, 32)},
]
INPUT = (2, 3, 64, 32)


def build(root, config):
    from fastreid.config import get_cfg
    from fastreid.modeling import build_model
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(root, config))
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.MODEL.DEVICE = 'cpu'
    cfg.MODEL.HEADS.NUM_CLASSES = 11
    cfg.MODEL.PIXEL_MEAN = [0.0, 0.0, 0.0]
    cfg.MODEL.PIXEL_STD = [1.0, 1.0, 1.0]
    return build_model(cfg)


def main():
    root, out = sys.argv[1], sys.argv[2]
    only = set(sys.argv[3:])
    torch.set_num_threads(1)
    os.makedirs(out, exist_ok=True)
    for c in CASES:
        if only and c['id'] not in only:
            continue
        model = build(root, c['config'])
        keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
        model.load_state_dict(seeded_state(keys, c['seed']), strict=True)
        model.eval()
        x = np.random.RandomState(c['seed'] + 1000).standard_normal(c.get('input', INPUT)).astype(np.float32)
        with torch.no_grad():
            feats = model(torch.from_numpy(x))
        json.dump(keys, open(os.path.join(out, f"{c['id']}.keys.json"), 'w'))
        x.transpose(0, 2, 3, 1).astype('<f4').tofile(os.path.join(out, f"{c['id']}.input.f32"))
        feats.numpy().astype('<f4').tofile(os.path.join(out, f"{c['id']}.expected.f32"))
        print(c['id'], 'features', tuple(feats.shape), 'max|f|', float(feats.abs().max()), 'keys', len(keys))


if __name__ == '__main__':
    main()
