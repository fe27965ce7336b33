"""PyTorch CPU side of bench/backends.ts: the same Baseline (test/parity/reference.py), same shapes,
same loss (CE + 1e-3·mean(feat²)) and Adam; eval at `batch`, training step at `train_batch`.
Prints one JSON line per measurement."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'parity'))
from reference import Baseline  # noqa: E402


def measure(fn, iters):
    """Median wall-clock and process CPU seconds (all threads) per iteration, after one warm-up."""
    fn()
    ts, cs = [], []
    for _ in range(iters):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    ts.sort()
    cs.sort()
    return ts[len(ts) // 2], cs[len(cs) // 2]


def main():
    preset, mode, batch, threads, iters = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    h, w = 256, 128
    torch.set_num_threads(threads)
    model = Baseline(preset, 751, 1, 'bnneck', 'after')
    x = torch.randn(batch, 3, h, w)
    if mode == 'eval':
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    else:
        model.train()
        labels = torch.arange(batch) % 751
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3.5e-4)

        def step():
            logits, feat = model(x)
            loss = F.cross_entropy(logits, labels) + 1e-3 * feat.pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    s, c = measure(step, iters)
    print(json.dumps({'ok': True, 'backend': f'pytorch-cpu ({threads} thread{"s" if threads > 1 else ""})', 'preset': preset, 'mode': mode,
                      'batch': batch, 'secondsPerIter': s, 'imagesPerSecond': batch / s, 'cpuSecondsPerIter': c, 'imagesPerCpuSecond': batch / c,
                      'torch': torch.__version__}))


if __name__ == '__main__':
    main()
