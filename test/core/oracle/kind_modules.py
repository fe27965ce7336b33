"""Runs every conformance case's exported PyTorch model (the model.py the app writes from the kinds'
PyTorch source, no app code involved on this side) in one process.

argv[1]: JSON list of {dir, shape: [H, W, C], batch}. Each dir holds model.py, model.pth (the app's
exported state_dict) and input.bin (float32 NHWC). For each case: load model.pth strictly into the
module, run it in eval mode, write out.bin (float32, channels-last like the app), save the module's own
state_dict to resaved.pth (torch.save) and report parameter counts.
stdout: JSON list of {params, trainable, shape}.
"""
import importlib.util
import json
import os
import sys

import numpy as np
import torch


def run(case):
    d = case['dir']
    spec = importlib.util.spec_from_file_location('model_%d' % abs(hash(d)), os.path.join(d, 'model.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    m = mod.load_weights(mod.ReidModel(), os.path.join(d, 'model.pth'))
    m.eval()
    h, w, c = case['shape']
    x = np.fromfile(os.path.join(d, 'input.bin'), dtype=np.float32).reshape(case['batch'], h, w, c)
    with torch.no_grad():
        y = m(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
    if y.dim() == 4:
        y = y.permute(0, 2, 3, 1)
    y.contiguous().numpy().astype(np.float32).tofile(os.path.join(d, 'out.bin'))
    torch.save(m.state_dict(), os.path.join(d, 'resaved.pth'))
    return {
        'params': sum(p.numel() for p in m.parameters()),
        'trainable': sum(p.numel() for p in m.parameters() if p.requires_grad),
        'shape': list(y.shape[1:]),
    }


def main():
    torch.manual_seed(0)
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    json.dump([run(c) for c in cases], sys.stdout)


if __name__ == '__main__':
    main()
