#!/usr/bin/env python3
"""Times the PyTorch reference (facetwin_torch.py: its Net, contrastive loss and Adam) on the
same shapes as facetwin-bench, and prints one JSON object.
    python scripts/bench-torch.py [--steps 20] [--warmup 3] [--batch 32] [--embed-batch 64] [--threads 2]
"""
import argparse, json, statistics, time
import torch

import facetwin_torch as ref

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=20); ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--batch", type=int, default=32); ap.add_argument("--embed-batch", type=int, default=64)
ap.add_argument("--latency-runs", type=int, default=50); ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
net = ref.Net()
opt = torch.optim.Adam(net.parameters(), lr=5e-4)
x1, x2 = torch.rand(a.batch, 1, 100, 100), torch.rand(a.batch, 1, 100, 100)
label = (torch.arange(a.batch) % 2).float()[:, None]
times = []
for s in range(a.warmup + a.steps):
    t0 = time.perf_counter()
    opt.zero_grad()
    o1, o2 = net.forward_once(x1), net.forward_once(x2)
    loss = ref.contrastive(o1, o2, label); loss.backward(); opt.step()
    if s >= a.warmup: times.append(time.perf_counter() - t0)
net.eval()
xb = torch.rand(a.embed_batch, 1, 100, 100)
emb, lat = [], []
with torch.no_grad():
    for r in range(a.warmup + max(3, a.steps // 2)):
        t0 = time.perf_counter(); net.forward_once(xb)
        if r >= a.warmup: emb.append(time.perf_counter() - t0)
    for r in range(a.warmup + a.latency_runs):
        t0 = time.perf_counter(); net.forward_once(xb[:1])
        if r >= a.warmup: lat.append(time.perf_counter() - t0)
step = statistics.median(times)
print(json.dumps({"ms_per_step": 1000 * step, "ms_per_step_min": 1000 * min(times), "pairs_per_s": a.batch / step,
                  "embed_per_s": a.embed_batch / statistics.median(emb), "latency_ms": 1000 * statistics.median(lat),
                  "torch": torch.__version__, "threads": a.threads}, sort_keys=True))
