"""Seeded state dicts that both the fixture generator (make_fastreid_fixtures.py, which runs fast-reid's own
model) and the parity tests (which have no fast-reid) can rebuild from a key list and a seed alone.

Values from numpy's legacy RandomState (a stream numpy guarantees stable), in key order: conv kernels
N(0, 1/fan_in), 2-D class weights N(0, 0.01²), BN γ 0.5–1.5, shifts N(0, 0.1²) (0 for fast-reid's frozen
BNNeck shift, `bias_freeze`), running means N(0, 0.1²), running variances 0.5–1.5, GeM p 3, counters 0.

Usage: seeded_state.py KEYS.json SEED OUT.pth  (KEYS.json: [[key, shape], ...]; OUT.pth: {'model': state_dict},
fast-reid's Checkpointer layout).
"""
import json
import re
import sys
from collections import OrderedDict

import numpy as np
import torch


def seeded_state(keys, seed):
    rs = np.random.RandomState(seed)
    out = OrderedDict()
    for key, shape in keys:
        leaf = key.rsplit('.', 1)[-1]
        n = int(np.prod(shape)) if shape else 1
        if leaf == 'num_batches_tracked':
            out[key] = torch.tensor(0, dtype=torch.long)
            continue
        if leaf == 'running_mean':
            v = 0.1 * rs.standard_normal(n)
        elif leaf == 'running_var':
            v = 0.5 + rs.random_sample(n)
        elif leaf == 'p':
            v = np.full(n, 3.0)
        elif len(shape) == 4:
            v = rs.standard_normal(n) / np.sqrt(np.prod(shape[1:]))
        elif len(shape) == 2:
            v = 0.01 * rs.standard_normal(n)
        elif leaf == 'weight':
            v = 0.5 + rs.random_sample(n)
        elif re.search(r'(^|\.|_)heads?\.bottleneck\.\d+\.bias$', key) or re.search(r'_head\.bottleneck\.\d+\.bias$', key):
            v = np.zeros(n)
        else:
            v = 0.1 * rs.standard_normal(n)
        out[key] = torch.from_numpy(v.astype(np.float32)).reshape(shape)
    return out


def main():
    keys = json.load(open(sys.argv[1]))
    torch.save({'model': seeded_state(keys, int(sys.argv[2]))}, sys.argv[3])


if __name__ == '__main__':
    main()
