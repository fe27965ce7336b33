"""PyTorch side of bench/backends.ts (CPU) and bench/gpu.ts (CUDA): the same Baseline
(test/parity/reference.py), same shapes. Modes: `eval`; `train` (CE + 1e-3·mean(feat²), Adam: the old
benchmark step); `train-rsb` (the app's training step as bench/_train-worker.ts runs it: reid-strong-baseline's
CrossEntropyLabelSmooth (ε = 0.1) + batch-hard TripletLoss (margin 0.3, euclidean_dist), SGD momentum 0.9,
weight decay 5e-4, labels P identities × K images). Arguments: preset mode batch threads iters
[device [height width [k]]]. Prints one JSON line per measurement."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
# reference.py sits in test/parity, or beside this file in the packed GPU bundle (bench/gpu-pack.sh).
sys.path.insert(0, os.path.join(HERE, '..', 'test', 'parity'))
sys.path.insert(0, HERE)
from reference import Baseline  # noqa: E402


def measure(fn, iters, sync=lambda: None):
    """Median wall-clock and process CPU seconds (all threads) per iteration, after one warm-up."""
    fn()
    sync()
    ts, cs = [], []
    for _ in range(iters):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    ts.sort()
    cs.sort()
    return ts[len(ts) // 2], cs[len(cs) // 2]


def main():
    preset, mode, batch, threads, iters = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    device = sys.argv[6] if len(sys.argv) > 6 else 'cpu'
    h, w = (int(sys.argv[7]), int(sys.argv[8])) if len(sys.argv) > 8 else (256, 128)
    torch.set_num_threads(threads)
    # fp32 on CUDA too: no TF32 matmuls / convolutions (the webgpu engine computes in fp32).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = Baseline(preset, 751, 1, 'bnneck', 'after').to(device)
    x = torch.randn(batch, 3, h, w, device=device)
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    if mode == 'eval':
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    elif mode == 'train-rsb':
        model.train()
        k = int(sys.argv[9]) if len(sys.argv) > 9 else 4
        labels = torch.arange(batch, device=device) // k
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9, weight_decay=5e-4)

        def step():
            logits, feat = model(x)
            # RSB layers/triplet_loss.py: CrossEntropyLabelSmooth and TripletLoss(margin) with hard_example_mining.
            logp = F.log_softmax(logits, 1)
            target = torch.zeros_like(logp).scatter_(1, labels[:, None], 1) * 0.9 + 0.1 / logp.shape[1]
            ce = (-target * logp).mean(0).sum()
            dist = torch.cdist(feat, feat).clamp(min=1e-12)
            same = labels[:, None] == labels[None, :]
            ap = (dist * same).max(1).values
            an = (dist + 1e6 * same).min(1).values
            tri = F.margin_ranking_loss(an, ap, torch.ones_like(an), margin=0.3)
            opt.zero_grad()
            (ce + tri).backward()
            opt.step()
    else:
        model.train()
        labels = torch.arange(batch, device=device) % 751
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3.5e-4)

        def step():
            logits, feat = model(x)
            loss = F.cross_entropy(logits, labels) + 1e-3 * feat.pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    s, c = measure(step, iters, sync)
    print(json.dumps({'ok': True, 'backend': f'pytorch-cuda ({torch.cuda.get_device_name(0)})' if device == 'cuda' else f'pytorch-cpu ({threads} thread{"s" if threads > 1 else ""})', 'preset': preset, 'mode': mode,
                      'batch': batch, 'secondsPerIter': s, 'imagesPerSecond': batch / s, 'cpuSecondsPerIter': c, 'imagesPerCpuSecond': batch / c,
                      'torch': torch.__version__}))


if __name__ == '__main__':
    main()
