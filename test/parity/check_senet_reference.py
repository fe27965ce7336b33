#!/usr/bin/env python3
"""Checks senet_reference.py's SENet (the reference of senet-parity.test.ts and senet-train-parity.test.ts,
through reference.py's Baseline) against reid-strong-baseline's OWN code (modeling/baseline.py Baseline,
modeling/backbones/senet.py SENet) under Debian's PyTorch 1.13. Not part of the suite (CI has no copy of
RSB); run by hand after changing senet_reference.py or reference.py's Baseline:

    git clone https://github.com/michuanhaohao/reid-strong-baseline /tmp/rsb   (or a bare mirror)
    /usr/bin/python3 test/parity/check_senet_reference.py /tmp/rsb             (a work tree, or a bare git dir)

For each case of senet-train-parity.test.ts (se_resnext50 whole; se_resnet50 and se_resnext50 at blocks
[2, 1, 1, 1] and planes [16, 32, 32, 64]: RSB's SENet with those layers, its stages rebuilt by its own
_make_layer with those planes), reference.py's seeded model's state_dict loads strictly into RSB's model, and
in float64 both give the same training-mode outputs (logits, global feature), loss CE + 0.1 * mean(feat^2) and
gradient of every parameter to 1e-10 relative. Prints one line per case; exits 1 on a mismatch.
"""
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference  # noqa: E402

src = sys.argv[1]
if os.path.isdir(os.path.join(src, 'modeling')):
    root = src
else:  # a bare git dir: export modeling/ at HEAD
    root = tempfile.mkdtemp()
    data = subprocess.run(['git', '--git-dir', src, 'archive', 'HEAD', 'modeling'], check=True, capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', root], input=data, check=True)
sys.path.insert(0, root)
torch.set_num_threads(1)
from modeling.baseline import Baseline as RsbBaseline  # noqa: E402
from modeling.backbones.senet import SENet as RsbSENet, SEResNetBottleneck, SEResNeXtBottleneck  # noqa: E402

SMALL = {'layers': [2, 1, 1, 1], 'planes': [16, 32, 32, 64]}
# (preset, RSB model_name, reduced variant, seed, input): senet-train-parity.test.ts's cases.
CASES = [('se_resnext50_32x4d', 'se_resnext50', None, 26, (64, 32)), ('se_resnet50', 'se_resnet50', SMALL, 27, (64, 32)),
         ('se_resnext50_32x4d', 'se_resnext50', SMALL, 28, (32, 16))]
bad = False
for preset, name, small, seed, (h, w) in CASES:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    ours = reference.Baseline(preset, 5, 1, 'bnneck', 'after', small)
    reference.randomise(ours, gen, torch.randn(8, 3, h, w, generator=gen))
    rsb = RsbBaseline(5, 1, '', 'bnneck', 'after', name, 'self')
    if small:  # the reduced variant: RSB's own SENet with these blocks and planes per stage, baseline.py's other arguments
        rsb.base = RsbSENet(block=SEResNeXtBottleneck if 'resnext' in name else SEResNetBottleneck, layers=small['layers'],
                            groups=32 if 'resnext' in name else 1, reduction=16, dropout_p=None, inplanes=64, input_3x3=False,
                            downsample_kernel_size=1, downsample_padding=0, last_stride=1)
        for i, planes in enumerate(small['planes']):  # RSB's SENet fixes the planes at 64·2^i: build its layers again with its _make_layer
            rsb.base.inplanes = 64 if i == 0 else 4 * small['planes'][i - 1]
            setattr(rsb.base, f'layer{i + 1}', rsb.base._make_layer(rsb.base.layer1[0].__class__, planes=planes, blocks=small['layers'][i],
                    groups=32 if 'resnext' in name else 1, reduction=16, downsample_kernel_size=1,
                    downsample_padding=0, stride=1 if i in (0, 3) else 2))
        d = 4 * small['planes'][-1]
        rsb.in_planes = d
        rsb.bottleneck = torch.nn.BatchNorm1d(d)
        rsb.bottleneck.bias.requires_grad_(False)
        rsb.classifier = torch.nn.Linear(d, 5, bias=False)
    rsb.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(4, 3, h, w, generator=gen).double()
    labels = torch.tensor([0, 1, 2, 1])
    outs = []
    for m in (ours.double().train(), rsb.double().train()):
        logits, feat = m(x)
        loss = F.cross_entropy(logits, labels) + 0.1 * feat.pow(2).mean()
        m.zero_grad()
        loss.backward()
        outs.append((logits, feat, loss, {k: p.grad for k, p in m.named_parameters() if p.grad is not None}))
    (l1, f1, s1, g1), (l2, f2, s2, g2) = outs
    rel = lambda a, b: float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))
    worst = max([rel(l1, l2), rel(f1, f2), rel(s1, s2)] + [rel(g1[k], g2[k]) for k in g2])
    same_keys = sorted(g1) == sorted(g2)
    ok = same_keys and worst <= 1e-10
    bad |= not ok
    print(f'{preset}{" " + str(small) if small else ""} at {h}x{w}: {len(g2)} parameters with gradients, keys {"equal" if same_keys else "DIFFER"}, loss {float(s1):.10f} vs RSB {float(s2):.10f}, worst relative difference {worst:.2e} -> {"ok" if ok else "MISMATCH"}')
sys.exit(1 if bad else 0)
