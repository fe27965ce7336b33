"""torch.optim reference for ModelOptimizer: applies the given gradient sequence with Adam or SGD."""
import json
import sys

import torch

case = json.load(sys.stdin)
params = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float32)) for p in case['params']]
if case['name'] == 'adam':
    opt = torch.optim.Adam(params, lr=case['lr'][0], weight_decay=case['wd'], betas=(0.9, 0.999), eps=1e-8)
else:
    opt = torch.optim.SGD(params, lr=case['lr'][0], momentum=case['momentum'], weight_decay=case['wd'])
for step, grads in enumerate(case['grads']):
    for g in opt.param_groups:
        g['lr'] = case['lr'][step]
    for i, (p, g) in enumerate(zip(params, grads)):
        # fast-reid's frozen layers (maybe_add_freeze_layer): p.grad is None, the optimizer skips p.
        p.grad = None if i == 0 and step < case.get('frozen_steps', 0) else torch.tensor(g, dtype=torch.float32)
    opt.step()
json.dump([p.detach().flatten().tolist() for p in params], sys.stdout)
