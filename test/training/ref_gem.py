"""PyTorch reference for fast-reid's GeneralizedMeanPoolingP (fastreid/layers/pooling.py): the output and the
gradients w.r.t. the input and the learnable exponent p of sum(out * g).

Reads {"x": NCHW nested list, "g": N x C, "p": float, "eps": float} on stdin.
"""
import json
import os
import sys

import torch

# fast-reid's GeneralizedMeanPoolingP, ported once in the parity suite's reference.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'parity'))
from fastreid_reference import GeneralizedMeanPoolingP  # noqa: E402

torch.set_default_dtype(torch.float64)


req = json.load(sys.stdin)
pool = GeneralizedMeanPoolingP(req["p"], eps=req["eps"])
x = torch.tensor(req["x"], requires_grad=True)
out = pool(x)[..., 0, 0]
(out * torch.tensor(req["g"])).sum().backward()
print(json.dumps({"out": out.tolist(), "grad_x": x.grad.tolist(), "grad_p": pool.p.grad.item()}))
