"""PyTorch reference for fast-reid's GeneralizedMeanPoolingP (fastreid/layers/pooling.py): the output and the
gradients w.r.t. the input and the learnable exponent p of sum(out * g).

Reads {"x": NCHW nested list, "g": N x C, "p": float, "eps": float} on stdin.
"""
import json
import sys

import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


class GeneralizedMeanPoolingP(nn.Module):
    def __init__(self, norm=3, output_size=1, eps=1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * norm)
        self.output_size = output_size
        self.eps = eps

    def forward(self, x):
        x = x.clamp(min=self.eps).pow(self.p)
        return torch.nn.functional.adaptive_avg_pool2d(x, self.output_size).pow(1. / self.p)


req = json.load(sys.stdin)
pool = GeneralizedMeanPoolingP(req["p"], eps=req["eps"])
x = torch.tensor(req["x"], requires_grad=True)
out = pool(x)[..., 0, 0]
(out * torch.tensor(req["g"])).sum().backward()
print(json.dumps({"out": out.tolist(), "grad_x": x.grad.tolist(), "grad_p": pool.p.grad.item()}))
