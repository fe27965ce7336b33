"""fast-reid's LR per iteration, driven as its trainer drives it: fastreid/solver/build.py build_lr_scheduler
(torch.optim.lr_scheduler.CosineAnnealingLR with T_max = MAX_EPOCH - max(ceil(WARMUP_ITERS / iters_per_epoch),
DELAY_EPOCHS), eta_min = ETA_MIN_LR; WarmupLR from fastreid/solver/lr_scheduler.py) and
fastreid/engine/hooks.py LRScheduler (warmup stepped after every iteration while next_iter <= WARMUP_ITERS,
the cosine schedule after every epoch once next_iter > WARMUP_ITERS and next_epoch > DELAY_EPOCHS).

Reads [{base_lr, max_epoch, ipe, warmup_iters, warmup_factor, delay_epochs, eta_min}] on stdin; prints per case
the LR of every iteration.
"""
import json
import math
import sys

import torch
from torch.optim import lr_scheduler


class WarmupLR(lr_scheduler._LRScheduler):
    def __init__(self, optimizer, warmup_factor=0.1, warmup_iters=1000, warmup_method="linear", last_epoch=-1):
        self.warmup_factor = warmup_factor
        self.warmup_iters = warmup_iters
        self.warmup_method = warmup_method
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        f = 1.0
        if self.last_epoch < self.warmup_iters:
            alpha = self.last_epoch / self.warmup_iters
            f = self.warmup_factor * (1 - alpha) + alpha
        return [base_lr * f for base_lr in self.base_lrs]


out = []
for c in json.load(sys.stdin):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=c["base_lr"])
    ipe = c["ipe"]
    max_epoch = c["max_epoch"] - max(math.ceil(c["warmup_iters"] / ipe), c["delay_epochs"])
    sched = {"lr_sched": lr_scheduler.CosineAnnealingLR(opt, T_max=max_epoch, eta_min=c["eta_min"])}
    if c["warmup_iters"] > 0:
        sched["warmup_sched"] = WarmupLR(opt, c["warmup_factor"], c["warmup_iters"])
    lrs = []
    it = 0
    for epoch in range(c["max_epoch"]):
        for _ in range(ipe):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            next_iter = it + 1
            if next_iter <= c["warmup_iters"]:
                sched["warmup_sched"].step()
            it += 1
        next_iter = it
        next_epoch = epoch + 1
        if next_iter > c["warmup_iters"] and next_epoch > c["delay_epochs"]:
            sched["lr_sched"].step()
    out.append(lrs)
print(json.dumps(out))
